import type tls from 'node:tls';
import type { NameServerStats } from './client/name-server-list.js';
import { NameServerSelector } from './client/name-server-selector.js';
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

/** Settings of a {@link RemotingClient} (RocketMQ NettyClientConfig); every field is optional. */
export interface RemotingClientOptions {
  /** Time allowed to open a connection (RocketMQ connectTimeoutMillis: 3000). */
  connectTimeoutMs?: number;
  /** Async calls in flight at once (RocketMQ clientAsyncSemaphoreValue: 65535). */
  permitsAsync?: number;
  /** Oneway calls not yet written (RocketMQ clientOnewaySemaphoreValue: 65535). */
  permitsOneway?: number;
  /** Close channels idle (no reads or writes) this long; 0 disables. Default 120. */
  channelMaxIdleTimeSeconds?: number;
  /**
   * Close the connection when a sync call times out, so the next call
   * reconnects (RocketMQ clientCloseSocketIfTimeout). Default true, as in
   * RocketMQ 4.9.7: a peer that missed one deadline is treated as stuck, and
   * every other call pending on that connection fails with a send error.
   */
  closeSocketIfTimeout?: boolean;
  /** Largest frame accepted from a server, counting the 4-byte length prefix; a larger one closes its connection. Default 16 MiB. */
  maxFrameBytes?: number;
  /** Bytes queued on a connection before it counts as not writable (Netty WRITE_BUFFER_HIGH_WATER_MARK). Default 64 KiB. */
  writeBufferHighWaterMark?: number;
  /** Bytes queued below which a not-writable connection is writable again (Netty WRITE_BUFFER_LOW_WATER_MARK). Default 32 KiB. */
  writeBufferLowWaterMark?: number;
  /** When the response table scanner first runs and how often (RocketMQ: 3 s, then every 1 s). */
  responseTableScan?: ResponseTableScanOptions;
  /** Use TLS; the options go to tls.connect (ca, cert, key, rejectUnauthorized, ...). */
  tls?: tls.ConnectionOptions | true;
  /** Hooks run around every call made and every server-initiated request served (RocketMQ's RPCHook). */
  rpcHooks?: RPCHook[];
  /** Told about connects, closes, errors and idle connections (RocketMQ's ChannelEventListener). */
  channelEventListener?: ChannelEventListener;
  /**
   * LanguageCode announced on every command this side writes whose language
   * was left at `commandDefaults.language` (JAVA, which every RocketMQ 4.x and
   * 5.x peer decodes). `LanguageCode.NODE_JS` only for peers that know it.
   */
  language?: number;
  /**
   * Probe every name server periodically, keeping a connection to each, and
   * let calls with no address skip the ones found down (RocketMQ 5
   * scanAvailableNameSrv). Off by default.
   */
  scanAvailableNameServers?: boolean;
  /** How often the scan probes each name server. Default: connectTimeoutMs, as RocketMQ schedules it. */
  scanAvailableNameServersIntervalMs?: number;
}

/**
 * Calls remoting servers by address ("host:port"). One connection per address,
 * opened on first use under a per-address lock, shared by every call, and
 * dropped when it fails so the next call reconnects. A call whose address is
 * `null` goes to the chosen name server (see updateNameServerAddressList).
 */
export class RemotingClient extends RemotingService {
  private readonly options: RemotingClientOptions;
  private readonly channelTable = new Map<string, Channel>();
  private readonly connecting = new Map<string, Promise<Channel>>();
  /**
   * Channels whose 'close' has not fired yet, including ones already dropped
   * from the table, each with the address it was opened for (its table key).
   */
  private readonly openChannels = new Map<Channel, string>();
  private started = false;
  private stopped = false;
  private readonly nameServers: NameServerSelector;

  constructor(options: RemotingClientOptions = {}) {
    super({
      side: 'client',
      permitsAsync: options.permitsAsync ?? 65535,
      permitsOneway: options.permitsOneway ?? 65535,
      responseTableScan: options.responseTableScan,
      pauseReadWhenUnwritable: false,
      rpcHooks: options.rpcHooks,
      channelEventListener: options.channelEventListener,
      language: options.language,
    });
    this.options = options;
    const connectTimeoutMs = options.connectTimeoutMs ?? 3000;
    this.nameServers = new NameServerSelector(
      {
        live: (address) => this.liveChannel(address),
        open: (address, timeoutMs) => this.getOrCreateChannel(address, timeoutMs),
      },
      {
        connectTimeoutMs,
        scanIntervalMs: options.scanAvailableNameServers
          ? (options.scanAvailableNameServersIntervalMs ?? connectTimeoutMs)
          : undefined,
      },
    );
    // As RocketMQ: a send failure drops the connection (the next call reconnects). During
    // shutdown the connections close on their own, after flushing what is queued.
    this.endpoint.invoker.onSendFailure((channel) => {
      const address = this.openChannels.get(channel);
      if (!this.stopped && address !== undefined) this.closeChannel(address, channel);
    });
  }

  /**
   * Sends `request` to `address` ("host:port", or `null` for the chosen name
   * server) and waits for the response
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
    address: string | null,
    request: RemotingCommand,
    timeoutMs: number,
    options?: InvokeOptions,
  ): Promise<RemotingCommand> {
    const started = performance.now();
    const signal = options?.signal;
    let target: ChannelTarget;
    try {
      target = await this.channelFor(address, request, timeoutMs, started, signal);
    } catch (error) {
      this.callFailedToConnect('sync', address, request, timeoutMs, started, error as Error);
      throw error;
    }
    const channel = target.channel;
    try {
      return await this.endpoint.invoker.invokeSync(channel, request, timeoutMs, started, signal);
    } catch (error) {
      // A send failure has dropped the connection already (see onSendFailure); a timeout
      // drops it when configured; anything else (a hook that threw) says nothing about it.
      if (error instanceof RemotingTimeoutError && (this.options.closeSocketIfTimeout ?? true)) {
        this.closeChannel(target.address, channel);
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
    address: string | null,
    request: RemotingCommand,
    timeoutMs: number,
    options?: InvokeOptions,
  ): Promise<RemotingCommand> {
    return requireSuccess(
      address ?? 'the chosen name server',
      request,
      await this.invokeSync(address, request, timeoutMs, options),
    );
  }

  /**
   * Sends `request` under an async permit and delivers the response later
   * (RocketMQ's invokeAsync): as a promise, or to `callback`, called exactly
   * once. The rejections are `invokeSync`'s, plus RemotingTooMuchRequestError
   * when no async permit frees up in time. With a live connection and a free
   * permit the callback form runs synchronously up to the write.
   */
  invokeAsync(
    address: string | null,
    request: RemotingCommand,
    timeoutMs: number,
    options?: InvokeOptions,
  ): Promise<RemotingCommand>;
  invokeAsync(
    address: string | null,
    request: RemotingCommand,
    timeoutMs: number,
    callback: InvokeCallback,
    options?: InvokeOptions,
  ): void;
  invokeAsync(
    address: string | null,
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
  invokeOneway(
    address: string | null,
    request: RemotingCommand,
    timeoutMs: number,
    options?: InvokeOptions,
  ): Promise<void> {
    const started = performance.now();
    const signal = options?.signal;
    // With a live connection no async function runs: a oneway call sent at once costs no promise of its own.
    const live = signal?.aborted === true ? undefined : this.liveTarget(address);
    if (live !== undefined) {
      return this.endpoint.invoker.invokeOneway(live, request, timeoutMs, started, signal);
    }
    return this.invokeOnewayConnecting(address, request, timeoutMs, started, signal);
  }

  /** invokeOneway when the connection is not open yet (or the call is already aborted). */
  private async invokeOnewayConnecting(
    address: string | null,
    request: RemotingCommand,
    timeoutMs: number,
    started: number,
    signal: AbortSignal | undefined,
  ): Promise<void> {
    let target: ChannelTarget;
    try {
      target = await this.channelFor(address, request, timeoutMs, started, signal);
    } catch (error) {
      this.callFailedToConnect('oneway', address, request, timeoutMs, started, error as Error);
      throw error;
    }
    // A send failure drops the connection (onSendFailure); permit exhaustion or a slow
    // socket is no reason to drop the calls already on it.
    await this.endpoint.invoker.invokeOneway(target.channel, request, timeoutMs, started, signal);
  }

  /**
   * Fails every call still waiting for a response, then closes every
   * connection after flushing what is already queued (oneway requests sent
   * just before shutdown still leave).
   */
  async shutdown(): Promise<void> {
    if (this.stopped) return;
    this.stopped = true;
    this.nameServers.stop();
    this.endpoint.invoker.stopScanner();
    this.endpoint.invoker.failAllCalls('the client shut down before the response arrived');
    // Not the table: a failed call may have dropped a channel from it whose 'close' is still to come.
    const closing = [...this.openChannels.keys()].map((channel) => {
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
    address: string | null,
    request: RemotingCommand,
    timeoutMs: number,
    callback: InvokeCallback,
    started: number,
    signal: AbortSignal | undefined,
  ): void {
    // No closure per call: a send failure reaches the client through onSendFailure, not a wrapped callback.
    const invoker = this.endpoint.invoker;
    const live = signal?.aborted === true ? undefined : this.liveTarget(address);
    if (live !== undefined) {
      invoker.invokeAsyncCallback(live, request, timeoutMs, callback, started, signal);
      return;
    }
    this.channelFor(address, request, timeoutMs, started, signal).then(
      (target) => invoker.invokeAsyncCallback(target.channel, request, timeoutMs, callback, started, signal),
      (error: Error) => {
        this.callFailedToConnect('async', address, request, timeoutMs, started, error);
        callback(error, null);
      },
    );
  }

  /**
   * The connection for a call, to `address` or (for `null`) to the chosen
   * name server; an aborted `signal` rejects at once (without connecting) or
   * ends the wait for a connection in progress.
   */
  private channelFor(
    address: string | null,
    request: RemotingCommand,
    timeoutMs: number,
    started: number,
    signal: AbortSignal | undefined,
  ): Promise<ChannelTarget> {
    const aborted = (s: AbortSignal) =>
      new RemotingAbortError(
        unsentFacts({ remoteAddress: address ?? NAME_SERVER_TARGET }, request, timeoutMs, started),
        s.reason,
      );
    if (signal?.aborted) return Promise.reject(aborted(signal));
    const connecting =
      address === null
        ? this.nameServers.channel(timeoutMs, started)
        : this.getOrCreateChannel(address, timeoutMs).then((channel) => ({ address, channel }));
    if (signal === undefined) return connecting;
    return new Promise((resolve, reject) => {
      const onAbort = () => reject(aborted(signal));
      signal.addEventListener('abort', onAbort, { once: true });
      connecting.then(
        (target) => {
          signal.removeEventListener('abort', onAbort);
          resolve(target);
        },
        (error: unknown) => {
          signal.removeEventListener('abort', onAbort);
          reject(error);
        },
      );
    });
  }

  private callFailedToConnect(
    mode: 'sync' | 'async' | 'oneway',
    address: string | null,
    request: RemotingCommand,
    timeoutMs: number,
    started: number,
    error: Error,
  ): void {
    const remote = address ?? NAME_SERVER_TARGET;
    this.endpoint.invoker.callFailedToConnect(mode, remote, request, timeoutMs, started, error);
  }

  /**
   * The open connection a call to `address` goes out on at once, if there is
   * one: to `address`, or for `null` to the chosen name server while its
   * connection is healthy.
   */
  private liveTarget(address: string | null): Channel | undefined {
    return address !== null ? this.liveChannel(address) : this.nameServers.current()?.channel;
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
    this.openChannels.set(channel, address);
    channel.on('close', () => {
      this.openChannels.delete(channel);
      if (this.channelTable.get(address) === channel) this.channelTable.delete(address);
      this.nameServers.channelClosed(address);
    });
    this.endpoint.attachChannel(channel);
    if (!this.started) {
      this.started = true;
      this.endpoint.invoker.startScanner();
    }
    return channel;
  }

  // ---- name server list and channel table (the rest of RocketMQ's RemotingClient surface) ----

  /**
   * Sets the servers that calls with no address go to (RocketMQ
   * updateNameServerAddressList). The same addresses in another order change
   * nothing; a list that drops the chosen server closes its connection, so
   * the next call chooses among the new list at once. Throws TypeError on an
   * empty list or an address that is not host:port.
   */
  updateNameServerAddressList(addresses: readonly string[]): void {
    const dropped = this.nameServers.update(addresses);
    if (dropped !== null) this.closeChannel(dropped);
  }

  /** The name server list, in the order given (RocketMQ getNameServerAddressList). */
  getNameServerAddressList(): string[] {
    return this.nameServers.addresses();
  }

  /** Name servers last found reachable by a connect or a scan (RocketMQ getAvailableNameSrvList). */
  getAvailableNameServerList(): string[] {
    return this.nameServers.available();
  }

  /** The chosen name server, and for each one whether it is available and when it was last seen. */
  nameServerStats(): NameServerStats {
    return this.nameServers.stats();
  }

  /** Closes the connections to `addresses`; calls in flight on them fail, the next call reconnects. */
  closeChannels(addresses: readonly string[]): void {
    for (const address of addresses) this.closeChannel(address);
  }

  /**
   * False while the connection to `address` is above its write-buffer high
   * watermark; true when it is writable or there is no open connection
   * (RocketMQ isChannelWritable: nothing queued, nothing to wait for).
   */
  isChannelWritable(address: string): boolean {
    return this.liveChannel(address)?.isWritable() ?? true;
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

/** A connection a call goes out on, and the channel-table key it sits under. */
interface ChannelTarget {
  address: string;
  channel: Channel;
}

/** What errors and diagnostics name as the remote of a call made with no address that never found a server. */
const NAME_SERVER_TARGET = '(name server list)';
