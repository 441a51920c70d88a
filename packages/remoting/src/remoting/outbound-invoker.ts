import { commandDefaults, type RemotingCommand } from '../protocol/remoting-command.js';
import type { Channel } from '../transport/channel.js';
import {
  WritabilityQueue,
  type WritabilityTicket,
  type WritabilityWaiter,
} from '../transport/writability-queue.js';
import { CodeStats } from './code-stats.js';
import { DeadlineWheel } from './deadline-wheel.js';
import { diagnosticsChannels, type EndpointSide, type InvokeMode } from './diagnostics.js';
import {
  type InvocationFacts,
  RemotingAbortError,
  RemotingOpaqueInUseError,
  RemotingSendRequestError,
  RemotingTimeoutError,
  RemotingTooMuchRequestError,
} from './errors.js';
import { type PermitRelease, Permits } from './permits.js';
import { type InvokeCallback, ResponseFuture } from './response-future.js';
import { ResponseTable } from './response-table.js';
import type { RpcHooks } from './rpc-hooks.js';

/**
 * Timing of the response-table sweep (RocketMQ scanResponseTable), which fails
 * with a RemotingTimeoutError every call still waiting past its deadline plus
 * `graceMs`. Each call's own deadline normally fails it on time; the sweep is
 * the backstop. All times in ms.
 */
export interface ResponseTableScanOptions {
  /** First sweep after this long, in ms (RocketMQ: 3000). */
  initialDelayMs?: number;
  /** Sweep period, in ms (RocketMQ: 1000). */
  intervalMs?: number;
  /** A call the sweep finds is failed this long after its deadline, in ms (RocketMQ: 1000). */
  graceMs?: number;
}

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
}

/** Per-request framing and header overhead, counted on top of the body for queued bytes. */
const FRAME_OVERHEAD_BYTES = 256;

/**
 * Makes calls over channels (RocketMQ's invokeSyncImpl / invokeAsyncImpl /
 * invokeOnewayImpl): permits for async and oneway calls, waiting for
 * writability in FIFO order, the response table, per-call deadlines on one
 * timer, and the RocketMQ-style sweep as a backstop. Every call ends in
 * exactly one place: `settle` (response or oneway written) or `failCall`.
 */
export class OutboundInvoker {
  readonly responseTable = new ResponseTable();
  readonly asyncPermits: Permits;
  readonly onewayPermits: Permits;
  /** Calls made, per request code. */
  readonly calls = new CodeStats();
  private readonly side: EndpointSide;
  private readonly hooks: RpcHooks;
  private readonly language: number | undefined;
  private readonly deadlines = new DeadlineWheel<ResponseFuture>((future) => this.expire(future));
  private readonly writeQueues = new Map<Channel, WritabilityQueue>();
  private readonly scan: Required<ResponseTableScanOptions>;
  private scanTimer: NodeJS.Timeout | null = null;
  private unmatched = 0;
  private sendFailureListener: ((channel: Channel) => void) | null = null;
  /** The write callback of every oneway call sent at once: one shared function, not a closure per call. */
  private readonly releaseOnewayPermit = (): void => this.onewayPermits.release();

  constructor(options: OutboundOptions) {
    this.side = options.side;
    this.hooks = options.hooks;
    this.language = options.language;
    this.asyncPermits = new Permits(options.permitsAsync);
    this.onewayPermits = new Permits(options.permitsOneway);
    this.scan = {
      initialDelayMs: options.responseTableScan?.initialDelayMs ?? 3000,
      intervalMs: options.responseTableScan?.intervalMs ?? 1000,
      graceMs: options.responseTableScan?.graceMs ?? 1000,
    };
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
    let calls = 0;
    let bytes = 0;
    for (const queue of this.writeQueues.values()) {
      calls += queue.waiting;
      bytes += queue.queuedBytes;
    }
    return { calls, bytes };
  }

  /**
   * Starts RocketMQ's response-table sweep (first after 3 s, then every 1 s,
   * failing calls 1 s past their deadline). Deadlines normally fail calls on
   * time; the sweep is the backstop.
   */
  startScanner(): void {
    if (this.scanTimer !== null) return;
    const sweep = () => this.scanResponseTable();
    this.scanTimer = setTimeout(() => {
      sweep();
      this.scanTimer = setInterval(sweep, this.scan.intervalMs);
      this.scanTimer.unref();
    }, this.scan.initialDelayMs);
    this.scanTimer.unref();
  }

  stopScanner(): void {
    if (this.scanTimer !== null) clearTimeout(this.scanTimer);
    this.scanTimer = null;
    this.deadlines.stop();
  }

  /** Fails and removes every call whose deadline passed more than the grace period ago; returns how many. */
  scanResponseTable(now = performance.now()): number {
    const expired = this.responseTable.takeExpired(now, this.scan.graceMs);
    for (const future of expired) this.failCall(future, new RemotingTimeoutError(future.facts()));
    return expired.length;
  }

  /** Matches a response to the call waiting for its opaque on `channel`; anything else is counted unmatched. */
  onResponse(channel: Channel, response: RemotingCommand): void {
    const future = this.responseTable.take(channel, response.opaque);
    if (future === undefined) {
      this.unmatched += 1;
      return;
    }
    this.deadlines.remove(future);
    this.ended(future, null, response);
    future.complete(response);
  }

  /** Fails every call waiting on `channel` now, rather than at its timeout. */
  failChannelCalls(channel: Channel, why: string): void {
    for (const future of this.responseTable.takeForChannel(channel)) {
      this.failCall(future, new RemotingSendRequestError(future.facts(), why));
    }
  }

  /** Fails every waiting call (shutdown). */
  failAllCalls(why: string): void {
    for (const future of this.responseTable.takeAll()) {
      this.failCall(future, new RemotingSendRequestError(future.facts(), why));
    }
    for (const queue of this.writeQueues.values()) queue.failAll();
  }

  /**
   * Sends `request` and waits for its response (RocketMQ's invokeSync).
   * `startedAt` is performance.now() when the caller's call began, so the
   * timeout covers connecting and queueing too.
   * @throws RemotingTimeoutError, RemotingSendRequestError, RemotingAbortError
   */
  async invokeSync(
    channel: Channel,
    request: RemotingCommand,
    timeoutMs: number,
    startedAt = performance.now(),
    signal?: AbortSignal,
  ): Promise<RemotingCommand> {
    this.publishStart('sync', channel.remoteAddress, request, timeoutMs);
    this.runBeforeHooks('sync', channel, request, timeoutMs, startedAt);
    const future = new ResponseFuture(channel, request, timeoutMs, 'sync', null, null, startedAt);
    this.begin(future, request, signal);
    await future.waitResponse();
    const response = future.response;
    if (response === null) throw future.cause;
    this.hooks.afterResponse(channel.remoteAddress, request, response);
    return response;
  }

  /** The promise form of `invokeAsyncCallback`. */
  invokeAsync(
    channel: Channel,
    request: RemotingCommand,
    timeoutMs: number,
    startedAt = performance.now(),
    signal?: AbortSignal,
  ): Promise<RemotingCommand> {
    return new Promise((resolve, reject) => {
      this.invokeAsyncCallback(
        channel,
        request,
        timeoutMs,
        (error, response) => {
          if (error !== null) reject(error);
          else resolve(response as RemotingCommand);
        },
        startedAt,
        signal,
      );
    });
  }

  /**
   * Sends `request` under an async permit (RocketMQ's invokeAsync); `callback`
   * runs once with the response or the error. When a permit is free and the
   * channel writable, everything happens synchronously: no promise, no tick.
   */
  invokeAsyncCallback(
    channel: Channel,
    request: RemotingCommand,
    timeoutMs: number,
    callback: InvokeCallback,
    startedAt = performance.now(),
    signal?: AbortSignal,
  ): void {
    this.publishStart('async', channel.remoteAddress, request, timeoutMs);
    try {
      this.runBeforeHooks('async', channel, request, timeoutMs, startedAt);
    } catch (error) {
      callback(error as Error, null);
      return;
    }
    if (channel.isWritable() && this.asyncPermits.tryTake()) {
      const future = this.asyncFuture(channel, request, timeoutMs, callback, startedAt);
      if (signal === undefined) {
        // The fast path: writable, a permit, nothing to watch.
        this.deadlines.add(future);
        this.send(future, request);
      } else {
        this.begin(future, request, signal);
      }
      return;
    }
    this.invokeAsyncSlowly(channel, request, timeoutMs, callback, startedAt, signal).catch((error: Error) =>
      callback(error, null),
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
    this.publishStart('oneway', channel.remoteAddress, request, timeoutMs);
    try {
      this.runBeforeHooks('oneway', channel, request, timeoutMs, startedAt);
    } catch (error) {
      return Promise.reject(error);
    }
    // The fast path is no async function: a free permit and a writable channel
    // cost one shared resolved promise, not a promise and a generator per call.
    if (signal?.aborted !== true && channel.isWritable() && this.onewayPermits.tryTake()) {
      // The permit is held until the bytes reach the socket (or never will).
      channel.write(request, this.releaseOnewayPermit);
      this.onewayWritten(channel.remoteAddress, request, startedAt);
      return WRITTEN;
    }
    return this.invokeOnewaySlowly(channel, request, timeoutMs, startedAt, signal);
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
    if (channel.isWritable()) {
      // The permit is held until the bytes reach the socket (or never will).
      channel.write(request, this.releaseOnewayPermit);
      this.onewayWritten(channel.remoteAddress, request, startedAt);
      return;
    }
    // Only the slow path needs the call's facts, for the error it may raise.
    const future = new ResponseFuture(channel, request, timeoutMs, 'oneway', null, null, startedAt);
    this.waitWritable(future, request, signal, true);
    await future.waitResponse();
    if (future.cause !== null) throw future.cause;
  }

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
    this.begin(this.asyncFuture(channel, request, timeoutMs, callback, startedAt), request, signal);
  }

  /**
   * Stamps this side's language on a request that kept the process default,
   * then runs the RPC hooks' doBeforeRequest; a hook that throws ends the
   * call unsent (and is counted as such).
   */
  private runBeforeHooks(
    mode: InvokeMode,
    channel: Channel,
    request: RemotingCommand,
    timeoutMs: number,
    startedAt: number,
  ): void {
    if (this.language !== undefined && request.language === commandDefaults.language) {
      request.language = this.language;
    }
    if (this.hooks.isEmpty) return;
    try {
      this.hooks.beforeRequest(channel.remoteAddress, request);
    } catch (error) {
      this.callFailedEarly(mode, unsentFacts(channel, request, timeoutMs, startedAt), error as Error);
      throw error;
    }
  }

  private asyncFuture(
    channel: Channel,
    request: RemotingCommand,
    timeoutMs: number,
    callback: InvokeCallback,
    startedAt: number,
  ): ResponseFuture {
    const remote = channel.remoteAddress;
    const done: InvokeCallback = this.hooks.isEmpty
      ? callback
      : (error, response) => {
          if (response !== null) this.hooks.afterResponse(remote, request, response);
          callback(error, response);
        };
    return new ResponseFuture(channel, request, timeoutMs, 'async', done, this.asyncPermits, startedAt);
  }

  /**
   * Sets a call going: the deadline, the abort signal, then the write now or
   * a place in the channel's writability queue. The fast path (writable, no
   * signal) allocates nothing beyond the future and the write's callback.
   */
  private begin(future: ResponseFuture, request: RemotingCommand, signal: AbortSignal | undefined): void {
    if (signal !== undefined && !this.watchAbort(future, signal)) return;
    this.deadlines.add(future);
    if (future.channel.isWritable()) this.send(future, request);
    else this.waitWritable(future, request, undefined, false);
  }

  /** False (and the call failed, never sent) when `signal` has already aborted. */
  private watchAbort(future: ResponseFuture, signal: AbortSignal): boolean {
    if (signal.aborted) {
      this.failCall(future, new RemotingAbortError(future.facts(), signal.reason));
      return false;
    }
    const onAbort = () => this.failCall(future, new RemotingAbortError(future.facts(), signal.reason));
    signal.addEventListener('abort', onAbort, { once: true });
    this.addEndListener(future, () => signal.removeEventListener('abort', onAbort));
    return true;
  }

  /**
   * Queues the call until its channel is writable, behind every call already
   * waiting. A oneway call holds a oneway permit until its bytes reach the
   * socket (or it ends unwritten); it completes once written.
   */
  private waitWritable(
    future: ResponseFuture,
    request: RemotingCommand,
    signal: AbortSignal | undefined,
    oneway: boolean,
  ): void {
    const channel = future.channel;
    let queue = this.writeQueues.get(channel);
    if (queue === undefined) {
      queue = new WritabilityQueue(channel);
      this.writeQueues.set(channel, queue);
      channel.once('close', () => this.writeQueues.delete(channel));
    }
    if (oneway) {
      if (signal !== undefined && !this.watchAbort(future, signal)) {
        this.onewayPermits.release();
        return;
      }
      this.deadlines.add(future);
    }
    const call = new QueuedCall(this, future, request, oneway);
    const waitingQueue = queue;
    // Registered before enqueueing: enqueue may end the call at once (closed channel, or written).
    this.addEndListener(future, () => {
      if (oneway && !future.written) this.onewayPermits.release();
      // A call that ends while queued (deadline, abort, shutdown) leaves the queue and lets go of its body.
      if (call.ticket !== null) waitingQueue.cancel(call.ticket);
    });
    call.ticket = waitingQueue.enqueue(call);
  }

  /** @internal A queued call's turn came (see QueuedCall). */
  queuedCallWritable(call: QueuedCall): void {
    const future = call.future;
    if (future.isDone) return;
    if (call.oneway) {
      future.markWritten();
      this.deadlines.remove(future);
      future.channel.write(call.request, this.releaseOnewayPermit);
      this.ended(future, null, null);
      future.complete(null);
    } else {
      this.send(future, call.request);
    }
  }

  /** @internal A queued call's channel closed before its turn (see QueuedCall). */
  queuedCallClosed(call: QueuedCall): void {
    const future = call.future;
    this.failCall(
      future,
      new RemotingSendRequestError(future.facts(), 'could not be sent: the connection closed'),
    );
  }

  /** Registers the call and writes its request; a write that fails fails the call. */
  private send(future: ResponseFuture, request: RemotingCommand): void {
    if (!this.responseTable.put(future)) {
      this.failCall(future, new RemotingOpaqueInUseError(future.facts()));
      return;
    }
    future.markWritten();
    future.writeFailed = this.writeFailed;
    future.channel.write(request, future);
  }

  /** A call's write failed: every call shares this one function (the future is the write's listener). */
  private readonly writeFailed = (future: ResponseFuture, error: Error): void => {
    if (neverLeft(error)) future.markUnsent();
    this.failCall(
      future,
      new RemotingSendRequestError(future.facts(), `could not be sent: ${error.message}`, error),
    );
  };

  /** A call reached its deadline: not yet written means it stayed queued behind an unwritable channel. */
  private expire(future: ResponseFuture): void {
    if (future.isDone) return;
    const error =
      future.state === 'pending'
        ? new RemotingTimeoutError(
            future.facts(),
            `could not be sent: the connection stayed unwritable (${future.channel.bufferedBytes} bytes queued)`,
          )
        : new RemotingTimeoutError(future.facts());
    this.failCall(future, error);
  }

  /** Ends a call with `error`, wherever it is: the table, the deadlines, a writability queue. */
  private failCall(future: ResponseFuture, error: Error): void {
    if (future.isDone) return;
    this.responseTable.remove(future);
    this.deadlines.remove(future);
    this.ended(future, error, null);
    if (this.sendFailureListener !== null && error instanceof RemotingSendRequestError) {
      this.sendFailureListener(future.channel);
    }
    future.fail(error);
  }

  private addEndListener(future: ResponseFuture, listener: () => void): void {
    future.onEnd(listener);
  }

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
    this.callFailedEarly(mode, facts, error);
    throw error;
  }

  private publishStart(
    mode: InvokeMode,
    remoteAddress: string,
    request: RemotingCommand,
    timeoutMs: number,
  ): void {
    if (!diagnosticsChannels.callStart.hasSubscribers) return;
    diagnosticsChannels.callStart.publish({ side: this.side, mode, remoteAddress, request, timeoutMs });
  }

  /** Counts an ended call per code and tells diagnostics subscribers. */
  private ended(future: ResponseFuture, error: Error | null, response: RemotingCommand | null): void {
    this.calls.record(future.requestCode, error !== null, future.beginTimestamp);
    const channel = error === null ? diagnosticsChannels.callEnd : diagnosticsChannels.callError;
    if (!channel.hasSubscribers) return;
    const durationMs = performance.now() - future.beginTimestamp;
    const base = {
      side: this.side,
      mode: future.mode,
      remoteAddress: future.channel.remoteAddress,
      requestCode: future.requestCode,
      opaque: future.opaque,
      durationMs,
    };
    channel.publish(error === null ? { ...base, response } : { ...base, error });
  }

  /** The fast path of a oneway call ends without a future. */
  private onewayWritten(remoteAddress: string, request: RemotingCommand, startedAt: number): void {
    this.calls.record(request.code, false, startedAt);
    if (!diagnosticsChannels.callEnd.hasSubscribers) return;
    const durationMs = performance.now() - startedAt;
    diagnosticsChannels.callEnd.publish({
      side: this.side,
      mode: 'oneway',
      remoteAddress,
      requestCode: request.code,
      opaque: request.opaque,
      durationMs,
      response: null,
    });
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
    this.publishStart(mode, remoteAddress, request, timeoutMs);
    this.callFailedEarly(mode, unsentFacts({ remoteAddress }, request, timeoutMs, startedAt), error);
  }

  /** A call that failed before it had a future (no permit, aborted while waiting for one or for a connection). */
  callFailedEarly(mode: InvokeMode, facts: InvocationFacts, error: Error): void {
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

/**
 * A call waiting in a channel's writability queue: the queue's waiter as one
 * object with methods, not an object literal with a closure per method.
 */
class QueuedCall implements WritabilityWaiter {
  readonly bytes: number;
  /** Its place in the queue; null until enqueued (or when enqueueing ended it at once). */
  ticket: WritabilityTicket | null = null;

  constructor(
    private readonly invoker: OutboundInvoker,
    readonly future: ResponseFuture,
    readonly request: RemotingCommand,
    /** A oneway call completes once written and holds its permit until then. */
    readonly oneway: boolean,
  ) {
    this.bytes = (request.body?.length ?? 0) + FRAME_OVERHEAD_BYTES;
  }

  onWritable(): void {
    this.invoker.queuedCallWritable(this);
  }

  onClosed(): void {
    this.invoker.queuedCallClosed(this);
  }
}

/** What a oneway call sent at once resolves with: shared, it costs nothing per call. */
const WRITTEN: Promise<void> = Promise.resolve();

/**
 * Whether a write's error proves none of its bytes left this process: the
 * channel was closed before the write (REMOTING_CHANNEL_CLOSED), or the
 * socket was destroyed while the bytes were still in Node's buffer
 * (ERR_STREAM_DESTROYED). Any other error may come after part was sent.
 */
function neverLeft(error: Error): boolean {
  const code = (error as { code?: string }).code;
  return code === 'REMOTING_CHANNEL_CLOSED' || code === 'ERR_STREAM_DESTROYED';
}

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
