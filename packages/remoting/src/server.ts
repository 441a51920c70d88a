import net from 'node:net';
import tls from 'node:tls';
import type { SerializeType } from './protocol/codes.js';
import { RemotingProtocolError } from './protocol/errors.js';
import type { RemotingCommand } from './protocol/remoting-command.js';
import type { ChannelEventListener } from './remoting/events.js';
import type { InvokeOptions, ResponseTableScanOptions } from './remoting/outbound-invoker.js';
import type { RPCHook } from './remoting/processor.js';
import type { InvokeCallback } from './remoting/response-future.js';
import { RemotingService } from './remoting-service.js';
import { Channel, type ChannelOptions } from './transport/channel.js';
import type { HostPort } from './transport/connect.js';
import { PartialFrameBudget } from './transport/partial-frame-budget.js';
import { sniffTls } from './transport/tls-detect.js';

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
  /** How long a permissive/enforcing server waits for a connection's first byte. Default 10 s. */
  tlsDetectTimeoutMs?: number;
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

/** How {@link RemotingServer.shutdown} drains before it closes connections. */
export interface ShutdownOptions {
  /** How long in-flight requests may take to finish before channels are closed. Default 5000. */
  graceMs?: number;
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
  private readonly pendingSockets = new Set<net.Socket>();
  private readonly partialFrameBudget: PartialFrameBudget;
  private listening = false;
  private stopping = false;

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

  /**
   * Sends a client a request that gets no response (RocketMQ's invokeOneway),
   * under a oneway permit held until the bytes reach the socket.
   * @throws RemotingTooMuchRequestError, RemotingTimeoutError (never writable), RemotingSendRequestError, RemotingAbortError
   */
  invokeOneway(
    channel: Channel,
    request: RemotingCommand,
    timeoutMs: number,
    options?: InvokeOptions,
  ): Promise<void> {
    return this.endpoint.invoker.invokeOneway(
      channel,
      request,
      timeoutMs,
      performance.now(),
      options?.signal,
    );
  }

  /**
   * Stops accepting, lets requests already accepted finish (up to `graceMs`),
   * then closes every connection and fails calls still waiting.
   */
  async shutdown(options: ShutdownOptions = {}): Promise<void> {
    if (this.stopping) return;
    this.stopping = true;
    const closed = new Promise<void>((resolve) => this.server.close(() => resolve()));
    for (const socket of this.pendingSockets) socket.destroy();
    // Requests already read get their grace period; new ones stay in the socket.
    for (const channel of this.channels) channel.pauseReading('shutdown');
    const graceMs = options.graceMs ?? 5000;
    const deadline = performance.now() + graceMs;
    for (const executor of this.endpoint.registry.executors()) {
      await executor.drain(Math.max(0, deadline - performance.now()));
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

  private createTlsServer(options: ServerTlsOptions): tls.Server {
    const { mode: _mode, ...tlsOptions } = options;
    const server = tls.createServer(tlsOptions, (secureSocket) => this.adopt(secureSocket));
    // Handshake failures belong to one connection; report them, keep serving.
    server.on('tlsClientError', (error, socket) => {
      this.emit('exception', socket.remoteAddress ?? 'unknown', null, error);
    });
    return server;
  }

  private onConnection(socket: net.Socket): void {
    if (this.stopping) {
      socket.destroy();
      return;
    }
    const mode = this.options.tls?.mode ?? 'disabled';
    if (mode === 'disabled' || this.tlsServer === null) {
      this.adopt(socket);
      return;
    }
    const tlsServer = this.tlsServer;
    this.pendingSockets.add(socket);
    socket.on('error', () => socket.destroy());
    void sniffTls(socket, this.options.tlsDetectTimeoutMs ?? 10_000).then((isTls) => {
      this.pendingSockets.delete(socket);
      if (isTls === null || this.stopping) {
        socket.destroy();
        return;
      }
      if (isTls) {
        socket.removeAllListeners('error');
        tlsServer.emit('connection', socket);
      } else if (mode === 'permissive') {
        socket.removeAllListeners('error');
        this.adopt(socket);
        socket.resume();
      } else {
        // Enforcing: a plain-text client is turned away, as RocketMQ's server does.
        const remote = `${socket.remoteAddress ?? 'unknown'}:${socket.remotePort ?? 0}`;
        socket.destroy();
        this.emit(
          'exception',
          remote,
          null,
          new RemotingProtocolError('plain-text connection refused: this server enforces TLS'),
        );
      }
    });
  }

  private adopt(socket: net.Socket): void {
    const channelOptions: ChannelOptions = {
      maxFrameBytes: this.options.maxFrameBytes,
      writeBufferHighWaterMark: this.options.writeBufferHighWaterMark,
      writeBufferLowWaterMark: this.options.writeBufferLowWaterMark,
      idleTimeoutMs: (this.options.channelMaxIdleTimeSeconds ?? 120) * 1000,
      partialFrameBudget: this.partialFrameBudget,
    };
    const channel = new Channel(socket, channelOptions);
    this.channels.add(channel);
    channel.on('close', () => this.channels.delete(channel));
    this.endpoint.attachChannel(channel);
  }
}
