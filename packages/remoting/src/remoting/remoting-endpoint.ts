import { ResponseCode, type SerializeType } from '../protocol/codes.js';
import { exceptionSimpleDesc } from '../protocol/exception-desc.js';
import { RemotingCommand } from '../protocol/remoting-command.js';
import type { Channel, WriteCallback } from '../transport/channel.js';
import type { ExecutorOptions, ExecutorTask } from './bounded-executor.js';
import { RemotingSendRequestError, RemotingTimeoutError, RemotingTooMuchRequestError } from './errors.js';
import type { ChannelEventListener, RemotingEvents } from './events.js';
import { type PermitRelease, Permits } from './permits.js';
import type { RequestContext, RequestProcessor, RPCHook } from './processor.js';
import { controllerProcessors, ProcessorRegistry } from './processor-registry.js';
import { type InvokeCallback, ResponseFuture } from './response-future.js';
import { ResponseTable } from './response-table.js';

/** Remarks RocketMQ sends; peers and people grep for them, so they are kept verbatim. */
export const Remarks = {
  notSupported: (code: number) => ` request type ${code} not supported`,
  rejectRequest: '[REJECTREQUEST]system busy, start flow control for a while',
  overload: '[OVERLOAD]system busy, start flow control for a while',
} as const;

export interface ResponseTableScanOptions {
  /** First sweep after this long (RocketMQ: 3000). */
  initialDelayMs?: number;
  /** Sweep period (RocketMQ: 1000). */
  intervalMs?: number;
  /** A future expires this long after its deadline (RocketMQ: 1000). */
  graceMs?: number;
}

export interface EndpointOptions {
  /** Async calls in flight at once. */
  permitsAsync: number;
  /** Oneway calls not yet written at once. */
  permitsOneway: number;
  responseTableScan?: ResponseTableScanOptions;
  /**
   * Bytes of this channel's requests that may wait in executors before the
   * channel stops reading (read back-pressure). Default 8 MiB.
   */
  maxPendingRequestBytesPerChannel?: number;
  /** Stop reading from a channel while its outbound buffer is above the high watermark. */
  pauseReadWhenUnwritable: boolean;
  rpcHooks?: RPCHook[];
  channelEventListener?: ChannelEventListener;
  /** Serialization of the responses this side writes; by default each mirrors its request's. */
  responseSerializeType?: SerializeType;
}

type EmitEvent = <K extends keyof RemotingEvents>(event: K, ...args: RemotingEvents[K]) => void;

interface ChannelState {
  pendingRequestBytes: number;
}

/** Per-request overhead counted on top of the body when bounding queued requests. */
const REQUEST_OVERHEAD_BYTES = 256;

export interface EndpointStats {
  /** Calls awaiting a response. */
  pendingResponses: number;
  asyncPermits: { total: number; available: number };
  onewayPermits: { total: number; available: number };
  channels: number;
  /** Responses that arrived with an opaque no call was waiting for (late or unknown). */
  unmatchedResponses: number;
}

/**
 * What a server and a client share (RocketMQ's NettyRemotingAbstract): it
 * dispatches inbound requests to processors, matches responses to waiting
 * calls, makes sync/async/oneway calls over a channel, sweeps expired calls,
 * and fails a channel's calls the moment it closes.
 */
export class RemotingEndpoint {
  readonly registry = new ProcessorRegistry();
  readonly responseTable = new ResponseTable();
  readonly asyncPermits: Permits;
  readonly onewayPermits: Permits;
  private readonly hooks: RPCHook[];
  private readonly listener: ChannelEventListener | undefined;
  private readonly channels = new Map<Channel, ChannelState>();
  private readonly maxPendingRequestBytes: number;
  private readonly pauseReadWhenUnwritable: boolean;
  private readonly responseSerializeType: SerializeType | undefined;
  private readonly scan: Required<ResponseTableScanOptions>;
  private scanTimer: NodeJS.Timeout | null = null;
  private unmatchedResponses = 0;

  constructor(
    options: EndpointOptions,
    private readonly emit: EmitEvent,
  ) {
    this.asyncPermits = new Permits(options.permitsAsync);
    this.onewayPermits = new Permits(options.permitsOneway);
    this.hooks = [...(options.rpcHooks ?? [])];
    this.listener = options.channelEventListener;
    this.maxPendingRequestBytes = options.maxPendingRequestBytesPerChannel ?? 8 * 1024 * 1024;
    this.pauseReadWhenUnwritable = options.pauseReadWhenUnwritable;
    this.responseSerializeType = options.responseSerializeType;
    this.scan = {
      initialDelayMs: options.responseTableScan?.initialDelayMs ?? 3000,
      intervalMs: options.responseTableScan?.intervalMs ?? 1000,
      graceMs: options.responseTableScan?.graceMs ?? 1000,
    };
  }

  registerRPCHook(hook: RPCHook): void {
    this.hooks.push(hook);
  }

  registerProcessor(code: number, processor: RequestProcessor, executor?: ExecutorOptions): void {
    this.registry.register(code, processor, executor);
  }

  registerDefaultProcessor(processor: RequestProcessor, executor?: ExecutorOptions): void {
    this.registry.registerDefault(processor, executor);
  }

  /** Registers every `@RequestMapping` method of `controller`. */
  registerController(controller: object): void {
    for (const { code, processor, executor } of controllerProcessors(controller)) {
      this.registry.register(code, processor, executor);
    }
  }

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
  }

  /** Fails and removes every call whose deadline passed more than the grace period ago. */
  scanResponseTable(now = performance.now()): number {
    const expired = this.responseTable.takeExpired(now, this.scan.graceMs);
    for (const future of expired) future.fail(new RemotingTimeoutError(future.facts()));
    return expired.length;
  }

  stats(): EndpointStats {
    return {
      pendingResponses: this.responseTable.size,
      asyncPermits: { total: this.asyncPermits.total, available: this.asyncPermits.available },
      onewayPermits: { total: this.onewayPermits.total, available: this.onewayPermits.available },
      channels: this.channels.size,
      unmatchedResponses: this.unmatchedResponses,
    };
  }

  /** Wires a new channel to this endpoint: its commands, its close, its writability, its idleness. */
  attachChannel(channel: Channel): void {
    this.channels.set(channel, { pendingRequestBytes: 0 });
    const remote = channel.remoteAddress;
    channel.on('command', (cmd) => {
      if (cmd.isResponse()) this.onResponse(cmd);
      else this.onRequest(channel, cmd);
    });
    channel.on('protocolError', (error) => this.notify('exception', remote, channel, error));
    channel.on('error', (error) => this.notify('exception', remote, channel, error));
    channel.on('idle', () => {
      this.notify('idle', remote, channel);
      channel.destroy();
    });
    if (this.pauseReadWhenUnwritable) {
      channel.on('writabilityChanged', (writable) => {
        if (writable) channel.resumeReading('unwritable');
        else channel.pauseReading('unwritable');
      });
    }
    channel.on('close', () => {
      this.channels.delete(channel);
      this.failChannelCalls(channel, 'the connection closed before the response arrived');
      this.notify('close', remote, channel);
    });
    this.notify('connect', remote, channel);
  }

  /** Fails every call waiting on `channel` now, rather than at its timeout. */
  failChannelCalls(channel: Channel, why: string, cause?: unknown): void {
    for (const future of this.responseTable.takeForChannel(channel)) {
      future.fail(new RemotingSendRequestError(future.facts(), why, cause));
    }
  }

  /** Fails every waiting call (shutdown). */
  failAllCalls(why: string): void {
    for (const future of this.responseTable.takeAll()) {
      future.fail(new RemotingSendRequestError(future.facts(), why));
    }
  }

  /**
   * Sends `request` and waits for its response. Every invoke method takes
   * `startedAt` (performance.now() when the caller's call began) so a timeout
   * covers connecting and queueing too, and errors report the caller's timeout.
   */
  async invokeSync(
    channel: Channel,
    request: RemotingCommand,
    timeoutMs: number,
    startedAt = performance.now(),
  ): Promise<RemotingCommand> {
    this.beforeRequest(channel.remoteAddress, request);
    const future = new ResponseFuture(channel, request, timeoutMs, null, null, startedAt);
    await this.waitWritable(future);
    this.send(future, request);
    await future.waitResponse(remainingMs(future));
    this.responseTable.remove(future);
    if (future.response !== null) {
      this.afterResponse(channel.remoteAddress, request, future.response);
      return future.response;
    }
    if (future.cause !== null) throw future.cause;
    const timeout = new RemotingTimeoutError(future.facts());
    future.fail(timeout);
    throw timeout;
  }

  /** The promise form of `invokeAsyncCallback`. */
  invokeAsync(
    channel: Channel,
    request: RemotingCommand,
    timeoutMs: number,
    startedAt = performance.now(),
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
      );
    });
  }

  /**
   * Sends `request` under an async permit; `callback` runs once with the
   * response or the error. When a permit is free and the channel writable,
   * everything happens synchronously: no promise, no tick.
   */
  invokeAsyncCallback(
    channel: Channel,
    request: RemotingCommand,
    timeoutMs: number,
    callback: InvokeCallback,
    startedAt = performance.now(),
  ): void {
    try {
      this.beforeRequest(channel.remoteAddress, request);
    } catch (error) {
      callback(error as Error, null);
      return;
    }
    const release = channel.isWritable() ? this.asyncPermits.tryAcquireNow() : null;
    if (release !== null) {
      this.send(this.asyncFuture(channel, request, timeoutMs, callback, release, startedAt), request);
      return;
    }
    this.invokeAsyncSlowly(channel, request, timeoutMs, callback, startedAt).catch((error: Error) =>
      callback(error, null),
    );
  }

  /** Sends a request that expects no response, under a oneway permit held until it is written. */
  async invokeOneway(
    channel: Channel,
    request: RemotingCommand,
    timeoutMs: number,
    startedAt = performance.now(),
  ): Promise<void> {
    request.markOneway();
    this.beforeRequest(channel.remoteAddress, request);
    const release =
      this.onewayPermits.tryAcquireNow() ??
      (await this.acquire(this.onewayPermits, 'oneway', channel, request, timeoutMs, startedAt));
    if (!channel.isWritable()) {
      // Only the slow path needs the call's facts, for the error it may raise.
      const pending = new ResponseFuture(channel, request, timeoutMs, null, null, startedAt);
      try {
        await this.waitWritable(pending);
        if (channel.isClosed) {
          throw new RemotingSendRequestError(pending.facts(), 'could not be sent: the connection is closed');
        }
      } catch (error) {
        release();
        throw error;
      }
    }
    // The permit is held until the bytes reach the socket (or never will); a closed channel calls back at once.
    channel.write(request, release);
  }

  private async invokeAsyncSlowly(
    channel: Channel,
    request: RemotingCommand,
    timeoutMs: number,
    callback: InvokeCallback,
    startedAt: number,
  ): Promise<void> {
    const release = await this.acquire(this.asyncPermits, 'async', channel, request, timeoutMs, startedAt);
    const future = this.asyncFuture(channel, request, timeoutMs, callback, release, startedAt);
    try {
      await this.waitWritable(future);
    } catch (error) {
      future.fail(error as Error);
      return;
    }
    this.send(future, request);
  }

  private asyncFuture(
    channel: Channel,
    request: RemotingCommand,
    timeoutMs: number,
    callback: InvokeCallback,
    release: PermitRelease,
    startedAt: number,
  ): ResponseFuture {
    const remote = channel.remoteAddress;
    const done: InvokeCallback =
      this.hooks.length === 0
        ? callback
        : (error, response) => {
            if (response !== null) this.afterResponse(remote, request, response);
            callback(error, response);
          };
    return new ResponseFuture(channel, request, timeoutMs, done, release, startedAt);
  }

  private async acquire(
    permits: Permits,
    mode: 'async' | 'oneway',
    channel: Channel,
    request: RemotingCommand,
    timeoutMs: number,
    startedAt: number,
  ): Promise<PermitRelease> {
    const started = performance.now();
    const release = await permits.tryAcquire(timeoutMs - (started - startedAt));
    if (release !== null) return release;
    throw new RemotingTooMuchRequestError({
      remoteAddress: channel.remoteAddress,
      requestCode: request.code,
      mode,
      permitsTotal: permits.total,
      permitsAvailable: permits.available,
      permitsWaiting: permits.waiters,
      waitedMs: Math.round(performance.now() - started),
    });
  }

  /**
   * Waits (within the call's time) while the channel's outbound buffer is over
   * its high watermark, so callers that outpace the socket wait instead of
   * piling bytes up in memory.
   */
  private async waitWritable(future: ResponseFuture): Promise<void> {
    const channel = future.channel;
    if (channel.isWritable() || channel.isClosed) return;
    const writable = await channel.waitWritable(remainingMs(future));
    if (!writable && !channel.isClosed) {
      throw new RemotingTimeoutError(
        future.facts(),
        `could not be sent: the connection stayed unwritable (${channel.bufferedBytes} bytes queued)`,
      );
    }
  }

  /** Registers the future and writes its request; a failed write fails the call at once. */
  private send(future: ResponseFuture, request: RemotingCommand): void {
    this.responseTable.put(future);
    future.channel.write(request, (error) => {
      // Node passes null on success; undefined is treated alike in case a transport differs.
      if (!error) {
        future.sendRequestOK = true;
        return;
      }
      this.responseTable.remove(future);
      future.fail(new RemotingSendRequestError(future.facts(), `could not be sent: ${error.message}`, error));
    });
  }

  private onResponse(response: RemotingCommand): void {
    const future = this.responseTable.take(response.opaque);
    if (future === undefined) {
      this.unmatchedResponses += 1;
      return;
    }
    future.complete(response);
  }

  private onRequest(channel: Channel, request: RemotingCommand): void {
    const pair = this.registry.lookup(request.code);
    if (pair === null) {
      this.reply(
        channel,
        request,
        RemotingCommand.createResponse(
          ResponseCode.REQUEST_CODE_NOT_SUPPORTED,
          Remarks.notSupported(request.code),
        ),
      );
      return;
    }
    if (pair.processor.rejectRequest?.() === true) {
      this.reply(
        channel,
        request,
        RemotingCommand.createResponse(ResponseCode.SYSTEM_BUSY, Remarks.rejectRequest),
      );
      return;
    }
    const state = this.channels.get(channel);
    const cost = (request.body?.length ?? 0) + REQUEST_OVERHEAD_BYTES;
    const accepted = pair.executor.trySubmit(
      new InboundRequest(this, channel, pair.processor, request, state, cost),
    );
    if (!accepted) {
      this.reply(
        channel,
        request,
        RemotingCommand.createResponse(ResponseCode.SYSTEM_BUSY, Remarks.overload),
      );
      return;
    }
    if (state !== undefined) {
      state.pendingRequestBytes += cost;
      if (state.pendingRequestBytes > this.maxPendingRequestBytes) channel.pauseReading('backlog');
    }
  }

  /** @internal Called by InboundRequest when it is done with a request's bytes. */
  releaseBacklog(channel: Channel, state: ChannelState | undefined, cost: number): void {
    if (state === undefined) return;
    state.pendingRequestBytes -= cost;
    if (state.pendingRequestBytes <= this.maxPendingRequestBytes / 2) channel.resumeReading('backlog');
  }

  /** @internal A processor failed: the peer hears SYSTEM_ERROR from the caller, the listener hears this. */
  reportProcessorError(channel: Channel, error: Error): void {
    this.notify('exception', channel.remoteAddress, channel, error);
  }

  /** @internal Answers `request` unless it is oneway: the response carries its opaque and serialization unchanged. */
  reply(
    channel: Channel,
    request: RemotingCommand,
    response: RemotingCommand,
    afterWrite?: WriteCallback,
  ): void {
    if (request.isOneway()) return;
    response.opaque = request.opaque;
    response.markResponse();
    response.serializeType = this.responseSerializeType ?? request.serializeType;
    channel.write(response, afterWrite);
  }

  /** @internal */
  beforeRequest(remoteAddress: string, request: RemotingCommand): void {
    for (const hook of this.hooks) hook.doBeforeRequest?.(remoteAddress, request);
  }

  /** @internal */
  afterResponse(remoteAddress: string, request: RemotingCommand, response: RemotingCommand | null): void {
    for (const hook of this.hooks) hook.doAfterResponse?.(remoteAddress, request, response);
  }

  /** Delivers a channel event off the I/O path; a throwing listener cannot break the connection. */
  private notify<K extends keyof RemotingEvents>(event: K, ...args: RemotingEvents[K]): void {
    setImmediate(() => {
      try {
        this.emit(event, ...args);
      } catch {
        // A listener's bug is its own; the channelEventListener below still hears of the event.
      }
      try {
        const [remote, channel, error] = args as unknown as [string, Channel, Error];
        const l = this.listener;
        if (event === 'connect') l?.onChannelConnect?.(remote, channel);
        else if (event === 'close') l?.onChannelClose?.(remote, channel);
        else if (event === 'idle') l?.onChannelIdle?.(remote, channel);
        else if (event === 'exception') l?.onChannelException?.(remote, channel, error);
      } catch {
        // A listener's bug is its own; the I/O path carries on.
      }
    });
  }
}

function remainingMs(future: ResponseFuture): number {
  return future.timeoutMs - (performance.now() - future.beginTimestamp);
}

/**
 * One request on its way through a processor: the executor's task and the
 * processor's context in one object, so a request costs one allocation and,
 * when the processor answers synchronously, no promise at all.
 */
class InboundRequest implements RequestContext, ExecutorTask {
  private responded = false;
  private writtenCallbacks: WriteCallback[] | null = null;

  constructor(
    private readonly endpoint: RemotingEndpoint,
    readonly channel: Channel,
    private readonly processor: RequestProcessor,
    private readonly request: RemotingCommand,
    private readonly state: ChannelState | undefined,
    private readonly cost: number,
  ) {}

  get remoteAddress(): string {
    return this.channel.remoteAddress;
  }

  writeResponse(response: RemotingCommand): void {
    if (this.responded) return;
    this.responded = true;
    const afterWrite =
      this.writtenCallbacks === null ? undefined : (error: Error | null) => this.written(error);
    this.endpoint.reply(this.channel, this.request, response, afterWrite);
  }

  onResponseWritten(callback: (error: Error | null) => void): void {
    if (this.writtenCallbacks === null) this.writtenCallbacks = [];
    this.writtenCallbacks.push(callback);
  }

  run(): void | Promise<void> {
    let result: ReturnType<RequestProcessor['processRequest']>;
    try {
      this.endpoint.beforeRequest(this.channel.remoteAddress, this.request);
      result = this.processor.processRequest(this, this.request);
    } catch (error) {
      this.fail(error);
      return;
    }
    if (isThenable(result)) {
      return Promise.resolve(result).then(
        (response) => this.complete(response),
        (error: unknown) => this.fail(error),
      );
    }
    this.complete(result);
  }

  private complete(response: RemotingCommand | null | undefined): void {
    try {
      this.endpoint.afterResponse(this.channel.remoteAddress, this.request, response ?? null);
      if (response) this.writeResponse(response);
    } catch (error) {
      this.fail(error);
      return;
    }
    this.finish();
  }

  private fail(error: unknown): void {
    const message = error instanceof Error ? error.message : String(error);
    this.writeResponse(RemotingCommand.createResponse(ResponseCode.SYSTEM_ERROR, exceptionSimpleDesc(error)));
    this.endpoint.reportProcessorError(this.channel, error instanceof Error ? error : new Error(message));
    this.finish();
  }

  private finish(): void {
    // A oneway request has no response to wait for: what was held for it is free now.
    if (this.request.isOneway()) this.written(null);
    this.endpoint.releaseBacklog(this.channel, this.state, this.cost);
  }

  private written(error: Error | null): void {
    const callbacks = this.writtenCallbacks;
    this.writtenCallbacks = null;
    for (const callback of callbacks ?? []) callback(error);
  }
}

function isThenable<T>(value: T | PromiseLike<T>): value is PromiseLike<T> {
  return typeof (value as PromiseLike<T> | null)?.then === 'function';
}
