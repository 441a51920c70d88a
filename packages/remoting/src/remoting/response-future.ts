import type { RemotingCommand } from '../protocol/remoting-command.js';
import type { Channel, WriteListener } from '../transport/channel.js';
import { CountDownLatch } from './count-down-latch.js';
import type { WheelEntry } from './deadline-wheel.js';
import type { InvokeMode } from './diagnostics.js';
import type { InvocationFacts } from './errors.js';
import type { Permits } from './permits.js';

/** Called exactly once with the response, or with the error that ended the call. */
export type InvokeCallback = (error: Error | null, response: RemotingCommand | null) => void;

/**
 * Where a call is in its life (KafkaJS's socketRequest states):
 * - `pending`: not written yet (waiting for writability); the peer cannot have it.
 * - `written`: handed to the channel; some of its bytes may reach the peer.
 * - `completed`: ended with a response (or, for a oneway call, once written).
 * - `failed`: ended with an error.
 * Only `pending → written`, `pending|written → completed|failed` happen; an
 * ended call ignores every later transition.
 */
export type ResponseFutureState = 'pending' | 'written' | 'completed' | 'failed';

/**
 * One call awaiting its response, keyed by opaque in the response table
 * (RocketMQ's ResponseFuture). It ends exactly once: with a response, or with
 * an error (send failure, timeout, abort, channel close, shutdown). Ending
 * releases its permit, if it holds one.
 */
export class ResponseFuture implements WheelEntry, WriteListener {
  readonly opaque: number;
  readonly requestCode: number;
  readonly channel: Channel;
  /** invokeSync, invokeAsync or invokeOneway. */
  readonly mode: InvokeMode;
  /** The caller's timeout, in milliseconds. */
  readonly timeoutMs: number;
  /** When the caller's call began (performance.now()); the timeout counts from here. */
  readonly beginTimestamp: number;
  /** @internal The deadline wheel's links; -1/null when not in it. */
  wheelSlot = -1;
  /** @internal */
  wheelPrev: WheelEntry | null = null;
  /** @internal */
  wheelNext: WheelEntry | null = null;
  response: RemotingCommand | null = null;
  cause: Error | null = null;
  private current: ResponseFutureState = 'pending';
  private everWritten = false;
  /** Made only when someone waits (invokeSync); async calls end through their callback. */
  private latch: CountDownLatch | null = null;
  /** The pool this call holds one permit of, until it ends; null when it holds none. */
  private permits: Permits | null;
  private readonly callback: InvokeCallback | null;
  private endListeners: Array<() => void> | null = null;
  /**
   * @internal Set when the request is handed to its channel, which calls
   * `writeDone` on this future: told if the write failed (one shared
   * function of the invoker, so a write costs no closure per call).
   */
  writeFailed: ((future: ResponseFuture, error: Error) => void) | null = null;

  constructor(
    channel: Channel,
    request: RemotingCommand,
    timeoutMs: number,
    mode: InvokeMode,
    callback: InvokeCallback | null,
    permits: Permits | null,
    beginTimestamp: number = performance.now(),
  ) {
    this.beginTimestamp = beginTimestamp;
    this.channel = channel;
    this.opaque = request.opaque;
    this.requestCode = request.code;
    this.timeoutMs = timeoutMs;
    this.mode = mode;
    this.callback = callback;
    this.permits = permits;
  }

  /** performance.now() at which the call times out (computed: one field fewer per call). */
  get deadline(): number {
    return this.beginTimestamp + this.timeoutMs;
  }

  get state(): ResponseFutureState {
    return this.current;
  }

  get isDone(): boolean {
    return this.current === 'completed' || this.current === 'failed';
  }

  /**
   * Whether any byte of the request may have reached the peer. False
   * guarantees the peer never receives this request.
   */
  get written(): boolean {
    return this.everWritten;
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
      written: this.everWritten,
    };
  }

  /** pending → written: the request is being handed to the channel. */
  markWritten(): boolean {
    if (this.current !== 'pending') return false;
    this.current = 'written';
    this.everWritten = true;
    return true;
  }

  /**
   * The channel reported that the request never left this process (its
   * buffered bytes were dropped): the peer cannot have it after all.
   */
  markUnsent(): void {
    this.everWritten = false;
  }

  /** Ends the call with `response` (null for a oneway call that was written); false if it had ended. */
  complete(response: RemotingCommand | null): boolean {
    if (this.isDone) return false;
    this.current = 'completed';
    this.response = response;
    this.finish(null);
    return true;
  }

  /** Ends the call with `error`; false if it had ended. */
  fail(error: Error): boolean {
    if (this.isDone) return false;
    this.current = 'failed';
    this.cause = error;
    this.finish(error);
    return true;
  }

  /** @internal The channel's verdict on the request's write (see `writeFailed`). */
  writeDone(error: Error | null): void {
    // Node passes null on success; undefined is treated alike in case a transport differs.
    if (error && this.writeFailed !== null) this.writeFailed(this, error);
  }

  /** Runs `listener` once when the call ends (slow-path cleanup: abort listeners, writability queues). */
  onEnd(listener: () => void): void {
    if (this.endListeners === null) this.endListeners = [];
    this.endListeners.push(listener);
  }

  /** Waits for the end of the call; the call's deadline (not this wait) bounds it. */
  waitResponse(): Promise<boolean> {
    if (this.isDone) return Promise.resolve(true);
    if (this.latch === null) this.latch = new CountDownLatch(1);
    return this.latch.await();
  }

  /** Returns the call's permit to its pool; only the first call does anything. */
  releasePermit(): void {
    const permits = this.permits;
    this.permits = null;
    permits?.release();
  }

  private finish(error: Error | null): void {
    this.releasePermit();
    const listeners = this.endListeners;
    if (listeners !== null) {
      this.endListeners = null;
      for (const listener of listeners) listener();
    }
    this.latch?.countDown();
    this.callback?.(error, this.response);
  }
}
