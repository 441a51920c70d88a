import { commandDefaults, type RemotingCommand } from '../protocol/remoting-command.js';
import type { Channel, WriteCallback, WriteListener } from '../transport/channel.js';
import { CallDeadlines, type ResponseTableScanOptions } from './call-deadlines.js';
import { CallTelemetry } from './call-telemetry.js';
import type { EndpointSide, InvokeMode } from './diagnostics.js';
import {
  type InvocationFacts,
  RemotingAbortError,
  RemotingOpaqueInUseError,
  RemotingSendRequestError,
  RemotingTimeoutError,
  RemotingTooMuchRequestError,
} from './errors.js';
import { neverLeft, type OnewayCallback, OnewayWrite } from './oneway-write.js';
import { type PermitRelease, Permits } from './permits.js';
import { type InvokeCallback, ResponseFuture } from './response-future.js';
import { ResponseTable } from './response-table.js';
import type { RpcHooks } from './rpc-hooks.js';
import { runInvokeCallback } from './user-code.js';
import { ChannelWriteQueues, QueuedCall, type QueuedCallOwner } from './write-queues.js';

export type { ResponseTableScanOptions } from './call-deadlines.js';

/** Options every invoke method takes as its last argument. */
export interface InvokeOptions {
  /**
   * Cancels the call. Aborted before the request is written: it is never
   * sent. Aborted after: the call stops waiting, its permit returns and a late
   * response is dropped (counted in `unmatchedResponses`). Either way the
   * call rejects with RemotingAbortError whose cause is `signal.reason`.
   * `AbortSignal.timeout(ms)` works.
   */
  signal?: AbortSignal;
}

export interface OutboundOptions {
  side: EndpointSide;
  /** Async calls in flight at once. */
  permitsAsync: number;
  /** Oneway calls not yet written at once. */
  permitsOneway: number;
  responseTableScan?: ResponseTableScanOptions;
  hooks: RpcHooks;
  /** LanguageCode stamped on requests that kept the process default; undefined leaves them as they are. */
  language?: number | undefined;
  /** Version stamped on requests that kept the process default; undefined leaves them as they are. */
  version?: number | undefined;
}

/**
 * Makes calls over channels, in RocketMQ's three modes (invokeSyncImpl,
 * invokeAsyncImpl, invokeOnewayImpl): permits for async and oneway calls, the
 * response table, then the write now or a place in the channel's writability
 * queue. Every call ends in exactly one of two places: `completeCall` (a
 * response, or a oneway call written) or `failCall`. User code it runs (RPC
 * hooks, the async callback) runs guarded: nothing a user throws unwinds into
 * the socket's read loop or leaves a call pending.
 *
 * **How a sync call waits** (the lesson of docs/async-to-sync.md). RocketMQ's
 * invokeSyncImpl puts a ResponseFuture in the response table, writes, and
 * parks the calling thread in `countDownLatch.await(timeoutMillis)`: the
 * waiting thread itself notices when the time is up. An event loop cannot
 * park, so here the two halves of that timed await are apart:
 * - the wait is an untimed latch: `invokeSync` awaits
 *   `ResponseFuture.waitResponse()`, a promise-based CountDownLatch with no
 *   timer of its own; the loop runs everything else meanwhile;
 * - the timeout is the call's deadline on the deadline wheel (CallDeadlines,
 *   one timer for every call in flight). When it passes, the wheel calls
 *   `expire` → `failCall`, which counts the latch down.
 * Either way the latch is counted down once, by `completeCall` or `failCall`,
 * and the caller resumes. A call has one deadline whoever waits for it (sync,
 * async or a queued oneway call), and it is never added twice. The latch's
 * own timed wait (`CountDownLatch.await(timeoutMs)`) would cost a timer per
 * call, which is what the wheel replaced: about 1.4 µs more per call with a
 * timer each (latch with its own setTimeout against wheel plus untimed
 * latch, one process, measured back to back on a busy machine).
 *
 * Deadlines live in CallDeadlines, writability queues in ChannelWriteQueues,
 * counters and diagnostics in CallTelemetry.
 */
export class OutboundInvoker implements QueuedCallOwner {
  readonly responseTable = new ResponseTable();
  readonly asyncPermits: Permits;
  readonly onewayPermits: Permits;
  readonly telemetry: CallTelemetry;
  /** Channels with calls waiting for them to become writable. */
  readonly writeQueues = new ChannelWriteQueues();
  private readonly deadlines: CallDeadlines;
  private readonly side: EndpointSide;
  private readonly hooks: RpcHooks;
  private readonly language: number | undefined;
  private readonly version: number | undefined;
  private unmatched = 0;
  private sendFailureListener: ((channel: Channel) => void) | null = null;
  /** The write callback of every oneway call: one shared function, not a closure per call. */
  private readonly releaseOnewayPermit = (): void => this.onewayPermits.release();

  constructor(options: OutboundOptions) {
    this.side = options.side;
    this.hooks = options.hooks;
    this.language = options.language;
    this.version = options.version;
    this.asyncPermits = new Permits(options.permitsAsync);
    this.onewayPermits = new Permits(options.permitsOneway);
    this.telemetry = new CallTelemetry(options.side);
    this.deadlines = new CallDeadlines(this.responseTable, options.responseTableScan, (future) =>
      this.expire(future),
    );
  }

  /**
   * Told of the channel of every call that ends in a RemotingSendRequestError
   * (the connection is broken), before the call's caller hears: the client
   * drops that connection so the next call reconnects.
   */
  onSendFailure(listener: (channel: Channel) => void): void {
    this.sendFailureListener = listener;
  }

  /** Responses that matched no live call on their channel (late, aborted, unknown, or another channel's). */
  get unmatchedResponses(): number {
    return this.unmatched;
  }

  /** Calls waiting for a channel to become writable, and the bytes they hold. */
  writeWaiters(): { calls: number; bytes: number } {
    return this.writeQueues.totals();
  }

  /** Starts RocketMQ's response-table sweep, the backstop behind each call's own deadline. */
  startScanner(): void {
    this.deadlines.startSweep();
  }

  stopScanner(): void {
    this.deadlines.stop();
  }

  /** Fails and removes every call whose deadline passed more than the grace period ago; returns how many. */
  scanResponseTable(now = performance.now()): number {
    return this.deadlines.sweep(now);
  }

  // ---- the three modes ----

  /**
   * Sends `request` and waits for its response (RocketMQ's invokeSync).
   * `startedAt` is performance.now() when the caller's call began, so the
   * timeout covers connecting and queueing too.
   * @throws RemotingTimeoutError, RemotingSendRequestError, RemotingAbortError, or what an RPC hook threw
   */
  async invokeSync(
    channel: Channel,
    request: RemotingCommand,
    timeoutMs: number,
    startedAt = performance.now(),
    signal?: AbortSignal,
  ): Promise<RemotingCommand> {
    this.telemetry.started('sync', channel.remoteAddress, request, timeoutMs);
    this.beforeRequest('sync', channel, request, timeoutMs, startedAt);
    // No permit: as in RocketMQ 4.x, a sync call's caller is its own limit.
    const future = ResponseFuture.sync(channel, request, timeoutMs, startedAt);
    this.startCall(future, signal);
    // The untimed latch: the deadline wheel, not this wait, ends a call that gets no response.
    await future.waitResponse();
    const response = future.response;
    if (response === null) throw future.cause;
    return response;
  }

  /**
   * Sends `request` under an async permit (RocketMQ's invokeAsync); `callback`
   * runs once with the response or the error. When a permit is free and the
   * channel writable, everything happens synchronously: no promise, no tick.
   * What `callback` throws is re-thrown on a later tick (see `runCallback`).
   */
  invokeAsync(
    channel: Channel,
    request: RemotingCommand,
    timeoutMs: number,
    callback: InvokeCallback,
    startedAt = performance.now(),
    signal?: AbortSignal,
  ): void {
    this.telemetry.started('async', channel.remoteAddress, request, timeoutMs);
    try {
      this.beforeRequest('async', channel, request, timeoutMs, startedAt);
    } catch (error) {
      this.callBackEarly(callback, error as Error, channel.remoteAddress, request);
      return;
    }
    if (channel.isWritable() && this.asyncPermits.tryTake()) {
      const future = ResponseFuture.async(
        channel,
        request,
        timeoutMs,
        startedAt,
        callback,
        this.asyncPermits,
      );
      if (signal === undefined) {
        // The fast path: writable, a permit, nothing to watch.
        this.deadlines.add(future);
        this.putAndWrite(future);
      } else {
        this.startCall(future, signal);
      }
      return;
    }
    this.invokeAsyncWaiting(channel, request, timeoutMs, callback, startedAt, signal);
  }

  /**
   * invokeAsync when it has to wait. A method of its own: the closure below
   * would otherwise cost every call a context object, fast path included.
   */
  private invokeAsyncWaiting(
    channel: Channel,
    request: RemotingCommand,
    timeoutMs: number,
    callback: InvokeCallback,
    startedAt: number,
    signal: AbortSignal | undefined,
  ): void {
    this.invokeAsyncSlowly(channel, request, timeoutMs, callback, startedAt, signal).catch((error: Error) =>
      this.callBackEarly(callback, error, channel.remoteAddress, request),
    );
  }

  /**
   * Sends a request that expects no response (RocketMQ's invokeOneway), under
   * a oneway permit held until its bytes are handed to the socket. Resolves
   * once it is written (or queued on a writable channel).
   * @throws RemotingTooMuchRequestError, RemotingTimeoutError (never became writable), RemotingSendRequestError, RemotingAbortError
   */
  invokeOneway(
    channel: Channel,
    request: RemotingCommand,
    timeoutMs: number,
    startedAt = performance.now(),
    signal?: AbortSignal,
  ): Promise<void> {
    request.markOneway();
    this.telemetry.started('oneway', channel.remoteAddress, request, timeoutMs);
    try {
      this.beforeRequest('oneway', channel, request, timeoutMs, startedAt);
    } catch (error) {
      return Promise.reject(error);
    }
    // The fast path is no async function: a free permit and a writable channel
    // cost one shared resolved promise, not a promise and a generator per call.
    if (signal?.aborted !== true && channel.isWritable() && this.onewayPermits.tryTake()) {
      // The permit is held until the bytes reach the socket (or never will).
      try {
        const listener = this.telemetry.watchesWrites
          ? this.telemetry.watchWrite(
              'oneway',
              channel.remoteAddress,
              request,
              startedAt,
              this.releaseOnewayPermit,
            )
          : this.releaseOnewayPermit;
        channel.write(request, listener);
      } catch (error) {
        // It could not be encoded (RemotingEncodeError): nothing was queued.
        this.onewayPermits.release();
        this.telemetry.failedEarly(
          'oneway',
          unsentFacts(channel, request, timeoutMs, startedAt),
          error as Error,
        );
        return Promise.reject(error);
      }
      this.telemetry.onewayWritten(channel.remoteAddress, request, startedAt);
      return WRITTEN;
    }
    return this.invokeOnewaySlowly(channel, request, timeoutMs, startedAt, signal);
  }

  /** invokeAsync when it has to wait: for a permit, for a writable channel, or to be aborted. */
  private async invokeAsyncSlowly(
    channel: Channel,
    request: RemotingCommand,
    timeoutMs: number,
    callback: InvokeCallback,
    startedAt: number,
    signal: AbortSignal | undefined,
  ): Promise<void> {
    if (signal?.aborted || !this.asyncPermits.tryTake()) {
      // The future returns the permit to the pool itself, so the waiter's release function goes unused.
      await this.acquire(this.asyncPermits, 'async', channel, request, timeoutMs, startedAt, signal);
    }
    const future = ResponseFuture.async(channel, request, timeoutMs, startedAt, callback, this.asyncPermits);
    if (!this.outOfTime(future)) this.startCall(future, signal);
  }

  /** invokeOneway when it has to wait: for a permit, for a writable channel, or to be aborted. */
  private async invokeOnewaySlowly(
    channel: Channel,
    request: RemotingCommand,
    timeoutMs: number,
    startedAt: number,
    signal: AbortSignal | undefined,
  ): Promise<void> {
    if (signal?.aborted || !this.onewayPermits.tryTake()) {
      // The permit goes back to the pool directly (releaseOnewayPermit), so the waiter's release function goes unused.
      await this.acquire(this.onewayPermits, 'oneway', channel, request, timeoutMs, startedAt, signal);
    }
    // Only the slow path needs the call's facts, for the error it may raise.
    const future = ResponseFuture.oneway(channel, request, timeoutMs, startedAt);
    if (this.outOfTime(future) || (signal !== undefined && !this.watchAbort(future, signal))) {
      this.onewayPermits.release();
      throw future.cause;
    }
    if (channel.isWritable()) {
      if (this.writeOneway(future)) return;
      this.onewayPermits.release();
      throw future.cause;
    }
    this.deadlines.add(future);
    this.enqueue(future, true);
    await future.waitResponse();
    if (future.cause !== null) throw future.cause;
  }

  /**
   * invokeOneway's callback form, for a loop that sends many: no promise per
   * request. True when the request went out at once and the channel can take
   * more: keep sending. False when the caller should `waitWritable` before
   * the next one: this request waits for a permit or for the channel to
   * drain (it still goes, in order), or it took the channel past its high
   * watermark. `callback` runs exactly once, after this returns.
   */
  sendOneway(
    channel: Channel,
    request: RemotingCommand,
    timeoutMs: number,
    callback: OnewayCallback,
    startedAt: number,
    signal: AbortSignal | undefined,
  ): boolean {
    request.markOneway();
    this.telemetry.started('oneway', channel.remoteAddress, request, timeoutMs);
    try {
      this.beforeRequest('oneway', channel, request, timeoutMs, startedAt);
    } catch (error) {
      this.callBackLater(callback, error as Error, channel.remoteAddress, request);
      return channel.isWritable();
    }
    if (signal?.aborted !== true && channel.isWritable() && this.onewayPermits.tryTake()) {
      const write = new OnewayWrite(
        this.side,
        this.onewayPermits,
        channel,
        request,
        timeoutMs,
        startedAt,
        callback,
      );
      let writable: boolean;
      try {
        writable = channel.write(request, write);
      } catch (error) {
        // It could not be encoded (RemotingEncodeError): nothing was queued.
        this.onewayPermits.release();
        this.telemetry.failedEarly(
          'oneway',
          unsentFacts(channel, request, timeoutMs, startedAt),
          error as Error,
        );
        this.callBackLater(callback, error as Error, channel.remoteAddress, request);
        return channel.isWritable();
      }
      this.telemetry.onewayWritten(channel.remoteAddress, request, startedAt);
      return writable;
    }
    this.sendOnewayWaiting(channel, request, timeoutMs, callback, startedAt, signal);
    return false;
  }

  /** sendOneway when it has to wait: the promise form's slow path, its outcome handed to `callback`. */
  private sendOnewayWaiting(
    channel: Channel,
    request: RemotingCommand,
    timeoutMs: number,
    callback: OnewayCallback,
    startedAt: number,
    signal: AbortSignal | undefined,
  ): void {
    this.invokeOnewaySlowly(channel, request, timeoutMs, startedAt, signal).then(
      () => runInvokeCallback(this.side, callback, null, null, channel.remoteAddress, request.code),
      (error: Error) => this.callBackEarly(callback, error, channel.remoteAddress, request),
    );
  }

  /**
   * Resolves true once a oneway request on `channel` would go out at once:
   * the channel below its high watermark with no call queued ahead, and a
   * oneway permit free. False when `timeoutMs` passes or the channel closes
   * first. What a sending loop awaits when sendOneway says false: one wait
   * per batch, not a promise per request.
   */
  async waitWritable(channel: Channel, timeoutMs: number): Promise<boolean> {
    const startedAt = performance.now();
    if (!channel.isWritable() || this.writeQueues.waitingOn(channel) > 0) {
      if (!(await channel.waitWritable(timeoutMs))) return false;
    }
    if (!this.onewayPermits.hasFreePermit) {
      // Waits in line with the calls waiting for one, then hands it straight back.
      const release = await this.onewayPermits.tryAcquire(timeoutMs - (performance.now() - startedAt));
      if (release === null) return false;
      release();
    }
    return !channel.isClosed;
  }

  // ---- setting a call going ----

  /**
   * Starts a call that waits for a response: the abort signal, the deadline
   * (on the wheel, from now until the call ends), then the write now or a
   * place in the channel's writability queue. The fast path (writable, no
   * signal) allocates nothing beyond the future.
   */
  private startCall(future: ResponseFuture, signal: AbortSignal | undefined): void {
    if (signal !== undefined && !this.watchAbort(future, signal)) return;
    this.deadlines.add(future);
    if (future.channel.isWritable()) this.putAndWrite(future);
    else this.enqueue(future, false);
  }

  /**
   * True (and the call failed, never written) when its time ran out while it
   * waited: RocketMQ's costTime check before the write. Only calls that
   * waited (for a permit, or in a writability queue) read the clock here.
   */
  private outOfTime(future: ResponseFuture): boolean {
    if (performance.now() < future.deadline) return false;
    this.failCall(
      future,
      new RemotingTimeoutError(future.facts(), 'was not sent: its time ran out before it could be written'),
    );
    return true;
  }

  /** False (and the call failed, never sent) when `signal` has already aborted. */
  private watchAbort(future: ResponseFuture, signal: AbortSignal): boolean {
    if (signal.aborted) {
      this.failCall(future, new RemotingAbortError(future.facts(), signal.reason));
      return false;
    }
    const onAbort = () => this.failCall(future, new RemotingAbortError(future.facts(), signal.reason));
    signal.addEventListener('abort', onAbort, { once: true });
    future.onEnd(() => signal.removeEventListener('abort', onAbort));
    return true;
  }

  /**
   * Queues the call until its channel is writable, behind every call already
   * waiting. A oneway call holds a oneway permit until its bytes reach the
   * socket (or it ends unwritten); it completes once written.
   */
  private enqueue(future: ResponseFuture, oneway: boolean): void {
    const call = new QueuedCall(this, future, oneway);
    // Registered before enqueueing: enqueueing may end the call at once (closed channel, or written).
    future.onEnd(() => {
      if (oneway && !future.written) this.onewayPermits.release();
      // A call that ends while queued (deadline, abort, shutdown) leaves the queue and lets go of its body.
      this.writeQueues.cancel(call);
    });
    this.writeQueues.enqueue(call);
  }

  /** @internal A queued call's turn came (see QueuedCall). */
  queuedCallWritable(call: QueuedCall): void {
    const future = call.future;
    // The deadline wheel ticks every 4 ms: a call may come up just past its deadline, and must not go out.
    if (future.isDone || this.outOfTime(future)) return;
    if (call.oneway) this.writeOneway(future);
    else this.putAndWrite(future);
  }

  /**
   * Writes a oneway call that waited, which completes it; its permit is held
   * until the bytes reach the socket. False (the call failed unwritten; the
   * caller still holds the permit) when the request cannot be encoded.
   */
  private writeOneway(future: ResponseFuture): boolean {
    future.markWritten();
    try {
      const listener = this.telemetry.watchesWrites
        ? this.watchWrite(future, this.releaseOnewayPermit)
        : this.releaseOnewayPermit;
      future.channel.write(future.request, listener);
    } catch (error) {
      future.markUnsent();
      this.failCall(future, error as Error);
      return false;
    }
    this.completeCall(future, null);
    return true;
  }

  /** @internal A queued call's channel closed before its turn (see QueuedCall). */
  queuedCallClosed(call: QueuedCall): void {
    const future = call.future;
    this.failCall(
      future,
      new RemotingSendRequestError(future.facts(), 'could not be sent: the connection closed'),
    );
  }

  /**
   * Puts the call in the response table under its opaque, then hands its
   * request to the channel. The table comes first so that no response can
   * arrive before its caller is found. An opaque still live (a command sent
   * twice at once) is refused unsent: a second future never replaces the
   * first, so neither call can lose the other's wake-up.
   */
  private putAndWrite(future: ResponseFuture): void {
    if (!this.responseTable.put(future)) {
      this.failCall(future, new RemotingOpaqueInUseError(future.facts()));
      return;
    }
    future.markWritten();
    // How a failed write reaches the caller: the channel queues the frame with
    // the future as its WriteListener; on the next tick the WriteBatch flushes
    // it and calls `future.writeDone(error)`; the future hands a failure to
    // `writeFailed` below, which fails the call (RemotingSendRequestError) and
    // so counts down the latch the caller waits on.
    future.writeFailed = this.writeFailed;
    try {
      future.channel.write(
        future.request,
        this.telemetry.watchesWrites ? this.watchWrite(future, future) : future,
      );
    } catch (error) {
      // It could not be encoded (RemotingEncodeError, e.g. a code the ROCKETMQ header cannot hold): nothing was queued.
      future.markUnsent();
      this.failCall(future, error as Error);
    }
  }

  /** `listener`, behind a callback that publishes `call:written` first (see CallTelemetry.watchWrite). */
  private watchWrite(future: ResponseFuture, listener: WriteCallback | WriteListener): WriteCallback {
    const { mode, channel, request, beginTimestamp } = future;
    return this.telemetry.watchWrite(mode, channel.remoteAddress, request, beginTimestamp, listener);
  }

  /**
   * A call's write failed (WriteBatch.flush → ResponseFuture.writeDone → here):
   * every call shares this one function, the future being the write's listener.
   */
  private readonly writeFailed = (future: ResponseFuture, error: Error): void => {
    if (neverLeft(error)) future.markUnsent();
    this.failCall(
      future,
      new RemotingSendRequestError(future.facts(), `could not be sent: ${error.message}`, error),
    );
  };

  /** Takes (or acquires within the call's remaining time) a permit, or fails the call unsent. */
  private async acquire(
    permits: Permits,
    mode: 'async' | 'oneway',
    channel: Channel,
    request: RemotingCommand,
    timeoutMs: number,
    startedAt: number,
    signal: AbortSignal | undefined,
  ): Promise<PermitRelease> {
    const started = performance.now();
    const release = await permits.tryAcquire(timeoutMs - (started - startedAt), signal);
    if (release !== null) return release;
    const facts = unsentFacts(channel, request, timeoutMs, startedAt);
    const error = signal?.aborted
      ? new RemotingAbortError(facts, signal.reason)
      : new RemotingTooMuchRequestError({
          remoteAddress: channel.remoteAddress,
          requestCode: request.code,
          mode,
          permitsTotal: permits.total,
          permitsAvailable: permits.available,
          permitsWaiting: permits.waiters,
          waitedMs: Math.round(performance.now() - started),
        });
    this.telemetry.failedEarly(mode, facts, error);
    throw error;
  }

  // ---- how a call ends ----

  /** Matches a response to the call waiting for its opaque on `channel`; anything else is counted unmatched. */
  onResponse(channel: Channel, response: RemotingCommand): void {
    const future = this.responseTable.take(channel, response.opaque);
    if (future === undefined) {
      this.unmatched += 1;
      return;
    }
    this.completeCall(future, response);
  }

  /**
   * The one place a call completes: with its response, or (null) a oneway
   * call once written. The RPC hooks' doAfterResponse runs first; if one
   * throws, the call fails with what it threw instead.
   */
  private completeCall(future: ResponseFuture, response: RemotingCommand | null): void {
    if (future.isDone) return;
    this.deadlines.remove(future);
    if (response !== null && !this.hooks.isEmpty) {
      const hookError = this.hooks.afterResponse(
        future.channel.remoteAddress,
        future.request,
        response,
        'call',
      );
      if (hookError !== null) {
        this.failCall(future, hookError);
        return;
      }
    }
    this.telemetry.ended(future, null, response);
    future.complete(response);
    if (future.callback !== null) this.runCallback(future, null, response);
  }

  /** The one place a call fails, wherever it is: the table, the deadlines, a writability queue. */
  private failCall(future: ResponseFuture, error: Error): void {
    if (future.isDone) return;
    this.responseTable.remove(future);
    this.deadlines.remove(future);
    this.telemetry.ended(future, error, null);
    if (this.sendFailureListener !== null && error instanceof RemotingSendRequestError) {
      this.sendFailureListener(future.channel);
    }
    future.fail(error);
    if (future.callback !== null) this.runCallback(future, error, null);
  }

  /** A call reached its deadline: not written means it stayed queued behind an unwritable channel. */
  private expire(future: ResponseFuture): void {
    if (future.isDone) return;
    const error = future.written
      ? new RemotingTimeoutError(future.facts())
      : new RemotingTimeoutError(
          future.facts(),
          `could not be sent: the connection stayed unwritable (${future.channel.bufferedBytes} bytes queued)`,
        );
    this.failCall(future, error);
  }

  /** Fails every call waiting on `channel` now, rather than at its timeout; `cause` is why the channel closed, when known. */
  failChannelCalls(channel: Channel, why: string, cause?: Error): void {
    for (const future of this.responseTable.takeForChannel(channel)) {
      this.failCall(future, new RemotingSendRequestError(future.facts(), why, cause));
    }
  }

  /** Fails every waiting call (shutdown). */
  failAllCalls(why: string): void {
    for (const future of this.responseTable.takeAll()) {
      this.failCall(future, new RemotingSendRequestError(future.facts(), why));
    }
    this.writeQueues.failAll();
  }

  /**
   * A call that failed before it had a connection (connect error, abort while
   * connecting, shutdown): published as a start and an error like any other call.
   */
  callFailedToConnect(
    mode: InvokeMode,
    remoteAddress: string,
    request: RemotingCommand,
    timeoutMs: number,
    startedAt: number,
    error: Error,
  ): void {
    this.telemetry.started(mode, remoteAddress, request, timeoutMs);
    this.telemetry.failedEarly(mode, unsentFacts({ remoteAddress }, request, timeoutMs, startedAt), error);
  }

  // ---- user code, guarded ----

  /**
   * Stamps this side's language and version on a request that kept the
   * process defaults, then runs the RPC hooks' doBeforeRequest. A hook that
   * throws ends the call unsent, with what it threw (counted as a failed call).
   */
  private beforeRequest(
    mode: InvokeMode,
    channel: Channel,
    request: RemotingCommand,
    timeoutMs: number,
    startedAt: number,
  ): void {
    if (this.language !== undefined && request.language === commandDefaults.language) {
      request.language = this.language;
    }
    if (this.version !== undefined && request.version === commandDefaults.version) {
      request.version = this.version;
    }
    if (this.hooks.isEmpty) return;
    const error = this.hooks.beforeRequest(channel.remoteAddress, request, 'call');
    if (error === null) return;
    this.telemetry.failedEarly(mode, unsentFacts(channel, request, timeoutMs, startedAt), error);
    throw error;
  }

  private runCallback(future: ResponseFuture, error: Error | null, response: RemotingCommand | null): void {
    const callback = future.callback as InvokeCallback;
    runInvokeCallback(this.side, callback, error, response, future.channel.remoteAddress, future.requestCode);
  }

  /** A oneway call of the callback form that failed before it was sent: its callback hears it on a later tick. */
  private callBackLater(
    callback: OnewayCallback,
    error: Error,
    remoteAddress: string,
    request: RemotingCommand,
  ): void {
    process.nextTick(runInvokeCallback, this.side, callback, error, null, remoteAddress, request.code);
  }

  /** An async call that failed before it had a future (a hook threw, no permit): its callback hears it. */
  private callBackEarly(
    callback: InvokeCallback,
    error: Error,
    remoteAddress: string,
    request: RemotingCommand,
  ): void {
    runInvokeCallback(this.side, callback, error, null, remoteAddress, request.code);
  }
}

/** What a oneway call sent at once resolves with: shared, it costs nothing per call. */
const WRITTEN: Promise<void> = Promise.resolve();

/** The facts of a call that never got as far as a future (aborted while waiting for a permit or a connection). */
export function unsentFacts(
  channel: Pick<Channel, 'remoteAddress'>,
  request: RemotingCommand,
  timeoutMs: number,
  startedAt: number,
): InvocationFacts {
  return {
    remoteAddress: channel.remoteAddress,
    requestCode: request.code,
    opaque: request.opaque,
    elapsedMs: Math.round(performance.now() - startedAt),
    timeoutMs,
    written: false,
  };
}
