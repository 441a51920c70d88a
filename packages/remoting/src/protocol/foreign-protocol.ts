/**
 * Protocols whose first bytes reach a remoting port by mistake (or come back
 * from a server that is not a remoting server). Read as a frame, each looks
 * like an absurd length ("PRI " is 1347569952, RocketMQ's most-reported
 * TooLongFrameException), so the decoder names them instead.
 *
 * - `http2`: the HTTP/2 connection preface, what a gRPC client sends first;
 * - `http1-request`: an HTTP/1 request line (GET, POST, PUT, HEAD, DELETE, OPTIONS, PATCH, CONNECT, TRACE);
 * - `http1-response`: an HTTP/1 status line, what an HTTP server answers a remoting request with;
 * - `tls-handshake`: a TLS handshake record, what a TLS client sends to a plaintext port;
 * - `tls-record`: another TLS record (an alert, say), what a TLS server answers a plaintext client with;
 * - `proxy-v1`, `proxy-v2`: a PROXY protocol header, sent by a load balancer to a server that does not expect one.
 */
export type ForeignProtocol =
  | 'http2'
  | 'http1-request'
  | 'http1-response'
  | 'tls-handshake'
  | 'tls-record'
  | 'proxy-v1'
  | 'proxy-v2';

/** What {@link recognizeForeignProtocol} found. */
export interface ForeignProtocolMatch {
  /** Which protocol the bytes open. */
  protocol: ForeignProtocol;
  /** A sentence for an error message: who is on the other end and what to do. */
  description: string;
}

/** Bytes {@link recognizeForeignProtocol} can use; more are ignored. */
export const FOREIGN_PROTOCOL_PREFIX_BYTES = 64;

/** The fewest bytes it decides on: a frame's length field. */
const MIN_BYTES = 4;

const HTTP2_PREFACE = Buffer.from('PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n', 'latin1');
const HTTP1_METHODS = ['GET', 'POST', 'PUT', 'HEAD', 'DELETE', 'OPTIONS', 'PATCH', 'CONNECT', 'TRACE'].map(
  (method) => Buffer.from(`${method} `, 'latin1'),
);
const HTTP1_STATUS = Buffer.from('HTTP/', 'latin1');
const PROXY_V1 = Buffer.from('PROXY ', 'latin1');
/** The 12-byte PROXY protocol v2 signature. */
export const PROXY_V2_SIGNATURE = Buffer.from([
  0x0d, 0x0a, 0x0d, 0x0a, 0x00, 0x0d, 0x0a, 0x51, 0x55, 0x49, 0x54, 0x0a,
]);
/** TLS record content types: change_cipher_spec, alert, handshake, application_data. */
const TLS_ALERT = 0x15;
const TLS_HANDSHAKE = 0x16;
const TLS_RECORD_TYPES = new Set([0x14, TLS_ALERT, TLS_HANDSHAKE, 0x17]);

/**
 * Names the protocol the first bytes of a connection open, when they are
 * not a remoting frame; null when they open none it knows. Pure: give it
 * at least 4 bytes (a frame's length field), ideally up to 64, from the start
 * of the stream. Each signature is compared over the bytes given, so 4 bytes
 * (say "PRI ") are enough and more only sharpen the description.
 */
export function recognizeForeignProtocol(prefix: Buffer): ForeignProtocolMatch | null {
  if (prefix.length < MIN_BYTES) return null;
  const head = prefix.subarray(0, FOREIGN_PROTOCOL_PREFIX_BYTES);
  if (startsLike(head, HTTP2_PREFACE)) {
    return {
      protocol: 'http2',
      description:
        'an HTTP/2 (gRPC?) client connected to a remoting port: it sent the HTTP/2 connection preface',
    };
  }
  if (startsLike(head, PROXY_V1)) {
    return {
      protocol: 'proxy-v1',
      description: `a PROXY protocol v1 header arrived (${quoteLine(head)}) but this side does not expect one (see the server's proxyProtocol option)`,
    };
  }
  if (startsLike(head, PROXY_V2_SIGNATURE)) {
    return {
      protocol: 'proxy-v2',
      description:
        "a PROXY protocol v2 header arrived but this side does not expect one (see the server's proxyProtocol option)",
    };
  }
  if (HTTP1_METHODS.some((method) => startsLike(head, method))) {
    return {
      protocol: 'http1-request',
      description: `an HTTP/1 client connected to a remoting port: it sent ${quoteLine(head)}`,
    };
  }
  if (startsLike(head, HTTP1_STATUS)) {
    return {
      protocol: 'http1-response',
      description: `the peer is an HTTP server, not a remoting server: it answered ${quoteLine(head)}`,
    };
  }
  if (isTlsRecord(head)) {
    if (head[0] === TLS_HANDSHAKE) {
      return {
        protocol: 'tls-handshake',
        description:
          'a TLS client connected to a plaintext remoting connection: it sent a TLS handshake ' +
          '(enable TLS on this side, permissive or enforcing, or connect without TLS)',
      };
    }
    return {
      protocol: 'tls-record',
      description: `the peer speaks TLS: it sent a TLS ${head[0] === TLS_ALERT ? 'alert' : 'record'} on a plaintext connection (connect with TLS)`,
    };
  }
  return null;
}

/** Whether `head` and `signature` agree on every byte both have. */
function startsLike(head: Buffer, signature: Buffer): boolean {
  const n = Math.min(head.length, signature.length);
  return head.compare(signature, 0, n, 0, n) === 0;
}

/** A TLS record header: content type, then protocol version 3.0 (SSL 3) to 3.4. */
function isTlsRecord(head: Buffer): boolean {
  return TLS_RECORD_TYPES.has(head[0] as number) && head[1] === 0x03 && (head[2] as number) <= 0x04;
}

/** The first line of `head` as a quoted string, non-printable bytes escaped; "…" when cut short. */
function quoteLine(head: Buffer): string {
  let end = head.indexOf(0x0d);
  const complete = end >= 0;
  if (!complete) end = head.length;
  let text = '';
  for (const byte of head.subarray(0, end)) {
    text +=
      byte >= 0x20 && byte < 0x7f ? String.fromCharCode(byte) : `\\x${byte.toString(16).padStart(2, '0')}`;
  }
  return `"${text}${complete ? '' : '…'}"`;
}
