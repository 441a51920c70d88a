import { readInt16At, readInt32At, writeInt16At, writeInt32At } from './big-endian.js';
import { RemotingEncodeError, RemotingProtocolError } from './errors.js';
import type { HeaderFields } from './header-fields.js';

/** code(2) language(1) version(2) opaque(4) flag(4) remarkLength(4) extFieldsLength(4). */
const FIXED_BYTES = 21;

/**
 * RocketMQ's binary header (RocketMQSerializable), big-endian. code and version
 * travel as int16 and read back signed, exactly as Java's short does; a value
 * outside -32768..32767 is refused (RemotingEncodeError) where Java would
 * truncate it. An empty remark or extFields map is written as length 0 and so
 * reads back as null.
 *
 * Empty strings follow Java: its reader turns a zero-length string into null
 * and its writer skips null keys and values, so an extFields entry with an
 * empty key or value cannot cross a Java hop. We drop such entries both when
 * writing and when reading, so what a remoting-ts peer sees is what a Java
 * peer would. (The JSON header keeps "" in both directions, as fastjson does.)
 */
export function encodeRocketMqHeader(h: HeaderFields, reserve = 0): Buffer {
  // `reserve` free bytes come first, so the frame head is written in place with no second copy.
  const out = Buffer.allocUnsafe(reserve + rocketMqHeaderBytes(h));
  writeRocketMqHeader(h, out, reserve);
  return out;
}

/** The encoded size of `h` as a binary header. */
export function rocketMqHeaderBytes(h: HeaderFields): number {
  let bytes = FIXED_BYTES;
  if (h.remark) bytes += Buffer.byteLength(h.remark, 'utf8');
  if (h.extFields !== null) {
    for (const [key, value] of h.extFields) {
      if (key === '' || value === '') continue;
      bytes += 2 + Buffer.byteLength(key, 'utf8') + 4 + Buffer.byteLength(value, 'utf8');
    }
  }
  return bytes;
}

/**
 * Writes `h` as a binary header at `offset`; `out` must have room for
 * `rocketMqHeaderBytes(h)` bytes there. Returns the offset after the header.
 */
export function writeRocketMqHeader(h: HeaderFields, out: Buffer, offset: number): number {
  checkInt16Fields(h);
  let pos = writeInt16At(out, offset, h.code);
  out[pos++] = h.language & 0xff;
  pos = writeInt16At(out, pos, h.version);
  pos = writeInt32At(out, pos, h.opaque);
  pos = writeInt32At(out, pos, h.flag);
  if (h.remark) {
    const remarkBytes = out.write(h.remark, pos + 4, 'utf8');
    writeInt32At(out, pos, remarkBytes);
    pos += 4 + remarkBytes;
  } else {
    pos = writeInt32At(out, pos, 0);
  }
  const extStart = pos;
  pos += 4;
  if (h.extFields !== null) {
    for (const [key, value] of h.extFields) {
      if (key === '' || value === '') continue;
      const keyStart = pos + 2;
      const keyBytes = out.write(key, keyStart, 'utf8');
      if (keyBytes > 0x7fff) {
        throw new RemotingEncodeError(
          'extFields key',
          keyBytes,
          `an extFields key of ${keyBytes} bytes does not fit the ROCKETMQ binary header, which allows at most 32767; ` +
            'JSON serialization carries it; nothing was written',
        );
      }
      writeInt16At(out, pos, keyBytes);
      pos = keyStart + keyBytes;
      const valueStart = pos + 4;
      const valueBytes = out.write(value, valueStart, 'utf8');
      writeInt32At(out, pos, valueBytes);
      pos = valueStart + valueBytes;
    }
  }
  writeInt32At(out, extStart, pos - extStart - 4);
  return pos;
}

/** Whether `h` has a code and a version the binary header can carry (int16). */
export function fitsRocketMqHeader(h: Pick<HeaderFields, 'code' | 'version'>): boolean {
  return isInt16(h.code) && isInt16(h.version);
}

/** @throws RemotingEncodeError when code or version is outside int16. */
function checkInt16Fields(h: HeaderFields): void {
  if (isInt16(h.code) && isInt16(h.version)) return;
  const field = isInt16(h.code) ? 'version' : 'code';
  const value = field === 'code' ? h.code : h.version;
  const kind = (h.flag & 1) === 1 ? 'response' : 'request';
  throw new RemotingEncodeError(
    field,
    value,
    `${kind} ${field} ${value} does not fit the ROCKETMQ binary header, which carries it as an int16 ` +
      `(-32768..32767); JSON serialization carries it (serializeType = SerializeType.JSON); nothing was written`,
  );
}

function isInt16(value: number): boolean {
  return value === (value << 16) >> 16;
}

/**
 * Reads a binary header (the bytes after the header-length word).
 *
 * @throws RemotingProtocolError when a length is negative or runs past the header.
 */
export function decodeRocketMqHeader(
  bytes: Buffer,
  streamOffset?: number,
  start = 0,
  end = bytes.length,
  into?: HeaderFields,
): HeaderFields {
  // Offsets below are within the header (as error messages give them); `at` maps them into `bytes`.
  const size = end - start;
  const at = start;
  need(size, streamOffset, 0, FIXED_BYTES - 8, 'fixed fields');
  const code = readInt16At(bytes, at);
  const language = bytes[at + 2] as number;
  const version = readInt16At(bytes, at + 3);
  const opaque = readInt32At(bytes, at + 5);
  const flag = readInt32At(bytes, at + 9);
  let pos = 13;
  need(size, streamOffset, pos, 4, 'remark length');
  const remarkLength = readInt32At(bytes, at + pos);
  pos += 4;
  let remark: string | null = null;
  if (remarkLength < 0) {
    throw new RemotingProtocolError(`binary header remark length is negative (${remarkLength})`, {
      streamOffset,
    });
  }
  if (remarkLength > 0) {
    need(size, streamOffset, pos, remarkLength, 'remark');
    remark = bytes.toString('utf8', at + pos, at + pos + remarkLength);
    pos += remarkLength;
  }
  need(size, streamOffset, pos, 4, 'extFields length');
  const extLength = readInt32At(bytes, at + pos);
  pos += 4;
  let extFields: Map<string, string> | null = null;
  if (extLength < 0 || pos + extLength > size) {
    throw new RemotingProtocolError(
      `binary header extFields length ${extLength} overruns the header (${size - pos} bytes left at header offset ${pos})`,
      { streamOffset },
    );
  }
  if (extLength > 0) {
    extFields = new Map();
    const extEnd = pos + extLength;
    while (pos < extEnd) {
      if (pos + 2 > extEnd) throw overrun('key length', pos, streamOffset);
      const keyLength = readInt16At(bytes, at + pos);
      pos += 2;
      if (keyLength < 0 || pos + keyLength > extEnd) throw overrun('key', pos, streamOffset);
      const key = bytes.toString('utf8', at + pos, at + pos + keyLength);
      pos += keyLength;
      if (pos + 4 > extEnd) throw overrun('value length', pos, streamOffset);
      const valueLength = readInt32At(bytes, at + pos);
      pos += 4;
      if (valueLength < 0 || pos + valueLength > extEnd) throw overrun('value', pos, streamOffset);
      // Java reads a zero-length key or value as null and never writes one back: absent.
      if (keyLength > 0 && valueLength > 0)
        extFields.set(key, bytes.toString('utf8', at + pos, at + pos + valueLength));
      pos += valueLength;
    }
    if (extFields.size === 0) extFields = null;
  }
  if (into === undefined) return { code, language, version, opaque, flag, remark, extFields };
  // Filling the caller's object (a RemotingCommand) spares one object per frame.
  into.code = code;
  into.language = language;
  into.version = version;
  into.opaque = opaque;
  into.flag = flag;
  into.remark = remark;
  into.extFields = extFields;
  return into;
}

/** Throws unless `count` bytes from header offset `pos` lie within a header of `end` bytes. */
function need(end: number, streamOffset: number | undefined, pos: number, count: number, what: string): void {
  if (pos + count > end) {
    throw new RemotingProtocolError(
      `binary header truncated: ${what} needs ${count} bytes at header offset ${pos} but the header is ${end} bytes`,
      { streamOffset },
    );
  }
}

function overrun(what: string, pos: number, streamOffset?: number): RemotingProtocolError {
  return new RemotingProtocolError(
    `binary header extFields entry ${what} at header offset ${pos} overruns extFields`,
    {
      streamOffset,
    },
  );
}
