import type tls from 'node:tls';
import { ChannelTable } from './channel-table.js';
import type { NameServerStats } from './name-server/list.js';
import { NameServerSelector } from './name-server/selector.js';
import { GO_AWAY_MIN_VERSION, ResponseCode } from './protocol/codes.js';
import { commandDefaults, nextOpaque, RemotingCommand } from './protocol/remoting-command.js';
import type { ResponseTableScanOptions } from './remoting/call-deadlines.js';
import type { InvokeMode } from './remoting/diagnostics.js';
import { RemotingAbortError, RemotingCommandError, RemotingTimeoutError } from './remoting/errors.js';
import type { ChannelEventListener } from './remoting/events.js';
import type { OnewayCallback } from './remoting/oneway-write.js';
import { type InvokeOptions, unsentFacts } from './remoting/outbound-invoker.js';
import type { RPCHook } from './remoting/processor.js';
import type { InvokeCallback } from './remoting/response-future.js';
import { runInvokeCallback } from './remoting/user-code.js';
import { RemotingService } from './remoting-service.js';
import type { Channel } from './transport/channel.js';

/** Settings of a {@link RemotingClient} (RocketMQ NettyClientConfig); every field is optional. */
export interface RemotingClientOptions {
  /**
   * Time one connection attempt (TCP connect, then the TLS handshake) may
   * take (RocketMQ connectTimeoutMillis: 3000). A call waits for it only
   * until its own timeout runs out.
   */
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
  /**
   * Connect with TLS. `true` uses Node's defaults (the server's certificate is
   * verified against the system CAs); an object goes to `tls.connect` as is:
   * `ca` for a private CA, `cert` and `key` for a client certificate,
   * `rejectUnauthorized: false` to skip verification, `servername` for SNI
   * (by default the host name of the address; none for an IP address). The
   * handshake counts against `connectTimeoutMs`. A server in permissive or
   * enforcing mode accepts it; a plain-only server closes the connection.
   */
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
   * The `version` (RocketMQ MQVersion ordinal) announced on every request
   * whose version was left at `commandDefaults.version` (0). A version of at
   * least {@link GO_AWAY_MIN_VERSION} (476) tells a shutting-down server that
   * this client understands GO_AWAY: the server then answers new requests
   * with it, and this client reconnects and retries the call once (see
   * `RemotingServer.shutdown({ graceful })`). Real RocketMQ brokers also
   * read the version to choose features: announce one you mean. Default:
   * leave requests as made.
   */
  version?: number;
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
 * opened on first use, shared by every call, and dropped when it fails so the
 * next call reconnects. A call whose address is `null` goes to the chosen
 * name server (see updateNameServerAddressList). Every call has one time
 * budget, `timeoutMs`, from the moment it is made: connecting, waiting for a
 * permit or a writable connection and waiting for the response all spend it,
 * and a call whose budget is gone before its request is written is never
 * written.
 */
export class RemotingClient extends RemotingService<string | null> {
  private readonly options: RemotingClientOptions;
  private readonly channels: ChannelTable;
  private readonly nameServers: NameServerSelector;
  private stopped = false;
  private shuttingDown: Promise<void> | null = null;
  private scannerStarted = false;
  private goAwayRetries = 0;

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
      version: options.version,
    });
    this.options = options;
    const connectTimeoutMs = options.connectTimeoutMs ?? 3000;
    this.channels = new ChannelTable(
      {
        connectTimeoutMs,
        tls: options.tls === true ? {} : options.tls,
        channel: {
          maxFrameBytes: options.maxFrameBytes,
          writeBufferHighWaterMark: options.writeBufferHighWaterMark,
          writeBufferLowWaterMark: options.writeBufferLowWaterMark,
          idleTimeoutMs: (options.channelMaxIdleTimeSeconds ?? 120) * 1000,
        },
      },
      (channel, address) => this.attach(channel, address),
    );
    this.nameServers = new NameServerSelector(
      {
        live: (address) => this.channels.live(address),
        open: (address, timeoutMs) => this.channels.get(address, timeoutMs, performance.now()),
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
      const address = this.channels.addressOf(channel);
      if (!this.stopped && address !== undefined) this.channels.drop(address, channel);
    });
  }

  /**
   * Sends `request` to `address` ("host:port", or `null` for the chosen name
   * server) and waits for the response (RocketMQ's invokeSync). `timeoutMs`
   * covers connecting, waiting for a writable connection and the response.
   * Whatever the response code, it resolves with the response;
   * `invokeSyncOk` turns non-SUCCESS into an error.
   * @throws RemotingTimeoutError no response in time (`written` says whether the peer may have it)
   * @throws RemotingSendRequestError could not be sent, or the connection closed before the response
   * @throws RemotingConnectError could not connect (within the call's timeout)
   * @throws RemotingAbortError `options.signal` aborted the call
   * @throws RemotingShutdownError the client is shut down
   * @throws RemotingEncodeError the request cannot be written in its serialization (nothing was sent)
   */
  async invokeSync(
    address: string | null,
    request: RemotingCommand,
    timeoutMs: number,
    options?: InvokeOptions,
  ): Promise<RemotingCommand> {
    const startedAt = performance.now();
    const signal = options?.signal;
    const response = await this.invokeSyncAt(address, request, timeoutMs, startedAt, signal);
    if (response.code !== ResponseCode.GO_AWAY || !this.understandsGoAway(request)) return response;
    // The server did not process it: once more, on a new connection (to another name server for null).
    return this.invokeSyncAt(address, retryOf(request), timeoutMs, startedAt, signal);
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

  /** `invokeOneway`'s promise form (see RemotingService). With a live connection no async function runs. */
  protected startOneway(
    address: string | null,
    request: RemotingCommand,
    timeoutMs: number,
    startedAt: number,
    signal: AbortSignal | undefined,
  ): Promise<void> {
    // A oneway call sent at once costs no promise of its own.
    const live = signal?.aborted === true ? undefined : this.liveChannel(address);
    if (live !== undefined) {
      return this.endpoint.invoker.invokeOneway(live, request, timeoutMs, startedAt, signal);
    }
    return this.invokeOnewayConnecting(address, request, timeoutMs, startedAt, signal);
  }

  /** `invokeOneway`'s callback form (see RemotingService): synchronous with a live connection. */
  protected sendOneway(
    address: string | null,
    request: RemotingCommand,
    timeoutMs: number,
    callback: OnewayCallback,
    startedAt: number,
    signal: AbortSignal | undefined,
  ): boolean {
    const live = signal?.aborted === true ? undefined : this.liveChannel(address);
    if (live !== undefined) {
      return this.endpoint.invoker.sendOneway(live, request, timeoutMs, callback, startedAt, signal);
    }
    this.sendOnewayConnecting(address, request, timeoutMs, callback, startedAt, signal);
    return false;
  }

  /** The callback form when the connection is not open yet: the promise form's path, its outcome handed on. */
  private sendOnewayConnecting(
    address: string | null,
    request: RemotingCommand,
    timeoutMs: number,
    callback: OnewayCallback,
    startedAt: number,
    signal: AbortSignal | undefined,
  ): void {
    const remote = address ?? NAME_SERVER_TARGET;
    this.invokeOnewayConnecting(address, request, timeoutMs, startedAt, signal).then(
      () => runInvokeCallback('client', callback, null, null, remote, request.code),
      (error: Error) => runInvokeCallback('client', callback, error, null, remote, request.code),
    );
  }

  /**
   * Resolves true once a oneway call to `address` ("host:port", or `null` for
   * the chosen name server) would go out at once (see
   * RemotingService.waitWritable), connecting first if there is no
   * connection; false after `timeoutMs` or if the connection closes.
   * @throws RemotingConnectError could not connect within `timeoutMs`
   * @throws RemotingShutdownError the client is shut down
   */
  async waitWritable(address: string | null, timeoutMs: number): Promise<boolean> {
    const startedAt = performance.now();
    const channel = this.liveChannel(address) ?? (await this.connecting(address, timeoutMs, startedAt));
    return this.endpoint.invoker.waitWritable(channel, timeoutMs - (performance.now() - startedAt));
  }

  /**
   * Fails every call still waiting for a response, then closes every
   * connection after flushing what is already queued (oneway requests sent
   * just before shutdown still leave). A second call returns the first one's
   * promise: it resolves when everything is closed, not before.
   */
  shutdown(): Promise<void> {
    this.shuttingDown ??= this.shutdownOnce();
    return this.shuttingDown;
  }

  private async shutdownOnce(): Promise<void> {
    this.stopped = true;
    this.nameServers.stop();
    this.endpoint.invoker.stopScanner();
    this.endpoint.invoker.failAllCalls('the client shut down before the response arrived');
    await this.channels.shutdown();
  }

  /** Drops the connection to `address` (if it is still `channel`); the next call reconnects. */
  closeChannel(address: string, channel?: Channel): void {
    this.channels.drop(address, channel);
  }

  /** Both forms of `invokeAsync` (see RemotingService) run here. */
  protected startAsync(
    address: string | null,
    request: RemotingCommand,
    timeoutMs: number,
    callback: InvokeCallback,
    startedAt: number,
    signal: AbortSignal | undefined,
  ): void {
    this.invokeAsyncAt(
      address,
      request,
      timeoutMs,
      callback,
      startedAt,
      signal,
      this.understandsGoAway(request),
    );
  }

  /** With a live connection this runs synchronously; only a call that must connect waits. */
  private invokeAsyncAt(
    address: string | null,
    request: RemotingCommand,
    timeoutMs: number,
    callback: InvokeCallback,
    startedAt: number,
    signal: AbortSignal | undefined,
    retryOnGoAway: boolean,
  ): void {
    const live = signal?.aborted === true ? undefined : this.liveChannel(address);
    if (live !== undefined) {
      this.sendAsync(address, live, request, timeoutMs, callback, startedAt, signal, retryOnGoAway);
    } else {
      this.invokeAsyncConnecting(address, request, timeoutMs, callback, startedAt, signal, retryOnGoAway);
    }
  }

  /**
   * invokeAsync when the connection is not open yet. A method of its own:
   * the closures below would otherwise cost every call a context object,
   * connected or not.
   */
  private invokeAsyncConnecting(
    address: string | null,
    request: RemotingCommand,
    timeoutMs: number,
    callback: InvokeCallback,
    startedAt: number,
    signal: AbortSignal | undefined,
    retryOnGoAway: boolean,
  ): void {
    this.connect('async', address, request, timeoutMs, startedAt, signal).then(
      (channel) =>
        this.sendAsync(address, channel, request, timeoutMs, callback, startedAt, signal, retryOnGoAway),
      (error: Error) =>
        runInvokeCallback('client', callback, error, null, address ?? NAME_SERVER_TARGET, request.code),
    );
  }

  private sendAsync(
    address: string | null,
    channel: Channel,
    request: RemotingCommand,
    timeoutMs: number,
    callback: InvokeCallback,
    startedAt: number,
    signal: AbortSignal | undefined,
    retryOnGoAway: boolean,
  ): void {
    // Only a call that can be told GO_AWAY pays for a wrapper; the default client's callback goes straight through.
    const done = retryOnGoAway
      ? this.retryingOnGoAway(address, channel, request, timeoutMs, callback, startedAt, signal)
      : callback;
    this.endpoint.invoker.invokeAsync(channel, request, timeoutMs, done, startedAt, signal);
  }

  /** `callback`, except that a GO_AWAY answer on `channel` sends the call once more, on a new connection. */
  private retryingOnGoAway(
    address: string | null,
    channel: Channel,
    request: RemotingCommand,
    timeoutMs: number,
    callback: InvokeCallback,
    startedAt: number,
    signal: AbortSignal | undefined,
  ): InvokeCallback {
    return (error, response) => {
      if (response === null || response.code !== ResponseCode.GO_AWAY) {
        callback(error, response);
        return;
      }
      this.goneAway(channel);
      this.invokeAsyncAt(address, retryOf(request), timeoutMs, callback, startedAt, signal, false);
    };
  }

  /** One attempt of invokeSync: connect if needed, then call. */
  private async invokeSyncAt(
    address: string | null,
    request: RemotingCommand,
    timeoutMs: number,
    startedAt: number,
    signal: AbortSignal | undefined,
  ): Promise<RemotingCommand> {
    const channel =
      (signal?.aborted === true ? undefined : this.liveChannel(address)) ??
      (await this.connect('sync', address, request, timeoutMs, startedAt, signal));
    try {
      const response = await this.endpoint.invoker.invokeSync(channel, request, timeoutMs, startedAt, signal);
      if (response.code === ResponseCode.GO_AWAY && this.understandsGoAway(request)) this.goneAway(channel);
      return response;
    } catch (error) {
      // A send failure has dropped the connection already (see onSendFailure); a timeout
      // drops it when configured; anything else (a hook that threw) says nothing about it.
      if (error instanceof RemotingTimeoutError && (this.options.closeSocketIfTimeout ?? true)) {
        const opened = this.channels.addressOf(channel);
        if (opened !== undefined) this.channels.drop(opened, channel);
      }
      throw error;
    }
  }

  /** invokeOneway when the connection is not open yet (or the call is already aborted). */
  private async invokeOnewayConnecting(
    address: string | null,
    request: RemotingCommand,
    timeoutMs: number,
    startedAt: number,
    signal: AbortSignal | undefined,
  ): Promise<void> {
    const channel = await this.connect('oneway', address, request, timeoutMs, startedAt, signal);
    // A send failure drops the connection (onSendFailure); permit exhaustion or a slow
    // socket is no reason to drop the calls already on it.
    await this.endpoint.invoker.invokeOneway(channel, request, timeoutMs, startedAt, signal);
  }

  /**
   * The connection for a call that has none open yet: to `address`, or (for
   * `null`) to the chosen name server. An aborted `signal` rejects at once
   * (without connecting) or ends the wait. Whatever ends the call here is
   * counted as a failed call; a call whose time ran out while it connected
   * fails unwritten, as RocketMQ checks costTime before the write.
   */
  private async connect(
    mode: InvokeMode,
    address: string | null,
    request: RemotingCommand,
    timeoutMs: number,
    startedAt: number,
    signal: AbortSignal | undefined,
  ): Promise<Channel> {
    const remote = address ?? NAME_SERVER_TARGET;
    try {
      const aborted = () => abortError(remote, request, timeoutMs, startedAt, signal as AbortSignal);
      if (signal?.aborted) throw aborted();
      const channel = await abortable(this.connecting(address, timeoutMs, startedAt), signal, aborted);
      if (performance.now() - startedAt >= timeoutMs) {
        throw new RemotingTimeoutError(
          unsentFacts(channel, request, timeoutMs, startedAt),
          'was not sent: connecting took its whole timeout',
        );
      }
      return channel;
    } catch (error) {
      this.endpoint.invoker.callFailedToConnect(mode, remote, request, timeoutMs, startedAt, error as Error);
      throw error;
    }
  }

  private connecting(address: string | null, timeoutMs: number, startedAt: number): Promise<Channel> {
    if (address === null)
      return this.nameServers.channel(timeoutMs, startedAt).then((chosen) => chosen.channel);
    return this.channels.get(address, timeoutMs, startedAt);
  }

  /** Wires a new connection to the endpoint; the first one starts the response-table sweep. */
  private attach(channel: Channel, address: string): void {
    channel.on('close', () => this.nameServers.channelClosed(address));
    this.endpoint.attachChannel(channel);
    if (!this.scannerStarted) {
      this.scannerStarted = true;
      this.endpoint.invoker.startScanner();
    }
  }

  /**
   * The peer answered GO_AWAY on `channel`: new calls need another connection
   * (the calls still on this one get their answers; the peer closes it once
   * drained), and a name server that said it is going away is not chosen again first.
   */
  private goneAway(channel: Channel): void {
    this.goAwayRetries += 1;
    const address = this.channels.addressOf(channel);
    this.channels.retire(channel);
    if (address !== undefined) this.nameServers.goneAway(address);
  }

  /** Whether `request` announces a version a conforming server answers GO_AWAY to (see GO_AWAY_MIN_VERSION). */
  private understandsGoAway(request: RemotingCommand): boolean {
    const version =
      request.version === commandDefaults.version
        ? (this.options.version ?? request.version)
        : request.version;
    return version >= GO_AWAY_MIN_VERSION;
  }

  /**
   * The open connection a call to `address` goes out on at once, if there is
   * one: to `address`, or for `null` to the chosen name server while its
   * connection is healthy.
   */
  private liveChannel(address: string | null): Channel | undefined {
    return address !== null ? this.channels.live(address) : this.nameServers.current()?.channel;
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
    if (dropped !== null) this.channels.drop(dropped);
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
    for (const address of addresses) this.channels.drop(address);
  }

  /**
   * False while the connection to `address` is above its write-buffer high
   * watermark; true when it is writable or there is no open connection
   * (RocketMQ isChannelWritable: nothing queued, nothing to wait for).
   */
  isChannelWritable(address: string): boolean {
    return this.channels.live(address)?.isWritable() ?? true;
  }

  /**
   * Calls this client sent again on a new connection because the server
   * answered GO_AWAY (it was shutting down and had not processed them).
   */
  get goAwayRetryCount(): number {
    return this.goAwayRetries;
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

/**
 * The request a GO_AWAY retry sends: the same command under a fresh opaque
 * (the 5.x Java client builds a new command too), so a late answer to the
 * first attempt can never be taken for the second's.
 */
function retryOf(request: RemotingCommand): RemotingCommand {
  const retry = new RemotingCommand(request.code, nextOpaque());
  retry.language = request.language;
  retry.version = request.version;
  retry.flag = request.flag;
  retry.remark = request.remark;
  retry.extFields = request.extFields === null ? null : new Map(request.extFields);
  retry.body = request.body;
  retry.serializeType = request.serializeType;
  return retry;
}

/** `pending`, or a rejection with `aborted()` as soon as `signal` aborts (at once if it already has). */
function abortable<T>(
  pending: Promise<T>,
  signal: AbortSignal | undefined,
  aborted: () => Error,
): Promise<T> {
  if (signal === undefined) return pending;
  if (signal.aborted) return Promise.reject(aborted());
  return new Promise((resolve, reject) => {
    const onAbort = () => reject(aborted());
    signal.addEventListener('abort', onAbort, { once: true });
    pending.then(
      (value) => {
        signal.removeEventListener('abort', onAbort);
        resolve(value);
      },
      (error: unknown) => {
        signal.removeEventListener('abort', onAbort);
        reject(error);
      },
    );
  });
}

function abortError(
  remoteAddress: string,
  request: RemotingCommand,
  timeoutMs: number,
  startedAt: number,
  signal: AbortSignal,
): RemotingAbortError {
  return new RemotingAbortError(unsentFacts({ remoteAddress }, request, timeoutMs, startedAt), signal.reason);
}

/** What errors and diagnostics name as the remote of a call made with no address that never found a server. */
const NAME_SERVER_TARGET = '(name server list)';
