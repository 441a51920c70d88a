import net from 'node:net';
import tls from 'node:tls';
import { RemotingConnectError } from './errors.js';

/** How {@link connectSocket} connects. */
export interface ConnectOptions {
  /** Time allowed for the TCP connect and the TLS handshake together, in milliseconds. */
  timeoutMs: number;
  /** TLS options for tls.connect; absent means plain TCP. */
  tls?: tls.ConnectionOptions;
  /** Aborts the attempt (the promise rejects with RemotingConnectError). */
  signal?: AbortSignal;
}

/** The parts of a `host:port` address. */
export interface HostPort {
  /** Host name or IP address, without brackets for IPv6. */
  host: string;
  /** TCP port, 1..65535. */
  port: number;
}

/**
 * Splits "host:port" (or "[v6]:port") into its parts, as RocketMQ's
 * RemotingHelper.string2SocketAddress does.
 *
 * @throws TypeError when the address has no host or a port outside 1..65535.
 */
export function parseAddress(address: string): HostPort {
  const match = /^\[?([^\]]*?)\]?:(\d+)$/.exec(address);
  const port = match ? Number(match[2]) : Number.NaN;
  if (!match?.[1] || !(port > 0 && port < 65536)) {
    throw new TypeError(`address must be host:port, got ${JSON.stringify(address)}`);
  }
  return { host: match[1], port };
}

/**
 * Opens a TCP (or TLS) connection, resolving once it is usable (after the TLS
 * handshake when TLS is on), or rejecting with RemotingConnectError naming the
 * address and the time it took.
 */
export function connectSocket(address: string, options: ConnectOptions): Promise<net.Socket> {
  const { host, port } = parseAddress(address);
  const started = performance.now();
  return new Promise((resolve, reject) => {
    const socket = options.tls
      ? tls.connect({ ...options.tls, host, port, servername: options.tls.servername ?? servernameFor(host) })
      : net.connect({ host, port });
    const readyEvent = options.tls ? 'secureConnect' : 'connect';
    const fail = (cause: unknown) => {
      cleanup();
      socket.destroy();
      reject(
        new RemotingConnectError(address, Math.round(performance.now() - started), options.timeoutMs, cause),
      );
    };
    const onReady = () => {
      cleanup();
      resolve(socket);
    };
    const onError = (error: Error) => fail(error);
    const onAbort = () => fail(options.signal?.reason ?? new Error('aborted'));
    const timer = setTimeout(() => fail(new Error('connect timed out')), options.timeoutMs);
    const cleanup = () => {
      clearTimeout(timer);
      socket.off(readyEvent, onReady);
      socket.off('error', onError);
      options.signal?.removeEventListener('abort', onAbort);
    };
    socket.once(readyEvent, onReady);
    socket.once('error', onError);
    if (options.signal?.aborted) onAbort();
    else options.signal?.addEventListener('abort', onAbort, { once: true });
  });
}

/** SNI must be a host name, never an IP literal. */
function servernameFor(host: string): string | undefined {
  return net.isIP(host) === 0 ? host : undefined;
}
