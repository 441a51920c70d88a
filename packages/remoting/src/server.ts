import net from 'node:net';
import tls from 'node:tls';
import type { SerializeType } from './protocol/codes.js';
import { RemotingProtocolError } from './protocol/errors.js';
import { recognizeForeignProtocol } from './protocol/foreign-protocol.js';
import type { RemotingCommand } from './protocol/remoting-command.js';
import type { ChannelEventListener } from './remoting/events.js';
import type { OnewayCallback } from './remoting/oneway-write.js';
import type { InvokeOptions, ResponseTableScanOptions } from './remoting/outbound-invoker.js';
import type { RPCHook } from './remoting/processor.js';
import type { InvokeCallback } from './remoting/response-future.js';
import { RemotingService } from './remoting-service.js';
import { Channel, type ChannelOptions, formatAddress } from './transport/channel.js';
import type { HostPort } from './transport/connect.js';
import { type FirstBytes, type ProxyProtocolMode, readFirstBytes } from './transport/first-bytes.js';
import { PartialFrameBudget } from './transport/partial-frame-budget.js';

/** RocketMQ's TlsMode: plain only, both on one port (detected per connection), or TLS only. */
export type TlsMode = 'disabled' | 'permissive' | 'enforcing';

/** TLS for a server: the mode plus what `tls.createServer` takes (`key`, `cert`, `ca`, `requestCert`, ...). */
export interface ServerTlsOptions extends tls.TlsOptions {
  /** Plain only, both on one port, or TLS only (RocketMQ's tls.server.mode). */
  mode: TlsMode;
}

/** Settings of a {@link RemotingServer} (RocketMQ's NettyServerConfig). Every field is optional. */
export interface RemotingServerOptions {
  /** Interface to bind; default 127.0.0.1. */
  host?: string;
  /** Port to listen on; 0 (the default) lets the OS choose, `address()` tells which. */
  port?: number;
  /** Close channels idle (no reads or writes) this long; 0 disables. Default 120 (RocketMQ's). */
  channelMaxIdleTimeSeconds?: number;
  /** Server-initiated async calls in flight (RocketMQ serverAsyncSemaphoreValue: 64). */
  permitsAsync?: number;
  /** Server-initiated oneway calls not yet written (RocketMQ serverOnewaySemaphoreValue: 256). */
  permitsOneway?: number;
  /** Largest frame accepted, counting the 4-byte length prefix; a larger one closes its connection. Default 16 MiB. */
  maxFrameBytes?: number;
  /**
   * Bytes all connections together may hold in frames that have begun to arrive
   * but not finished. Past it, the connection holding the most is closed with a
   * protocol error saying so. Default 256 MiB (16 connections' worth of
   * 16 MiB frames; without a cap each connection may hold up to maxFrameBytes).
   */
  maxPartialFrameBytesTotal?: number;
  /** Bytes queued on a connection before it counts as not writable (Netty WRITE_BUFFER_HIGH_WATER_MARK). */
  writeBufferHighWaterMark?: number;
  /** Bytes queued below which a not-writable connection is writable again (Netty WRITE_BUFFER_LOW_WATER_MARK). */
  writeBufferLowWaterMark?: number;
  /** Bytes of one connection's queued requests before the server stops reading from it. Default 8 MiB. */
  maxPendingRequestBytesPerChannel?: number;
  /** When the response table scanner first runs and how often (RocketMQ: 3 s, then every 1 s). */
  responseTableScan?: ResponseTableScanOptions;
  /** TLS mode and material; absent means plain TCP only. */
  tls?: ServerTlsOptions;
  /**
   * How long the server waits for a connection's first bytes when it has to
   * look at them: to tell TLS from plain remoting (permissive, enforcing),
   * and for the PROXY protocol header (`proxyProtocol`). A connection that
   * sends nothing in time is closed. Default 10 s.
   */
  tlsDetectTimeoutMs?: number;
  /**
   * Accept the PROXY protocol (v1 text, v2 binary) that HAProxy and cloud
   * load balancers put in front of each connection, as RocketMQ 5.1.4+
   * servers do: `'optional'` (a connection may start with a header) or
   * `'required'` (one without is refused). The header's source address then
   * becomes the channel's remote address everywhere: events, RPC hooks,
   * processors, errors. `PROXY UNKNOWN` and v2 LOCAL (a health check) keep
   * the socket's own address. The header comes before anything else,
   * TLS included. A malformed or oversized header (v1 over 107 bytes, v2
   * over 4 KiB of addresses and TLVs) is a protocol error that closes that
   * connection. Default `'off'`: a header is reported as what it is.
   */
  proxyProtocol?: ProxyProtocolMode;
  /** Hooks run around every request served and every call made (RocketMQ's RPCHook). */
  rpcHooks?: RPCHook[];
  /** Told about connects, closes, errors and idle connections (RocketMQ's ChannelEventListener). */
  channelEventListener?: ChannelEventListener;
  /**
   * Serialization of every response; by default each mirrors its request's, as
   * RocketMQ's processors do. (RocketMQ answers an unsupported code in the
   * server's configured type instead; we mirror there too, which every peer decodes.)
   */
  responseSerializeType?: SerializeType;
  /**
   * LanguageCode announced on every command this side writes whose language
   * was left at `commandDefaults.language` (JAVA, which every RocketMQ 4.x and
   * 5.x peer decodes). `LanguageCode.NODE_JS` only for peers that know it.
   */
  language?: number;
}

/** Default of `maxPartialFrameBytesTotal`. */
export const DEFAULT_MAX_PARTIAL_FRAME_BYTES_TOTAL = 256 * 1024 * 1024;

/**
 * A gracefully shutting-down server closes its connections once this long has
 * passed without a new request (and nothing is left in flight): time for a
 * client that was told GO_AWAY to stop sending on its old connection, so no
 * request is in transit when the connection closes.
 */
const GO_AWAY_QUIET_MS = 200;

/** How {@link RemotingServer.shutdown} drains before it closes connections. */
export interface ShutdownOptions {
  /** The most time requests already accepted may take to finish before connections close, in ms. Default 5000. */
  graceMs?: number;
  /**
   * For rolling restarts. Keep reading while draining, and answer every new
   * request at once, unprocessed: GO_AWAY (1500, remark "please go away") to
   * a request whose `version` is at least GO_AWAY_MIN_VERSION (476; a
   * RemotingClient with `version: 476`, a RocketMQ 5 Java client), which
   * reconnects, to another server if it can, and sends it again; SYSTEM_BUSY
   * to older peers, which retry on their own. Oneway requests are still
   * processed (they cannot be answered). Connections close once nothing is
   * in flight and no request came for 200 ms, or at `graceMs`. Default
   * false: stop reading and let what was read finish.
   */
  graceful?: boolean;
}

/**
 * Accepts connections and serves requests with registered processors; can also
 * call its connected clients (brokers call clients too).
 */
export class RemotingServer extends RemotingService<Channel> {
  private readonly options: RemotingServerOptions;
  private readonly server: net.Server;
  private readonly tlsServer: tls.Server | null;
  private readonly channels = new Set<Channel>();
  /** Sockets whose first bytes (PROXY header, TLS detection) are awaited. */
  private readonly pendingSockets = new Set<net.Socket>();
  /** Sockets in a TLS handshake, by peer `host:port`, with the address their channel will have. */
  private readonly handshakes = new Map<string, { socket: net.Socket; remoteAddress: string }>();
  private readonly partialFrameBudget: PartialFrameBudget;
  private listening = false;
  private stopping = false;
  private shuttingDown: Promise<void> | null = null;

  constructor(options: RemotingServerOptions = {}) {
    super({
      side: 'server',
      permitsAsync: options.permitsAsync ?? 64,
      permitsOneway: options.permitsOneway ?? 256,
      responseTableScan: options.responseTableScan,
      maxPendingRequestBytesPerChannel: options.maxPendingRequestBytesPerChannel,
      pauseReadWhenUnwritable: true,
      rpcHooks: options.rpcHooks,
      channelEventListener: options.channelEventListener,
      responseSerializeType: options.responseSerializeType,
      language: options.language,
    });
    this.options = options;
    this.partialFrameBudget = new PartialFrameBudget(
      options.maxPartialFrameBytesTotal ?? DEFAULT_MAX_PARTIAL_FRAME_BYTES_TOTAL,
    );
    const mode = options.tls?.mode ?? 'disabled';
    this.tlsServer = mode === 'disabled' ? null : this.createTlsServer(options.tls as ServerTlsOptions);
    this.server = net.createServer({ noDelay: true }, (socket) => this.onConnection(socket));
  }

  /**
   * Binds and starts accepting connections (RocketMQ's start()); resolves once
   * listening. `address()` then tells the port.
   *
   * @throws Error from `net.Server.listen` (EADDRINUSE, EACCES) when the address cannot be bound.
   */
  async start(): Promise<void> {
    if (this.listening) return;
    const host = this.options.host ?? '127.0.0.1';
    await new Promise<void>((resolve, reject) => {
      this.server.once('error', reject);
      this.server.listen(this.options.port ?? 0, host, () => {
        this.server.off('error', reject);
        resolve();
      });
    });
    this.listening = true;
    this.endpoint.invoker.startScanner();
  }

  /** Where the server listens; `port` is the OS-assigned one when started with port 0. */
  address(): HostPort {
    const addr = this.server.address();
    if (addr === null || typeof addr === 'string') throw new Error('the server is not listening');
    return { host: addr.address, port: addr.port };
  }

  /** Connected client channels. */
  connections(): Channel[] {
    return [...this.channels];
  }

  /**
   * Calls a connected client over `channel` and waits for the response
   * (RocketMQ's invokeSync on the server side, e.g. a broker asking a consumer).
   * @throws RemotingTimeoutError, RemotingSendRequestError, RemotingAbortError
   */
  invokeSync(
    channel: Channel,
    request: RemotingCommand,
    timeoutMs: number,
    options?: InvokeOptions,
  ): Promise<RemotingCommand> {
    return this.endpoint.invoker.invokeSync(channel, request, timeoutMs, performance.now(), options?.signal);
  }

  /** Server-side calls: `invokeAsync(channel, ...)` (see RemotingService) runs here. */
  protected startAsync(
    channel: Channel,
    request: RemotingCommand,
    timeoutMs: number,
    callback: InvokeCallback,
    startedAt: number,
    signal: AbortSignal | undefined,
  ): void {
    this.endpoint.invoker.invokeAsync(channel, request, timeoutMs, callback, startedAt, signal);
  }

  /** Server-side oneway calls: `invokeOneway(channel, ...)` (see RemotingService), promise form. */
  protected startOneway(
    channel: Channel,
    request: RemotingCommand,
    timeoutMs: number,
    startedAt: number,
    signal: AbortSignal | undefined,
  ): Promise<void> {
    return this.endpoint.invoker.invokeOneway(channel, request, timeoutMs, startedAt, signal);
  }

  /** Server-side oneway calls, callback form. */
  protected sendOneway(
    channel: Channel,
    request: RemotingCommand,
    timeoutMs: number,
    callback: OnewayCallback,
    startedAt: number,
    signal: AbortSignal | undefined,
  ): boolean {
    return this.endpoint.invoker.sendOneway(channel, request, timeoutMs, callback, startedAt, signal);
  }

  /**
   * Resolves true once a oneway call on `channel` would go out at once (see
   * RemotingService.waitWritable); false after `timeoutMs` or once it closes.
   */
  waitWritable(channel: Channel, timeoutMs: number): Promise<boolean> {
    return this.endpoint.invoker.waitWritable(channel, timeoutMs);
  }

  /**
   * Stops accepting, lets requests already accepted finish (up to
   * `graceMs`), then closes every connection and fails the server's own calls
   * still waiting. With `graceful`, new requests meanwhile are answered
   * GO_AWAY or SYSTEM_BUSY instead of left unread (see ShutdownOptions). A
   * second call returns the first one's promise: it resolves when the server
   * is closed, not before.
   */
  shutdown(options: ShutdownOptions = {}): Promise<void> {
    this.shuttingDown ??= this.shutdownOnce(options);
    return this.shuttingDown;
  }

  private async shutdownOnce(options: ShutdownOptions): Promise<void> {
    this.stopping = true;
    const closed = new Promise<void>((resolve) => this.server.close(() => resolve()));
    for (const socket of this.pendingSockets) socket.destroy();
    for (const { socket } of this.handshakes.values()) socket.destroy();
    const deadline = performance.now() + (options.graceMs ?? 5000);
    if (options.graceful) {
      this.endpoint.dispatcher.startGoingAway();
      await this.drainGoingAway(deadline);
    } else {
      // Requests already read get their grace period; new ones stay in the socket.
      for (const channel of this.channels) channel.pauseReading('shutdown');
      for (const executor of this.endpoint.registry.executors()) {
        await executor.drain(Math.max(0, deadline - performance.now()));
      }
    }
    this.endpoint.invoker.stopScanner();
    this.endpoint.invoker.failAllCalls('the server shut down before the response arrived');
    const channelsClosed = [...this.channels].map((channel) => {
      channel.close();
      return channel.whenClosed();
    });
    await Promise.all(channelsClosed);
    if (this.listening) await closed;
    this.listening = false;
  }

  /**
   * Waits, answering GO_AWAY, until nothing is in flight and no request has
   * come for GO_AWAY_QUIET_MS, or until `deadline`. Polled: a shutdown can
   * afford a check every few milliseconds.
   */
  private async drainGoingAway(deadline: number): Promise<void> {
    const executors = this.endpoint.registry.executors();
    const dispatcher = this.endpoint.dispatcher;
    for (;;) {
      const now = performance.now();
      if (now >= deadline) return;
      const busy = executors.some((executor) => executor.active + executor.queued > 0);
      if (!busy && now - dispatcher.lastRequestAt >= GO_AWAY_QUIET_MS) return;
      await new Promise((resolve) => setTimeout(resolve, Math.min(10, deadline - now)));
    }
  }

  private createTlsServer(options: ServerTlsOptions): tls.Server {
    const { mode: _mode, ...tlsOptions } = options;
    const server = tls.createServer(tlsOptions, (secureSocket) => {
      const handshake = this.takeHandshake(secureSocket);
      // A handshake that completes during shutdown makes no channel: nobody would close it.
      if (this.stopping) secureSocket.destroy();
      else this.adopt(secureSocket, handshake?.remoteAddress);
    });
    // Handshake failures belong to one connection: reported like any connection error, and the server keeps serving.
    server.on('tlsClientError', (error, secureSocket) => {
      const handshake = this.takeHandshake(secureSocket);
      const remote =
        handshake?.remoteAddress ?? formatAddress(secureSocket.remoteAddress, secureSocket.remotePort);
      this.endpoint.connectionFailed(
        remote,
        formatAddress(secureSocket.localAddress, secureSocket.localPort),
        error,
      );
    });
    return server;
  }

  /** The handshake record of `secureSocket` (found by its peer's host:port, which its raw socket shares), removed. */
  private takeHandshake(secureSocket: net.Socket): { socket: net.Socket; remoteAddress: string } | undefined {
    const key = formatAddress(secureSocket.remoteAddress, secureSocket.remotePort);
    const handshake = this.handshakes.get(key);
    this.handshakes.delete(key);
    return handshake;
  }

  private onConnection(socket: net.Socket): void {
    if (this.stopping) {
      socket.destroy();
      return;
    }
    const mode = this.options.tls?.mode ?? 'disabled';
    const proxyProtocol = this.options.proxyProtocol ?? 'off';
    if (proxyProtocol === 'off' && (mode === 'disabled' || this.tlsServer === null)) {
      this.adopt(socket, undefined);
      return;
    }
    this.pendingSockets.add(socket);
    // An error while waiting closes the socket; readFirstBytes reports it as gone.
    socket.on('error', ignore);
    void readFirstBytes(socket, {
      proxyProtocol,
      detectTls: mode !== 'disabled' && this.tlsServer !== null,
      timeoutMs: this.options.tlsDetectTimeoutMs ?? 10_000,
    }).then((first) => this.onFirstBytes(socket, first));
  }

  /** The connection's first bytes said who it is from and how it speaks: serve it, hand it to TLS, or refuse it. */
  private onFirstBytes(socket: net.Socket, first: FirstBytes): void {
    this.pendingSockets.delete(socket);
    if (first.kind === 'gone' || this.stopping) {
      socket.destroy();
      return;
    }
    const socketAddress = formatAddress(socket.remoteAddress, socket.remotePort);
    const localAddress = formatAddress(socket.localAddress, socket.localPort);
    const source = first.proxy?.source;
    const remoteAddress = source ? formatAddress(source.address, source.port) : socketAddress;
    if (first.kind === 'refused') {
      socket.destroy();
      this.endpoint.connectionFailed(remoteAddress, localAddress, first.error);
      return;
    }
    socket.off('error', ignore);
    if (first.tls && this.tlsServer !== null) {
      this.handshakes.set(socketAddress, { socket, remoteAddress });
      socket.once('close', () => {
        if (this.handshakes.get(socketAddress)?.socket === socket) this.handshakes.delete(socketAddress);
      });
      this.tlsServer.emit('connection', socket);
      return;
    }
    if (this.options.tls?.mode === 'enforcing') {
      // Enforcing: a plain-text client is turned away, as RocketMQ's server does; say what it spoke, if we know.
      socket.destroy();
      const named = first.head.length >= 4 ? recognizeForeignProtocol(first.head) : null;
      const error = new RemotingProtocolError(
        `plain-text connection refused: this server enforces TLS${named === null ? '' : ` (${named.description})`}`,
        { foreignProtocol: named?.protocol },
      );
      this.endpoint.connectionFailed(remoteAddress, localAddress, error);
      return;
    }
    this.adopt(socket, source ? remoteAddress : undefined);
    socket.resume();
  }

  private adopt(socket: net.Socket, remoteAddress: string | undefined): void {
    const channelOptions: ChannelOptions = {
      maxFrameBytes: this.options.maxFrameBytes,
      writeBufferHighWaterMark: this.options.writeBufferHighWaterMark,
      writeBufferLowWaterMark: this.options.writeBufferLowWaterMark,
      idleTimeoutMs: (this.options.channelMaxIdleTimeSeconds ?? 120) * 1000,
      partialFrameBudget: this.partialFrameBudget,
      remoteAddress,
    };
    const channel = new Channel(socket, channelOptions);
    this.channels.add(channel);
    channel.on('close', () => this.channels.delete(channel));
    this.endpoint.attachChannel(channel);
  }
}

function ignore(): void {}
