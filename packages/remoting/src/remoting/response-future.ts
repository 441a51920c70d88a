import type { RemotingCommand } from '../protocol/remoting-command.js';
import type { Channel, WriteListener } from '../transport/channel.js';
import { CountDownLatch } from './count-down-latch.js';
import { DeadlineEntry } from './deadline-wheel.js';
import type { InvokeMode } from './diagnostics.js';
import type { InvocationFacts } from './errors.js';
import type { Permits } from './permits.js';

/** Called exactly once with the response, or with the error that ended the call. */
export type InvokeCallback = (error: Error | null, response: RemotingCommand | null) => void;

/**
 * Where a call is in its life (KafkaJS's socketRequest states):
 * - `pending`: not written (waiting for writability, or its bytes were
 *   dropped before leaving this process); the peer cannot have it.
 * - `written`: handed to the channel; some of its bytes may reach the peer.
 * - `completed`: ended with a response (or, for a oneway call, once written).
 * - `failed`: ended with an error.
 * `pending → written` (and back, when the channel reports the bytes never
 * left), then `completed` or `failed` once; an ended call ignores every
 * later transition. `written` after the end keeps what it was at the end.
 */
export type ResponseFutureState = 'pending' | 'written' | 'completed' | 'failed';

const COMPLETED = 1;
const FAILED = 2;

/**
 * One call awaiting its response, keyed by opaque in the response table
 * (RocketMQ's ResponseFuture). It ends exactly once: with a response, or with
 * an error (send failure, timeout, abort, channel close, shutdown). Ending
 * releases its permit, if it holds one. Its owner (the OutboundInvoker) runs
 * the callback: the future itself never calls user code.
 */
export class ResponseFuture extends DeadlineEntry implements WriteListener {
  /** The request, for the RPC hooks and a queued write. */
  readonly request: RemotingCommand;
  /** The request's opaque when the call began: its key in the response table, fixed for the call. */
  readonly opaque: number;
  readonly channel: Channel;
  /** invokeSync, invokeAsync or invokeOneway. */
  readonly mode: InvokeMode;
  /** The caller's timeout, in milliseconds. */
  readonly timeoutMs: number;
  /** When the caller's call began (performance.now()); the timeout counts from here. */
  readonly beginTimestamp: number;
  /** An async call's callback, null otherwise; the invoker runs it once the call ended. */
  readonly callback: InvokeCallback | null;
  response: RemotingCommand | null = null;
  cause: Error | null = null;
  /** The one record of whether any byte may have reached the peer. */
  private mayHaveReachedPeer = false;
  /** 0 while the call is live, then COMPLETED or FAILED. */
  private outcome = 0;
  /** Made only when someone waits (invokeSync, a queued oneway call); async calls end through their callback. */
  private latch: CountDownLatch | null = null;
  /** The pool this call holds one permit of, until it ends; null when it holds none. */
  private permits: Permits | null;
  private endListeners: Array<() => void> | null = null;
  /**
   * @internal Set when the request is handed to its channel, which calls
   * `writeDone` on this future: told if the write failed (one shared
   * function of the invoker, so a write costs no closure per call).
   */
  writeFailed: ((future: ResponseFuture, error: Error) => void) | null = null;

  /** A sync call's future: its caller waits with `waitResponse`. */
  static sync(
    channel: Channel,
    request: RemotingCommand,
    timeoutMs: number,
    beginTimestamp: number,
  ): ResponseFuture {
    return new ResponseFuture(channel, request, timeoutMs, 'sync', beginTimestamp, null, null);
  }

  /** An async call's future: it holds one of `permits` until it ends, and the invoker runs `callback` then. */
  static async(
    channel: Channel,
    request: RemotingCommand,
    timeoutMs: number,
    beginTimestamp: number,
    callback: InvokeCallback,
    permits: Permits,
  ): ResponseFuture {
    return new ResponseFuture(channel, request, timeoutMs, 'async', beginTimestamp, callback, permits);
  }

  /** A oneway call that has to wait (for writability): it completes once written. */
  static oneway(
    channel: Channel,
    request: RemotingCommand,
    timeoutMs: number,
    beginTimestamp: number,
  ): ResponseFuture {
    return new ResponseFuture(channel, request, timeoutMs, 'oneway', beginTimestamp, null, null);
  }

  /**
   * Use the named factories (sync, async, oneway). They are factories, not
   * one constructor taking an options object, because the object literal
   * was measured to survive V8's optimisation on the hot path: 112 more heap
   * bytes per async call (client and server, 200,000 calls at 256 in flight).
   */
  private constructor(
    channel: Channel,
    request: RemotingCommand,
    timeoutMs: number,
    mode: InvokeMode,
    beginTimestamp: number,
    callback: InvokeCallback | null,
    permits: Permits | null,
  ) {
    super();
    this.beginTimestamp = beginTimestamp;
    this.channel = channel;
    this.request = request;
    this.opaque = request.opaque;
    this.timeoutMs = timeoutMs;
    this.mode = mode;
    this.callback = callback;
    this.permits = permits;
  }

  /** The request's code (for stats, diagnostics and errors). */
  get requestCode(): number {
    return this.request.code;
  }

  /** performance.now() at which the call times out (computed: one field fewer per call). */
  get deadline(): number {
    return this.beginTimestamp + this.timeoutMs;
  }

  get state(): ResponseFutureState {
    if (this.outcome === COMPLETED) return 'completed';
    if (this.outcome === FAILED) return 'failed';
    return this.mayHaveReachedPeer ? 'written' : 'pending';
  }

  get isDone(): boolean {
    return this.outcome !== 0;
  }

  /**
   * Whether any byte of the request may have reached the peer. False
   * guarantees the peer never receives this request.
   */
  get written(): boolean {
    return this.mayHaveReachedPeer;
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
      written: this.mayHaveReachedPeer,
    };
  }

  /**
   * pending → written: the request is being handed to the channel.
   * @throws Error when the call has ended or was written already: a caller bug, never a peer's doing.
   */
  markWritten(): void {
    if (this.outcome !== 0 || this.mayHaveReachedPeer) {
      throw new Error(`ResponseFuture opaque ${this.opaque}: markWritten in state ${this.state}`);
    }
    this.mayHaveReachedPeer = true;
  }

  /**
   * written → pending: the channel reported that the request never left
   * this process (its buffered bytes were dropped), so the peer cannot have it.
   */
  markUnsent(): void {
    if (this.outcome === 0) this.mayHaveReachedPeer = false;
  }

  /** Ends the call with `response` (null for a oneway call that was written); false if it had ended. */
  complete(response: RemotingCommand | null): boolean {
    if (this.outcome !== 0) return false;
    this.outcome = COMPLETED;
    this.response = response;
    this.finish();
    return true;
  }

  /** Ends the call with `error`; false if it had ended. */
  fail(error: Error): boolean {
    if (this.outcome !== 0) return false;
    this.outcome = FAILED;
    this.cause = error;
    this.finish();
    return true;
  }

  /**
   * @internal The channel's verdict on the request's write, from
   * WriteBatch.flush once the socket took the bytes or failed to: a failure
   * goes to the invoker's `writeFailed`, which fails the call.
   */
  writeDone(error: Error | null): void {
    // Node passes null on success; undefined is treated alike in case a transport differs.
    if (error && this.writeFailed !== null) this.writeFailed(this, error);
  }

  /** Runs `listener` once when the call ends (slow-path cleanup: abort listeners, writability queues). */
  onEnd(listener: () => void): void {
    if (this.endListeners === null) this.endListeners = [];
    this.endListeners.push(listener);
  }

  /**
   * Waits for the end of the call: an untimed CountDownLatch(1), counted down
   * when the call ends. RocketMQ's waitResponse(timeoutMillis) times its own
   * wait; here the call's deadline on the deadline wheel bounds it (see
   * OutboundInvoker).
   */
  waitResponse(): Promise<boolean> {
    if (this.outcome !== 0) return Promise.resolve(true);
    if (this.latch === null) this.latch = new CountDownLatch(1);
    return this.latch.await();
  }

  /** Returns the call's permit to its pool; only the first call does anything. */
  releasePermit(): void {
    const permits = this.permits;
    this.permits = null;
    permits?.release();
  }

  private finish(): void {
    this.releasePermit();
    const listeners = this.endListeners;
    if (listeners !== null) {
      this.endListeners = null;
      for (const listener of listeners) listener();
    }
    this.latch?.countDown();
  }
}
