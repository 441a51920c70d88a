import type { RemotingCommand } from '../protocol/remoting-command.js';
import type { Channel } from '../transport/channel.js';
import { CountDownLatch } from './count-down-latch.js';
import type { InvocationFacts } from './errors.js';
import type { PermitRelease } from './permits.js';

/** Called exactly once with the response, or with the error that ended the call. */
export type InvokeCallback = (error: Error | null, response: RemotingCommand | null) => void;

/**
 * One request awaiting its response, keyed by opaque in the response table.
 * It ends exactly once: with a response, or with an error (send failure,
 * timeout, channel close, shutdown). Ending releases its permit, if it holds one.
 */
export class ResponseFuture {
  readonly opaque: number;
  readonly requestCode: number;
  readonly channel: Channel;
  readonly timeoutMs: number;
  /** When the caller's call began (performance.now()); the timeout counts from here. */
  readonly beginTimestamp: number;
  /** Whether the request's bytes reached the socket. */
  sendRequestOK = false;
  response: RemotingCommand | null = null;
  cause: Error | null = null;
  /** Made only when someone waits (invokeSync); async calls end through their callback. */
  private latch: CountDownLatch | null = null;
  private done = false;
  private permitRelease: PermitRelease | null;
  private readonly callback: InvokeCallback | null;

  constructor(
    channel: Channel,
    request: RemotingCommand,
    timeoutMs: number,
    callback: InvokeCallback | null,
    permitRelease: PermitRelease | null,
    beginTimestamp: number = performance.now(),
  ) {
    this.beginTimestamp = beginTimestamp;
    this.channel = channel;
    this.opaque = request.opaque;
    this.requestCode = request.code;
    this.timeoutMs = timeoutMs;
    this.callback = callback;
    this.permitRelease = permitRelease;
  }

  get isDone(): boolean {
    return this.done;
  }

  /** Whether the deadline plus `graceMs` has passed. */
  isExpired(now: number, graceMs = 0): boolean {
    return now - this.beginTimestamp > this.timeoutMs + graceMs;
  }

  elapsedMs(now = performance.now()): number {
    return Math.round(now - this.beginTimestamp);
  }

  facts(): InvocationFacts {
    return {
      remoteAddress: this.channel.remoteAddress,
      requestCode: this.requestCode,
      opaque: this.opaque,
      elapsedMs: this.elapsedMs(),
      timeoutMs: this.timeoutMs,
      written: this.sendRequestOK,
    };
  }

  complete(response: RemotingCommand): boolean {
    if (this.done) return false;
    this.response = response;
    this.finish(null);
    return true;
  }

  fail(error: Error): boolean {
    if (this.done) return false;
    this.cause = error;
    this.finish(error);
    return true;
  }

  /** Waits for the end of the call; false when `timeoutMs` passes first. */
  waitResponse(timeoutMs: number): Promise<boolean> {
    if (this.done) return Promise.resolve(true);
    if (this.latch === null) this.latch = new CountDownLatch(1);
    return this.latch.await(timeoutMs);
  }

  releasePermit(): void {
    const release = this.permitRelease;
    this.permitRelease = null;
    release?.();
  }

  private finish(error: Error | null): void {
    this.done = true;
    this.releasePermit();
    this.latch?.countDown();
    this.callback?.(error, this.response);
  }
}
