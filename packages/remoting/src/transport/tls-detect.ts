import type { Socket } from 'node:net';

/** The first byte of every TLS connection: a handshake record. */
const TLS_HANDSHAKE_RECORD = 0x16;

/**
 * Waits for a connection's first bytes and tells whether they open a TLS
 * handshake, then puts them back so whoever reads next sees the whole stream.
 * RocketMQ's permissive mode does the same with Netty's SslHandler.isEncrypted.
 * Resolves null if the socket closes (or sends nothing) within `timeoutMs`.
 */
export function sniffTls(socket: Socket, timeoutMs: number): Promise<boolean | null> {
  return new Promise((resolve) => {
    const finish = (result: boolean | null, chunk?: Buffer) => {
      clearTimeout(timer);
      socket.off('data', onData);
      socket.off('close', onClose);
      socket.off('error', onClose);
      socket.pause();
      if (chunk) socket.unshift(chunk);
      resolve(result);
    };
    const onData = (chunk: Buffer) => finish(chunk[0] === TLS_HANDSHAKE_RECORD, chunk);
    const onClose = () => finish(null);
    const timer = setTimeout(() => finish(null), timeoutMs);
    socket.on('data', onData);
    socket.once('close', onClose);
    socket.once('error', onClose);
  });
}
