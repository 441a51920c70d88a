import type { Socket } from 'node:net';
import { RemotingProtocolError } from '../protocol/errors.js';
import { recognizeForeignProtocol } from '../protocol/foreign-protocol.js';
import { type ProxyHeader, parseProxyHeader } from '../protocol/proxy-protocol.js';

/** Whether a server expects a PROXY protocol header in front of each connection. */
export type ProxyProtocolMode = 'off' | 'optional' | 'required';

/** What a server must learn from a connection's first bytes before it can serve it. */
export interface FirstBytesOptions {
  /** Read a PROXY protocol header first (off: never; optional: if one comes; required: refuse a connection without one). */
  proxyProtocol: ProxyProtocolMode;
  /** Tell a TLS handshake from plain remoting frames (a permissive or enforcing server). */
  detectTls: boolean;
  /** How long to wait for those bytes. */
  timeoutMs: number;
}

/** What the first bytes said. */
export type FirstBytes =
  /**
   * Ready to serve: the PROXY header (if any) is consumed, every byte after it
   * is back in the socket (paused) for whoever reads next. `head` holds the
   * first of those bytes (to name a protocol a server turns away).
   */
  | {
      readonly kind: 'ready';
      readonly proxy: ProxyHeader | null;
      readonly tls: boolean;
      readonly head: Buffer;
    }
  /** The bytes are not acceptable (a malformed or missing PROXY header); close the connection. */
  | { readonly kind: 'refused'; readonly error: RemotingProtocolError; readonly proxy: ProxyHeader | null }
  /** The socket closed, failed or stayed silent for `timeoutMs` before saying enough. */
  | { readonly kind: 'gone' };

/**
 * Reads a connection's first bytes: the PROXY protocol header, then whether
 * TLS follows (RocketMQ's permissive mode looks at the first byte the same
 * way). The header is parsed by protocol/proxy-protocol.ts, however the
 * bytes are split across reads. Everything not consumed is put back in the
 * socket, which is left paused.
 */
export function readFirstBytes(socket: Socket, options: FirstBytesOptions): Promise<FirstBytes> {
  return new Promise((resolve) => {
    let gathered: Buffer = Buffer.alloc(0);
    const finish = (result: FirstBytes, rest?: Buffer) => {
      clearTimeout(timer);
      socket.off('data', onData);
      socket.off('close', onGone);
      socket.off('error', onGone);
      socket.pause();
      if (rest !== undefined && rest.length > 0) socket.unshift(rest);
      resolve(result);
    };
    const onGone = () => finish({ kind: 'gone' });
    const onData = (chunk: Buffer) => {
      gathered = gathered.length === 0 ? chunk : Buffer.concat([gathered, chunk]);
      let decision: FirstBytes | 'wait';
      try {
        decision = decide(gathered, options);
      } catch (error) {
        finish({ kind: 'refused', error: error as RemotingProtocolError, proxy: null });
        return;
      }
      if (decision === 'wait') return;
      finish(decision, decision.kind === 'ready' ? decision.head : undefined);
    };
    const timer = setTimeout(() => {
      // Silence is a closed door (a port scan, a health check); half a header is a protocol error.
      if (gathered.length === 0) finish({ kind: 'gone' });
      else {
        const error = new RemotingProtocolError(
          `the connection's first ${gathered.length} bytes did not complete a PROXY header or a TLS detection within ${options.timeoutMs} ms`,
          { streamOffset: 0 },
        );
        finish({ kind: 'refused', error, proxy: null });
      }
    }, options.timeoutMs);
    socket.on('data', onData);
    socket.once('close', onGone);
    socket.once('error', onGone);
    // The socket may have been paused by an earlier reader.
    socket.resume();
  });
}

/** What the bytes gathered so far decide; 'wait' for more. */
function decide(bytes: Buffer, options: FirstBytesOptions): FirstBytes | 'wait' {
  let proxy: ProxyHeader | null = null;
  let rest = bytes;
  if (options.proxyProtocol !== 'off') {
    const parsed = parseProxyHeader(bytes);
    if (parsed.kind === 'incomplete') return 'wait';
    if (parsed.kind === 'header') {
      proxy = parsed.header;
      rest = bytes.subarray(parsed.header.byteLength);
    } else if (options.proxyProtocol === 'required') {
      // A few more bytes name what came instead; the verdict would not change.
      if (bytes.length < 4) return 'wait';
      const named = recognizeForeignProtocol(bytes);
      const what = named === null ? 'bytes that are not one' : `instead: ${named.description}`;
      return {
        kind: 'refused',
        proxy: null,
        error: new RemotingProtocolError(
          `this server requires a PROXY protocol header first; the connection sent ${what}`,
          { streamOffset: 0, foreignProtocol: named?.protocol },
        ),
      };
    }
  }
  if (options.detectTls && rest.length === 0) return 'wait';
  return { kind: 'ready', proxy, tls: options.detectTls && rest[0] === TLS_HANDSHAKE_RECORD, head: rest };
}

/** The first byte of every TLS connection: a handshake record. */
const TLS_HANDSHAKE_RECORD = 0x16;
