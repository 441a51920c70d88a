import type { RemotingCommand } from '../protocol/remoting-command.js';
import type { WriteCallback } from '../transport/channel.js';
import { notifyWrite, type WriteListener } from '../transport/write-batch.js';
import { CodeStats } from './code-stats.js';
import { diagnosticsChannels, type EndpointSide, type InvokeMode } from './diagnostics.js';
import type { InvocationFacts } from './errors.js';
import type { ResponseFuture } from './response-future.js';

/**
 * What the calls an endpoint makes tell the outside: per-code counters and
 * latencies (`stats().callsByCode`), and the `remoting-ts:call:*`
 * diagnostics channels. A message is built only while a channel has a
 * subscriber, so an unobserved call pays one boolean check per event.
 */
export class CallTelemetry {
  /** Calls made, per request code. */
  readonly calls = new CodeStats();

  constructor(private readonly side: EndpointSide) {}

  /** A call begins (before hooks, permits and connection waits). */
  started(mode: InvokeMode, remoteAddress: string, request: RemotingCommand, timeoutMs: number): void {
    if (!diagnosticsChannels.callStart.hasSubscribers) return;
    diagnosticsChannels.callStart.publish({ side: this.side, mode, remoteAddress, request, timeoutMs });
  }

  /** A call with a future ended: with `error`, or with `response` (null for a oneway call written). */
  ended(future: ResponseFuture, error: Error | null, response: RemotingCommand | null): void {
    this.calls.record(future.requestCode, error !== null, future.beginTimestamp);
    const channel = error === null ? diagnosticsChannels.callEnd : diagnosticsChannels.callError;
    if (!channel.hasSubscribers) return;
    const base = {
      side: this.side,
      mode: future.mode,
      remoteAddress: future.channel.remoteAddress,
      requestCode: future.requestCode,
      opaque: future.opaque,
      durationMs: performance.now() - future.beginTimestamp,
    };
    channel.publish(error === null ? { ...base, response } : { ...base, error });
  }

  /** Whether a write should be watched for `call:written`: while nobody subscribes, it costs this check alone. */
  get watchesWrites(): boolean {
    return diagnosticsChannels.callWritten.hasSubscribers;
  }

  /**
   * A write callback that publishes `call:written` once the socket took the
   * request's bytes, then tells `listener` how the write ended. Made only
   * while `watchesWrites`.
   */
  watchWrite(
    mode: InvokeMode,
    remoteAddress: string,
    request: RemotingCommand,
    startedAt: number,
    listener: WriteCallback | WriteListener,
  ): WriteCallback {
    return (error) => {
      if (!error && diagnosticsChannels.callWritten.hasSubscribers) {
        diagnosticsChannels.callWritten.publish({
          side: this.side,
          mode,
          remoteAddress,
          requestCode: request.code,
          opaque: request.opaque,
          durationMs: performance.now() - startedAt,
        });
      }
      notifyWrite(listener, error);
    };
  }

  /** A oneway call sent at once ends without a future. */
  onewayWritten(remoteAddress: string, request: RemotingCommand, startedAt: number): void {
    this.calls.record(request.code, false, startedAt);
    if (!diagnosticsChannels.callEnd.hasSubscribers) return;
    diagnosticsChannels.callEnd.publish({
      side: this.side,
      mode: 'oneway',
      remoteAddress,
      requestCode: request.code,
      opaque: request.opaque,
      durationMs: performance.now() - startedAt,
      response: null,
    });
  }

  /** A call that failed before it had a future (a hook threw, no permit, aborted while waiting). */
  failedEarly(mode: InvokeMode, facts: InvocationFacts, error: Error): void {
    this.calls.record(facts.requestCode, true, performance.now() - facts.elapsedMs);
    if (!diagnosticsChannels.callError.hasSubscribers) return;
    diagnosticsChannels.callError.publish({
      side: this.side,
      mode,
      remoteAddress: facts.remoteAddress,
      requestCode: facts.requestCode,
      opaque: facts.opaque,
      durationMs: facts.elapsedMs,
      error,
    });
  }
}
