import { languageName, RpcFlag, SerializeType, serializeTypeName } from './codes.js';
import { RemotingProtocolError } from './errors.js';
import { decodeJsonHeader } from './json-header.js';
import { decodeRocketMqHeader } from './rocketmq-header.js';

/** One wire field of a frame: where it starts, its bytes (a view of the frame), its name and what it means. */
/** One field of a frame as {@link explainFrame} reports it. */
export interface FrameExplanationRow {
  /** Byte offset of the field from the start of the frame (the length prefix is at 0). */
  offset: number;
  /** The field's bytes, a view into the frame. */
  bytes: Buffer;
  /** The field's name, e.g. `total length`, `opaque`, `extFields["topic"]`. */
  field: string;
  /** The decoded value, for people. */
  value: string;
}

/**
 * Splits one encoded frame (4-byte length prefix included) into its wire
 * fields, for people learning or debugging the protocol. The header is checked
 * with the real decoders first, so a malformed frame raises the same
 * RemotingProtocolError a peer would. A header-only encoding (RocketMQ's
 * encodeHeader(): the length prefix counts a body that is not in the buffer)
 * is accepted and its missing body is said so.
 */
export function explainFrame(frame: Buffer): FrameExplanationRow[] {
  if (frame.length < 8) {
    throw new RemotingProtocolError(`frame is ${frame.length} bytes; a frame needs at least 8`);
  }
  const rows: FrameExplanationRow[] = [];
  const add = (offset: number, length: number, field: string, value: string): void => {
    rows.push({ offset, bytes: frame.subarray(offset, offset + length), field, value });
  };
  const total = frame.readInt32BE(0);
  const word = frame.readUInt32BE(4);
  const serializeByte = word >>> 24;
  const headerLength = word & 0xffffff;
  if (total < 4) throw new RemotingProtocolError(`frame length ${total} is below 4`);
  if (headerLength > total - 4) {
    throw new RemotingProtocolError(
      `header length ${headerLength} does not fit in a frame of length ${total} (at most ${total - 4})`,
    );
  }
  if (8 + headerLength > frame.length) {
    throw new RemotingProtocolError(
      `header length ${headerLength} runs past the ${frame.length}-byte buffer (the header is truncated)`,
    );
  }
  const bodyLength = total - 4 - headerLength;
  add(0, 4, 'length', `${total} = 4 (header-length word) + ${headerLength} (header) + ${bodyLength} (body)`);
  if (serializeByte !== SerializeType.JSON && serializeByte !== SerializeType.ROCKETMQ) {
    throw new RemotingProtocolError(`unknown serialize type ${serializeByte} (0 = JSON, 1 = ROCKETMQ)`);
  }
  add(
    4,
    4,
    'header length word',
    `${serializeTypeName(serializeByte)} (${serializeByte}) << 24 | header length ${headerLength}`,
  );
  const header = frame.subarray(8, 8 + headerLength);
  if (serializeByte === SerializeType.JSON) {
    decodeJsonHeader(header);
    add(8, headerLength, 'JSON header', header.toString('utf8'));
  } else {
    decodeRocketMqHeader(header);
    explainRocketMqHeader(header, (offset, length, field, value) => add(8 + offset, length, field, value));
  }
  const bodyStart = 8 + headerLength;
  const present = Math.min(bodyLength, frame.length - bodyStart);
  if (bodyLength > 0) {
    if (present === 0) {
      add(bodyStart, 0, 'body', `${bodyLength} bytes counted by the length field, not in this buffer`);
    } else {
      const body = frame.subarray(bodyStart, bodyStart + present);
      const shown =
        present < bodyLength ? `${present} of ${bodyLength} bytes (truncated)` : `${bodyLength} bytes`;
      add(bodyStart, present, 'body', `${shown}${textPreview(body)}`);
    }
  }
  const end = bodyStart + present;
  if (present === bodyLength && frame.length > end) {
    add(end, frame.length - end, 'trailing bytes', `${frame.length - end} bytes after this frame ends`);
  }
  return rows;
}

type AddRow = (offset: number, length: number, field: string, value: string) => void;

/** Walks a binary header the decoder has already validated. */
function explainRocketMqHeader(h: Buffer, add: AddRow): void {
  add(0, 2, 'code', `${h.readInt16BE(0)} (int16)`);
  const language = h.readUInt8(2);
  const name = languageName(language);
  add(
    2,
    1,
    'language',
    name === 'OTHER' && language !== 7 ? `${language} (unknown)` : `${name} (${language})`,
  );
  add(3, 2, 'version', `${h.readInt16BE(3)} (int16)`);
  add(5, 4, 'opaque', String(h.readInt32BE(5)));
  add(9, 4, 'flag', describeFlag(h.readInt32BE(9)));
  const remarkLength = h.readInt32BE(13);
  add(13, 4, 'remark length', remarkLength === 0 ? '0 (no remark)' : String(remarkLength));
  let pos = 17;
  if (remarkLength > 0) {
    add(pos, remarkLength, 'remark', JSON.stringify(h.toString('utf8', pos, pos + remarkLength)));
    pos += remarkLength;
  }
  const extLength = h.readInt32BE(pos);
  add(pos, 4, 'extFields length', extLength === 0 ? '0 (no extFields)' : `${extLength} bytes of entries`);
  pos += 4;
  const extEnd = pos + extLength;
  while (pos < extEnd) {
    const keyLength = h.readInt16BE(pos);
    add(pos, 2, 'extFields key length', `${keyLength} (int16)`);
    pos += 2;
    add(pos, keyLength, 'extFields key', JSON.stringify(h.toString('utf8', pos, pos + keyLength)));
    pos += keyLength;
    const valueLength = h.readInt32BE(pos);
    add(pos, 4, 'extFields value length', `${valueLength} (int32)`);
    pos += 4;
    add(pos, valueLength, 'extFields value', JSON.stringify(h.toString('utf8', pos, pos + valueLength)));
    pos += valueLength;
  }
}

function describeFlag(flag: number): string {
  const bits = [
    flag & RpcFlag.RESPONSE ? 'RESPONSE' : 'request',
    ...(flag & RpcFlag.ONEWAY ? ['ONEWAY'] : []),
  ];
  return `${flag} (${bits.join(', ')})`;
}

/** A short quoted UTF-8 rendering of a body that is readable text; nothing for binary bodies. */
function textPreview(body: Buffer): string {
  const text = body.toString('utf8', 0, Math.min(body.length, 64));
  // biome-ignore lint/suspicious/noControlCharactersInRegex: control characters mean "not text"
  if (text.includes('\ufffd') || /[\u0000-\u0008\u000e-\u001f]/.test(text)) return '';
  return `, UTF-8 ${JSON.stringify(text)}${body.length > 64 ? '…' : ''}`;
}

/** Layout of {@link formatExplanation}'s table. */
export interface FormatExplanationOptions {
  /** Bytes shown per row before the rest is summarised. Default 256. */
  maxBytesPerRow?: number;
  /** Characters of the value column before it wraps. Default 56. */
  valueWidth?: number;
}

const BYTES_PER_LINE = 16;
const HEX_WIDTH = BYTES_PER_LINE * 3 - 1;

/**
 * A hex dump annotated field by field: offset, up to 16 bytes per line, the
 * field name and its meaning, long values wrapped beside their bytes.
 */
export function formatExplanation(
  rows: readonly FrameExplanationRow[],
  options: FormatExplanationOptions = {},
): string {
  const maxBytes = options.maxBytesPerRow ?? 256;
  const valueWidth = options.valueWidth ?? 56;
  const fieldWidth = Math.max(5, ...rows.map((row) => row.field.length));
  const lines = [
    `${'offset'.padStart(6)}  ${'bytes'.padEnd(HEX_WIDTH)}  ${'field'.padEnd(fieldWidth)}  value`,
  ];
  for (const row of rows) {
    const shown = row.bytes.subarray(0, maxBytes);
    const hexLines: Array<{ offset: number; text: string }> = [];
    for (let i = 0; i < shown.length; i += BYTES_PER_LINE) {
      hexLines.push({ offset: row.offset + i, text: hexBytes(shown.subarray(i, i + BYTES_PER_LINE)) });
    }
    if (row.bytes.length > shown.length) {
      hexLines.push({
        offset: row.offset + shown.length,
        text: `… ${row.bytes.length - shown.length} more bytes`,
      });
    }
    if (hexLines.length === 0) hexLines.push({ offset: row.offset, text: '(none)' });
    const valueLines = wrap(row.value, valueWidth);
    const count = Math.max(hexLines.length, valueLines.length);
    for (let i = 0; i < count; i++) {
      const hexLine = hexLines[i];
      const offset = hexLine === undefined ? '' : String(hexLine.offset);
      const field = i === 0 ? row.field : '';
      lines.push(
        `${offset.padStart(6)}  ${(hexLine?.text ?? '').padEnd(HEX_WIDTH)}  ${field.padEnd(fieldWidth)}  ${valueLines[i] ?? ''}`.trimEnd(),
      );
    }
  }
  return lines.join('\n');
}

function hexBytes(bytes: Buffer): string {
  return Array.from(bytes, (b) => b.toString(16).padStart(2, '0')).join(' ');
}

/**
 * Wraps at a space when one falls in the second half of the line, else hard
 * (JSON text has few spaces). Counts code points, so a surrogate pair is never cut.
 */
function wrap(text: string, width: number): string[] {
  const chars = Array.from(text);
  const out: string[] = [];
  let start = 0;
  while (chars.length - start > width) {
    let end = start + width;
    const space = chars.lastIndexOf(' ', end);
    if (space > start + width / 2) end = space + 1;
    out.push(chars.slice(start, end).join('').trimEnd());
    start = end;
  }
  out.push(chars.slice(start).join(''));
  return out;
}
