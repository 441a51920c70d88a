import type tls from 'node:tls';
import { ResponseCode } from './protocol/codes.js';
import type { RemotingCommand } from './protocol/remoting-command.js';
import {
  RemotingAbortError,
  RemotingCommandError,
  RemotingShutdownError,
  RemotingTimeoutError,
} from './remoting/errors.js';
import type { ChannelEventListener } from './remoting/events.js';
import {
  type InvokeOptions,
  type ResponseTableScanOptions,
  unsentFacts,
} from './remoting/outbound-invoker.js';
import type { RPCHook } from './remoting/processor.js';
import type { InvokeCallback } from './remoting/response-future.js';
import { RemotingService } from './remoting-service.js';
import { Channel } from './transport/channel.js';
import { connectSocket } from './transport/connect.js';

export interface RemotingClientOptions {
  /** Time allowed to open a connection (RocketMQ connectTimeoutMillis: 3000). */
  connectTimeoutMs?: number;
  /** Async calls in flight at once (RocketMQ clientAsyncSemaphoreValue: 65535). */
  permitsAsync?: number;
  /** Oneway calls not yet written (RocketMQ clientOnewaySemaphoreValue: 65535). */
  permitsOneway?: number;
  /** Close channels idle (no reads or writes) this long; 0 disables. Default 120. */
  channelMaxIdleTimeSeconds?: number;
  /** Close the connection when a sync call times out, so the next call reconnects (RocketMQ clientCloseSocketIfTimeout). */
  closeSocketIfTimeout?: boolean;
  maxFrameBytes?: number;
  writeBufferHighWaterMark?: number;
  writeBufferLowWaterMark?: number;
  responseTableScan?: ResponseTableScanOptions;
  /** Use TLS; the options go to tls.connect (ca, cert, key, rejectUnauthorized, ...). */
  tls?: tls.ConnectionOptions | true;
  rpcHooks?: RPCHook[];
  channelEventListener?: ChannelEventListener;
}

/**
 * Calls remoting servers by address ("host:port"). One connection per address,
 * opened on first use under a per-address lock, shared by every call, and
 * dropped when it fails so the next call reconnects.
 */
export class RemotingClient extends RemotingService {
  private readonly options: RemotingClientOptions;
  private readonly channelTable = new Map<string, Channel>();
  private readonly connecting = new Map<string, Promise<Channel>>();
  /** Channels whose 'close' has not fired yet, including ones already dropped from the table. */
  private readonly openChannels = new Set<Channel>();
  private started = false;
  private stopped = false;

  constructor(options: RemotingClientOptions = {}) {
    super({
      side: 'client',
      permitsAsync: options.permitsAsync ?? 65535,
      permitsOneway: options.permitsOneway ?? 65535,
      responseTableScan: options.responseTableScan,
      pauseReadWhenUnwritable: false,
      rpcHooks: options.rpcHooks,
      channelEventListener: options.channelEventListener,
    });
    this.options = options;
  }

  /**
   * Sends `request` to `address` ("host:port") and waits for the response
   * (RocketMQ's invokeSync). `timeoutMs` covers connecting, waiting for a
   * writable connection and the response. Whatever the response code, it
   * resolves with the response; `invokeSyncOk` turns non-SUCCESS into an error.
   * @throws RemotingTimeoutError no response in time (`written` says whether the peer may have it)
   * @throws RemotingSendRequestError could not be sent, or the connection closed before the response
   * @throws RemotingConnectError could not connect
   * @throws RemotingAbortError `options.signal` aborted the call
   * @throws RemotingShutdownError the client is shut down
   */
  async invokeSync(
    address: string,
    request: RemotingCommand,
    timeoutMs: number,
    options?: InvokeOptions,
  ): Promise<RemotingCommand> {
    const started = performance.now();
    const signal = options?.signal;
    let channel: Channel;
    try {
      channel = await this.channelFor(address, request, timeoutMs, started, signal);
    } catch (error) {
      this.endpoint.invoker.callFailedToConnect('sync', address, request, timeoutMs, started, error as Error);
      throw error;
    }
    try {
      return await this.endpoint.invoker.invokeSync(channel, request, timeoutMs, started, signal);
    } catch (error) {
      // As RocketMQ: a send failure drops the connection; a timeout only when configured;
      // anything else (a hook that threw) says nothing about the connection.
      if (error instanceof RemotingTimeoutError) {
        if (this.options.closeSocketIfTimeout) this.closeChannel(address, channel);
      } else if (isSendFailure(error)) {
        this.closeChannel(address, channel);
      }
      throw error;
    }
  }

  /**
   * `invokeSync`, then a response whose code is not SUCCESS (0) becomes a
   * RemotingCommandError carrying the response, its code and remark.
   * @throws RemotingCommandError as well as everything `invokeSync` throws
   */
  async invokeSyncOk(
    address: string,
    request: RemotingCommand,
    timeoutMs: number,
    options?: InvokeOptions,
  ): Promise<RemotingCommand> {
    return requireSuccess(address, request, await this.invokeSync(address, request, timeoutMs, options));
  }

  /**
   * Sends `request` under an async permit and delivers the response later
   * (RocketMQ's invokeAsync): as a promise, or to `callback`, called exactly
   * once. The rejections are `invokeSync`'s, plus RemotingTooMuchRequestError
   * when no async permit frees up in time. With a live connection and a free
   * permit the callback form runs synchronously up to the write.
   */
  invokeAsync(
    address: string,
    request: RemotingCommand,
    timeoutMs: number,
    options?: InvokeOptions,
  ): Promise<RemotingCommand>;
  invokeAsync(
    address: string,
    request: RemotingCommand,
    timeoutMs: number,
    callback: InvokeCallback,
    options?: InvokeOptions,
  ): void;
  invokeAsync(
    address: string,
    request: RemotingCommand,
    timeoutMs: number,
    callbackOrOptions?: InvokeCallback | InvokeOptions,
    maybeOptions?: InvokeOptions,
  ): Promise<RemotingCommand> | undefined {
    const started = performance.now();
    if (typeof callbackOrOptions === 'function') {
      this.invokeAsyncWithCallback(
        address,
        request,
        timeoutMs,
        callbackOrOptions,
        started,
        maybeOptions?.signal,
      );
      return undefined;
    }
    const signal = callbackOrOptions?.signal;
    return new Promise((resolve, reject) => {
      this.invokeAsyncWithCallback(
        address,
        request,
        timeoutMs,
        (error, response) => {
          if (error !== null) reject(error);
          else resolve(response as RemotingCommand);
        },
        started,
        signal,
      );
    });
  }

  /**
   * Sends a request that gets no response (RocketMQ's invokeOneway): resolves
   * once it is handed to the connection, holding a oneway permit until its
   * bytes reach the socket.
   * @throws RemotingTooMuchRequestError no oneway permit in time
   * @throws RemotingTimeoutError the connection stayed unwritable past `timeoutMs` (not sent)
   * @throws RemotingSendRequestError, RemotingConnectError, RemotingAbortError, RemotingShutdownError
   */
  async invokeOneway(
    address: string,
    request: RemotingCommand,
    timeoutMs: number,
    options?: InvokeOptions,
  ): Promise<void> {
    const started = performance.now();
    const signal = options?.signal;
    let channel: Channel;
    try {
      channel = await this.channelFor(address, request, timeoutMs, started, signal);
    } catch (error) {
      this.endpoint.invoker.callFailedToConnect(
        'oneway',
        address,
        request,
        timeoutMs,
        started,
        error as Error,
      );
      throw error;
    }
    try {
      await this.endpoint.invoker.invokeOneway(channel, request, timeoutMs, started, signal);
    } catch (error) {
      // Permit exhaustion or a slow socket is no reason to drop the calls already on this connection.
      if (isSendFailure(error)) this.closeChannel(address, channel);
      throw error;
    }
  }

  /**
   * Fails every call still waiting for a response, then closes every
   * connection after flushing what is already queued (oneway requests sent
   * just before shutdown still leave).
   */
  async shutdown(): Promise<void> {
    if (this.stopped) return;
    this.stopped = true;
    this.endpoint.invoker.stopScanner();
    this.endpoint.invoker.failAllCalls('the client shut down before the response arrived');
    // Not the table: a failed call may have dropped a channel from it whose 'close' is still to come.
    const closing = [...this.openChannels].map((channel) => {
      channel.close();
      return channel.whenClosed();
    });
    this.channelTable.clear();
    await Promise.all(closing);
  }

  /** Drops the connection to `address` (if it is still `channel`); the next call reconnects. */
  closeChannel(address: string, channel?: Channel): void {
    const current = this.channelTable.get(address);
    if (current === undefined || (channel !== undefined && current !== channel)) return;
    this.channelTable.delete(address);
    current.destroy();
  }

  /** With a live connection this runs synchronously; only the first call to an address waits to connect. */
  private invokeAsyncWithCallback(
    address: string,
    request: RemotingCommand,
    timeoutMs: number,
    callback: InvokeCallback,
    started: number,
    signal: AbortSignal | undefined,
  ): void {
    const send = (channel: Channel) =>
      this.endpoint.invoker.invokeAsyncCallback(
        channel,
        request,
        timeoutMs,
        (error, response) => {
          if (error !== null && isSendFailure(error)) this.closeChannel(address, channel);
          callback(error, response);
        },
        started,
        signal,
      );
    const live = signal?.aborted ? undefined : this.liveChannel(address);
    if (live !== undefined) {
      send(live);
      return;
    }
    this.channelFor(address, request, timeoutMs, started, signal).then(send, (error: Error) => {
      this.endpoint.invoker.callFailedToConnect('async', address, request, timeoutMs, started, error);
      callback(error, null);
    });
  }

  /**
   * The connection for a call; an aborted `signal` rejects at once (without
   * connecting) or ends the wait for a connection in progress.
   */
  private channelFor(
    address: string,
    request: RemotingCommand,
    timeoutMs: number,
    started: number,
    signal: AbortSignal | undefined,
  ): Promise<Channel> {
    if (signal === undefined) return this.getOrCreateChannel(address, timeoutMs);
    const aborted = () =>
      new RemotingAbortError(
        unsentFacts({ remoteAddress: address }, request, timeoutMs, started),
        signal.reason,
      );
    if (signal.aborted) return Promise.reject(aborted());
    const connecting = this.getOrCreateChannel(address, timeoutMs);
    return new Promise((resolve, reject) => {
      const onAbort = () => reject(aborted());
      signal.addEventListener('abort', onAbort, { once: true });
      connecting.then(
        (channel) => {
          signal.removeEventListener('abort', onAbort);
          resolve(channel);
        },
        (error: unknown) => {
          signal.removeEventListener('abort', onAbort);
          reject(error);
        },
      );
    });
  }

  private liveChannel(address: string): Channel | undefined {
    const channel = this.channelTable.get(address);
    return channel !== undefined && !channel.isClosed ? channel : undefined;
  }

  /**
   * The connection to `address`, opened if there is none. Concurrent callers
   * share one connect attempt: the pending promise is the lock (RocketMQ takes
   * a lock around its channel table for the same reason), and every waiter
   * costs O(1) however many pile up behind a slow connect.
   */
  private getOrCreateChannel(address: string, timeoutMs: number): Promise<Channel> {
    const live = this.liveChannel(address);
    if (live !== undefined) return Promise.resolve(live);
    if (this.stopped) return Promise.reject(new RemotingShutdownError('client'));
    let pending = this.connecting.get(address);
    if (pending === undefined) {
      pending = this.openChannel(address, timeoutMs).finally(() => this.connecting.delete(address));
      this.connecting.set(address, pending);
    }
    return pending;
  }

  private async openChannel(address: string, timeoutMs: number): Promise<Channel> {
    const connectTimeoutMs = Math.min(this.options.connectTimeoutMs ?? 3000, Math.max(1, timeoutMs));
    const tlsOptions = this.options.tls === true ? {} : this.options.tls;
    const socket = await connectSocket(address, { timeoutMs: connectTimeoutMs, tls: tlsOptions });
    if (this.stopped) {
      socket.destroy();
      throw new RemotingShutdownError('client');
    }
    const channel = new Channel(socket, {
      maxFrameBytes: this.options.maxFrameBytes,
      writeBufferHighWaterMark: this.options.writeBufferHighWaterMark,
      writeBufferLowWaterMark: this.options.writeBufferLowWaterMark,
      idleTimeoutMs: (this.options.channelMaxIdleTimeSeconds ?? 120) * 1000,
    });
    this.channelTable.set(address, channel);
    this.openChannels.add(channel);
    channel.on('close', () => {
      this.openChannels.delete(channel);
      if (this.channelTable.get(address) === channel) this.channelTable.delete(address);
    });
    this.endpoint.attachChannel(channel);
    if (!this.started) {
      this.started = true;
      this.endpoint.invoker.startScanner();
    }
    return channel;
  }
}

function requireSuccess(
  address: string,
  request: RemotingCommand,
  response: RemotingCommand,
): RemotingCommand {
  if (response.code !== ResponseCode.SUCCESS) throw new RemotingCommandError(address, request.code, response);
  return response;
}

function isSendFailure(error: unknown): boolean {
  return (error as { code?: string } | null)?.code === 'REMOTING_SEND_REQUEST';
}
