import { isIPv4, isIPv6 } from 'node:net';
import { RemotingProtocolError } from './errors.js';
import { PROXY_V2_SIGNATURE } from './foreign-protocol.js';

/**
 * The PROXY protocol header a load balancer (HAProxy, AWS NLB, ...) puts in
 * front of a connection to tell the server who the client really is
 * (https://www.haproxy.org/download/2.9/doc/proxy-protocol.txt). Version 1
 * is a text line, version 2 a binary block; both come before any other byte
 * of the connection, TLS ClientHello included.
 */
export interface ProxyHeader {
  /** 1 (text) or 2 (binary). */
  readonly version: 1 | 2;
  /**
   * `PROXY`: the connection is relayed and `source` is the client. `LOCAL`:
   * the proxy's own connection (a health check; v2 LOCAL, v1 `UNKNOWN`);
   * the socket's own addresses stand.
   */
  readonly command: 'PROXY' | 'LOCAL';
  /** The client's address and port; null for LOCAL, and for addresses that are not IP (v2 UNSPEC or UNIX). */
  readonly source: ProxyAddress | null;
  /** The address and port the client connected to, at the proxy; null as `source` is. */
  readonly destination: ProxyAddress | null;
  /** v2 type-length-value extensions, in order (AWS VPC endpoint id, TLS details, ...); empty for v1. */
  readonly tlvs: readonly ProxyTlv[];
  /** Bytes the header took on the wire. */
  readonly byteLength: number;
}

/** One endpoint named in a PROXY header. */
export interface ProxyAddress {
  /** An IPv4 or IPv6 address, as Node prints one ("203.0.113.7", "2001:db8::1"). */
  readonly address: string;
  /** TCP port, 0..65535. */
  readonly port: number;
}

/** One v2 TLV: a type byte and its value. */
export interface ProxyTlv {
  readonly type: number;
  readonly value: Buffer;
}

/** What {@link parseProxyHeader} found at the start of a stream. */
export type ProxyParse =
  /** A whole header, `header.byteLength` bytes long. */
  | { readonly kind: 'header'; readonly header: ProxyHeader }
  /** The stream does not start with a PROXY header. */
  | { readonly kind: 'absent' }
  /** It may: more bytes are needed to tell. */
  | { readonly kind: 'incomplete' };

/** The longest v1 header, CRLF included (the spec's bound: "PROXY TCP6" with two full IPv6 addresses and ports). */
export const PROXY_V1_MAX_BYTES = 107;
/**
 * The longest v2 header accepted: the 16-byte fixed part plus 4 KiB of
 * addresses and TLVs. The length field allows 64 KiB; load balancers send
 * well under 1 KiB (HAProxy's TLS TLVs, AWS's VPC endpoint id), and a peer
 * that has not been identified yet gets no bigger buffer than that.
 */
export const PROXY_V2_MAX_BYTES = 16 + 4096;

const V1_PREFIX = Buffer.from('PROXY ', 'latin1');
const CR = 0x0d;
const LF = 0x0a;

/**
 * Reads a PROXY protocol header (v1 or v2) at the start of `bytes`, the
 * first bytes of a connection as they have arrived so far. Pure: feed it the
 * bytes gathered so far, as often as new ones come.
 *
 * @throws RemotingProtocolError when the bytes start like a header but are not a valid one, or one longer than
 *   PROXY_V1_MAX_BYTES / PROXY_V2_MAX_BYTES.
 */
export function parseProxyHeader(bytes: Buffer): ProxyParse {
  if (startsLike(bytes, V1_PREFIX)) return bytes.length < V1_PREFIX.length ? INCOMPLETE : parseV1(bytes);
  if (startsLike(bytes, PROXY_V2_SIGNATURE)) {
    return bytes.length < PROXY_V2_SIGNATURE.length ? INCOMPLETE : parseV2(bytes);
  }
  return ABSENT;
}

const INCOMPLETE: ProxyParse = { kind: 'incomplete' };
const ABSENT: ProxyParse = { kind: 'absent' };

function parseV1(bytes: Buffer): ProxyParse {
  const end = bytes.subarray(0, PROXY_V1_MAX_BYTES).indexOf(CR);
  if (end < 0 || end + 1 >= bytes.length) {
    if (bytes.length >= PROXY_V1_MAX_BYTES) {
      throw malformed(
        `a PROXY v1 header has no CRLF within ${PROXY_V1_MAX_BYTES} bytes (the protocol's limit)`,
      );
    }
    const lf = bytes.indexOf(LF);
    if (lf >= 0 && (end < 0 || lf < end)) throw malformed('a PROXY v1 header ends in LF without CR');
    return INCOMPLETE;
  }
  if (bytes[end + 1] !== LF) throw malformed('a PROXY v1 header has CR not followed by LF');
  const line = bytes.toString('latin1', 0, end);
  const fields = line.split(' ');
  const byteLength = end + 2;
  if (fields[1] === 'UNKNOWN') return header({ version: 1, command: 'LOCAL', byteLength });
  if (fields.length !== 6) throw malformed(`a PROXY v1 header needs 6 fields, got ${quote(line)}`);
  const [, family, sourceAddress, destinationAddress, sourcePort, destinationPort] = fields as [
    string,
    string,
    string,
    string,
    string,
    string,
  ];
  const isFamily = family === 'TCP4' ? isIPv4 : family === 'TCP6' ? isIPv6 : null;
  if (isFamily === null)
    throw malformed(`a PROXY v1 header names family ${quote(family)} (TCP4, TCP6 or UNKNOWN)`);
  for (const address of [sourceAddress, destinationAddress]) {
    if (!isFamily(address)) throw malformed(`a PROXY v1 ${family} header carries address ${quote(address)}`);
  }
  return header({
    version: 1,
    command: 'PROXY',
    source: { address: sourceAddress, port: v1Port(sourcePort) },
    destination: { address: destinationAddress, port: v1Port(destinationPort) },
    byteLength,
  });
}

function v1Port(text: string): number {
  if (!/^(0|[1-9][0-9]{0,4})$/.test(text) || Number(text) > 65535) {
    throw malformed(`a PROXY v1 header carries port ${quote(text)} (0..65535, no leading zeros)`);
  }
  return Number(text);
}

/** Family nibble → bytes of its address block (source, destination, then ports for IP). */
const V2_ADDRESS_BYTES: Record<number, number> = { 0: 0, 1: 12, 2: 36, 3: 216 };

function parseV2(bytes: Buffer): ProxyParse {
  if (bytes.length < 16) return INCOMPLETE;
  const versionCommand = bytes[12] as number;
  if (versionCommand >> 4 !== 2)
    throw malformed(`a PROXY v2 header has version ${versionCommand >> 4}, not 2`);
  const commandBits = versionCommand & 0x0f;
  if (commandBits > 1) throw malformed(`a PROXY v2 header has command ${commandBits} (0 LOCAL, 1 PROXY)`);
  const familyByte = bytes[13] as number;
  const family = familyByte >> 4;
  const transport = familyByte & 0x0f;
  const addressBytes = V2_ADDRESS_BYTES[family];
  if (addressBytes === undefined || transport > 2) {
    throw malformed(`a PROXY v2 header has address family/transport byte 0x${familyByte.toString(16)}`);
  }
  const length = bytes.readUInt16BE(14);
  const byteLength = 16 + length;
  if (byteLength > PROXY_V2_MAX_BYTES) {
    throw malformed(
      `a PROXY v2 header announces ${byteLength} bytes; at most ${PROXY_V2_MAX_BYTES} are accepted`,
    );
  }
  if (bytes.length < byteLength) return INCOMPLETE;
  if (length < addressBytes) {
    throw malformed(`a PROXY v2 header's ${length} bytes cannot hold its ${addressBytes}-byte address block`);
  }
  const tlvs = parseTlvs(bytes.subarray(16 + addressBytes, byteLength));
  // LOCAL, UNSPEC and UNIX name no IP endpoint: the socket's own addresses stand.
  if (commandBits === 0 || family === 0x0 || family === 0x3) {
    return header({ version: 2, command: commandBits === 0 ? 'LOCAL' : 'PROXY', tlvs, byteLength });
  }
  const block = bytes.subarray(16, 16 + addressBytes);
  const ipBytes = family === 0x1 ? 4 : 16;
  return header({
    version: 2,
    command: 'PROXY',
    source: { address: formatIp(block.subarray(0, ipBytes)), port: block.readUInt16BE(2 * ipBytes) },
    destination: {
      address: formatIp(block.subarray(ipBytes, 2 * ipBytes)),
      port: block.readUInt16BE(2 * ipBytes + 2),
    },
    tlvs,
    byteLength,
  });
}

function parseTlvs(bytes: Buffer): ProxyTlv[] {
  const tlvs: ProxyTlv[] = [];
  let pos = 0;
  while (pos < bytes.length) {
    if (pos + 3 > bytes.length) throw malformed(`a PROXY v2 TLV at offset ${pos} is cut short`);
    const type = bytes[pos] as number;
    const length = bytes.readUInt16BE(pos + 1);
    if (pos + 3 + length > bytes.length) {
      throw malformed(`a PROXY v2 TLV of type 0x${type.toString(16)} runs past the header (${length} bytes)`);
    }
    tlvs.push({ type, value: Buffer.from(bytes.subarray(pos + 3, pos + 3 + length)) });
    pos += 3 + length;
  }
  return tlvs;
}

/** An IPv4 (4 bytes) or IPv6 (16 bytes) address as Node prints one: RFC 5952's compressed form. */
function formatIp(bytes: Buffer): string {
  if (bytes.length === 4) return bytes.join('.');
  const groups: number[] = [];
  for (let i = 0; i < 16; i += 2) groups.push(bytes.readUInt16BE(i));
  if (groups.slice(0, 5).every((g) => g === 0) && groups[5] === 0xffff) {
    return `::ffff:${bytes.subarray(12).join('.')}`;
  }
  // The longest run of two or more zero groups becomes "::" (the first such run on a tie).
  let bestStart = -1;
  let bestLength = 1;
  for (let i = 0; i < 8; ) {
    if (groups[i] !== 0) {
      i += 1;
      continue;
    }
    let j = i;
    while (j < 8 && groups[j] === 0) j += 1;
    if (j - i > bestLength) {
      bestStart = i;
      bestLength = j - i;
    }
    i = j;
  }
  const hex = groups.map((g) => g.toString(16));
  if (bestStart < 0) return hex.join(':');
  return `${hex.slice(0, bestStart).join(':')}::${hex.slice(bestStart + bestLength).join(':')}`;
}

function header(
  fields: Partial<ProxyHeader> & Pick<ProxyHeader, 'version' | 'command' | 'byteLength'>,
): ProxyParse {
  return {
    kind: 'header',
    header: { source: null, destination: null, tlvs: [], ...fields },
  };
}

function startsLike(bytes: Buffer, signature: Buffer): boolean {
  const n = Math.min(bytes.length, signature.length);
  return bytes.compare(signature, 0, n, 0, n) === 0;
}

function quote(text: string): string {
  return JSON.stringify(text.length > 60 ? `${text.slice(0, 60)}…` : text);
}

function malformed(message: string): RemotingProtocolError {
  return new RemotingProtocolError(message, { streamOffset: 0 });
}
