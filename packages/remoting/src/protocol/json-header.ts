import { LanguageCode, languageFromName, languageName } from './codes.js';
import { RemotingProtocolError } from './errors.js';
import { scanFastjsonHeader } from './fastjson-header-scanner.js';
import type { HeaderFields } from './header-fields.js';
import { readShapedHeader, rememberDecodedShape, shapeOf } from './json-header-shapes.js';

/**
 * Writes the header as fastjson does for RemotingCommand: keys sorted by name,
 * no whitespace, null fields omitted, enums by name, strings escaped the
 * fastjson way (see `quote`), so Java peers and we produce the same bytes.
 */
export function encodeJsonHeader(h: HeaderFields, reserve = 0): Buffer {
  const json = jsonHeaderText(h);
  // Written straight after `reserve` free bytes, so the frame head needs no second copy.
  const out = Buffer.allocUnsafe(reserve + Buffer.byteLength(json, 'utf8'));
  out.write(json, reserve, 'utf8');
  return out;
}

/** The JSON header as text, before UTF-8 encoding (see `encodeJsonHeader`). */
export function jsonHeaderText(h: HeaderFields): string {
  let json = `{"code":${h.code | 0}`;
  if (h.extFields !== null) {
    json += ',"extFields":{';
    let first = true;
    for (const [key, value] of h.extFields) {
      json += `${first ? '' : ','}${quote(key)}:${quote(value)}`;
      first = false;
    }
    json += '}';
  }
  json += `,"flag":${h.flag | 0},"language":"${languageName(h.language)}","opaque":${h.opaque | 0}`;
  if (h.remark !== null) json += `,"remark":${quote(h.remark)}`;
  json += `,"serializeTypeCurrentRPC":"JSON","version":${h.version | 0}}`;
  return json;
}

const ascii = (text: string): Uint8Array => Uint8Array.from(text, (ch) => ch.charCodeAt(0));
const OPEN_CODE = ascii('{"code":');
const OPEN_EXT_FIELDS = ascii(',"extFields":{');
const FLAG = ascii(',"flag":');
const LANGUAGE = ascii(',"language":"');
const OPAQUE = ascii('","opaque":');
const REMARK = ascii(',"remark":');
const SERIALIZE_TYPE_AND_VERSION = ascii(',"serializeTypeCurrentRPC":"JSON","version":');
/** The fixed parts of a header, four int32s (11 bytes at most each) and the closing brace. */
const FIXED_BOUND =
  OPEN_CODE.length +
  FLAG.length +
  LANGUAGE.length +
  OPAQUE.length +
  SERIALIZE_TYPE_AND_VERSION.length +
  4 * 11 +
  1;
const languageBytes = new Map<number, Uint8Array>();

function languageNameBytes(language: number): Uint8Array {
  let bytes = languageBytes.get(language);
  if (bytes === undefined) {
    bytes = ascii(languageName(language));
    languageBytes.set(language, bytes);
  }
  return bytes;
}

/** Writes the decimal digits of an int32 at `pos`; the offset after them. */
function writeInt(target: Buffer, pos: number, value: number): number {
  let n = value | 0;
  if (n < 0) {
    target[pos++] = 0x2d;
    // -2147483648 has no positive int32; a double holds it exactly, and >>> 0 divides it as uint32.
    n = -n;
  }
  let digits = 1;
  for (let rest = n; rest >= 10; rest = (rest / 10) >>> 0) digits++;
  const end = pos + digits;
  for (let i = end - 1; i > pos; i--) {
    const quotient = (n / 10) >>> 0;
    target[i] = 0x30 + n - quotient * 10;
    n = quotient;
  }
  target[pos] = 0x30 + n;
  return end;
}

/**
 * Writes the header as `encodeJsonHeader` would, straight into `target` at
 * `offset`, with no intermediate string for its fixed fields (extFields and
 * remark, when present, go through `quote`; a header with neither is copied
 * from its cached shape). Returns the offset after the
 * header; when it would not leave `after` bytes free behind it, writes
 * nothing and returns the negative of the header's size.
 */
export function writeJsonHeader(h: HeaderFields, target: Buffer, offset: number, after = 0): number {
  if (h.extFields === null && h.remark === null) {
    const shape = shapeOf(h);
    // An opaque is at most 11 characters ("-2147483648").
    if (offset + shape.beforeOpaque.length + 11 + shape.afterOpaque.length + after <= target.length) {
      target.set(shape.beforeOpaque.bytes, offset);
      const pos = writeInt(target, offset + shape.beforeOpaque.length, h.opaque);
      target.set(shape.afterOpaque.bytes, pos);
      return pos + shape.afterOpaque.length;
    }
  }
  let extText: string | null = null;
  if (h.extFields !== null) {
    extText = '';
    let first = true;
    for (const [key, value] of h.extFields) {
      extText += `${first ? '' : ','}${quote(key)}:${quote(value)}`;
      first = false;
    }
  }
  const remarkText = h.remark === null ? null : quote(h.remark);
  const language = languageNameBytes(h.language);
  // A UTF-16 unit is at most 3 UTF-8 bytes.
  const bound =
    FIXED_BOUND +
    language.length +
    (extText === null ? 0 : OPEN_EXT_FIELDS.length + 3 * extText.length + 1) +
    (remarkText === null ? 0 : REMARK.length + 3 * remarkText.length);
  if (offset + bound + after > target.length) {
    const exact = Buffer.byteLength(jsonHeaderText(h), 'utf8');
    if (offset + exact + after > target.length) return -exact;
  }
  let pos = offset;
  target.set(OPEN_CODE, pos);
  pos = writeInt(target, pos + OPEN_CODE.length, h.code);
  if (extText !== null) {
    target.set(OPEN_EXT_FIELDS, pos);
    pos += OPEN_EXT_FIELDS.length;
    pos += target.write(extText, pos, 'utf8');
    target[pos++] = 0x7d;
  }
  target.set(FLAG, pos);
  pos = writeInt(target, pos + FLAG.length, h.flag);
  target.set(LANGUAGE, pos);
  pos += LANGUAGE.length;
  target.set(language, pos);
  pos += language.length;
  target.set(OPAQUE, pos);
  pos = writeInt(target, pos + OPAQUE.length, h.opaque);
  if (remarkText !== null) {
    target.set(REMARK, pos);
    pos += REMARK.length;
    pos += target.write(remarkText, pos, 'utf8');
  }
  target.set(SERIALIZE_TYPE_AND_VERSION, pos);
  pos = writeInt(target, pos + SERIALIZE_TYPE_AND_VERSION.length, h.version);
  target[pos++] = 0x7d;
  return pos;
}

/** Characters fastjson escapes differently from JSON.stringify (or that JSON.stringify leaves raw). */
// biome-ignore lint/suspicious/noControlCharactersInRegex: matching control characters is the point
const FASTJSON_SPECIAL = /[\u0000-\u001f\u007f-\u009f\u2028\u2029]/;
/** Anything JSON or fastjson escapes, and lone surrogates (JSON.stringify escapes those). */
// biome-ignore lint/suspicious/noControlCharactersInRegex: matching control characters is the point
const NEEDS_ESCAPING = /["\\\u0000-\u001f\u007f-\u009f\u2028\u2029\ud800-\udfff]/;
const SHORT_ESCAPES: Record<string, string> = {
  '\b': '\\b',
  '\t': '\\t',
  '\n': '\\n',
  '\f': '\\f',
  '\r': '\\r',
};

/**
 * A JSON string literal as fastjson writes it: JSON.stringify's output except
 * that other control characters use upper-case hex (\u000B, not \u000b) and
 * U+007F..U+009F, U+2028 and U+2029 are escaped too. The native path covers
 * almost every string; the loop runs only when such a character is present.
 */
function quote(text: string): string {
  if (!NEEDS_ESCAPING.test(text)) return `"${text}"`;
  if (!FASTJSON_SPECIAL.test(text)) return JSON.stringify(text);
  let out = '"';
  for (const ch of text) {
    const cp = ch.codePointAt(0) as number;
    if (ch === '"') out += '\\"';
    else if (ch === '\\') out += '\\\\';
    else if (SHORT_ESCAPES[ch] !== undefined) out += SHORT_ESCAPES[ch];
    else if (cp < 0x20 || (cp >= 0x7f && cp <= 0x9f) || cp === 0x2028 || cp === 0x2029) {
      out += `\\u${cp.toString(16).toUpperCase().padStart(4, '0')}`;
    } else out += ch;
  }
  return `${out}"`;
}

/**
 * Reads a JSON header by field name. Field order and unknown fields do not
 * matter (peers differ in both). extFields values that JavaScript peers send
 * as numbers or booleans are read as their string form.
 */
export function decodeJsonHeader(
  bytes: Buffer,
  streamOffset?: number,
  start = 0,
  end = bytes.length,
  into?: HeaderFields,
): HeaderFields {
  if (into !== undefined && readShapedHeader(bytes, start, end, into)) return into;
  const scanned = scanFastjsonHeader(bytes, start, end, into);
  if (scanned !== null) {
    rememberDecodedShape(scanned, bytes, start, end);
    return scanned;
  }
  const parsed = parseJsonHeader(
    start === 0 && end === bytes.length ? bytes : bytes.subarray(start, end),
    streamOffset,
  );
  if (into === undefined) return parsed;
  into.code = parsed.code;
  into.language = parsed.language;
  into.version = parsed.version;
  into.opaque = parsed.opaque;
  into.flag = parsed.flag;
  into.remark = parsed.remark;
  into.extFields = parsed.extFields;
  return into;
}

/** The general path: JSON.parse, then each field by name. Accepts any valid header; names what is wrong with an invalid one. */
export function parseJsonHeader(bytes: Buffer, streamOffset?: number): HeaderFields {
  let parsed: unknown;
  try {
    parsed = JSON.parse(bytes.toString('utf8'));
  } catch (cause) {
    throw new RemotingProtocolError(`JSON header is not valid JSON: ${(cause as Error).message}`, {
      streamOffset,
      cause,
    });
  }
  if (parsed === null || typeof parsed !== 'object' || Array.isArray(parsed)) {
    throw new RemotingProtocolError('JSON header is not a JSON object', { streamOffset });
  }
  const obj = parsed as Record<string, unknown>;
  return {
    code: readInt(obj, 'code', 0, streamOffset),
    language: readLanguage(own(obj, 'language'), streamOffset),
    version: readInt(obj, 'version', 0, streamOffset),
    opaque: readInt(obj, 'opaque', 0, streamOffset),
    flag: readInt(obj, 'flag', 0, streamOffset),
    remark: readRemark(own(obj, 'remark'), streamOffset),
    extFields: readExtFields(own(obj, 'extFields'), streamOffset),
  };
}

/** A header field only when the peer sent it: never one inherited from Object.prototype. */
function own(obj: Record<string, unknown>, name: string): unknown {
  return Object.hasOwn(obj, name) ? obj[name] : undefined;
}

function readInt(obj: Record<string, unknown>, name: string, absent: number, streamOffset?: number): number {
  const value = own(obj, name);
  if (value === undefined || value === null) return absent;
  if (typeof value === 'number' && Number.isInteger(value)) return value | 0;
  if (typeof value === 'string' && /^-?\d+$/.test(value)) return Number(value) | 0;
  throw new RemotingProtocolError(`JSON header field "${name}" is not an integer: ${JSON.stringify(value)}`, {
    streamOffset,
  });
}

function readLanguage(value: unknown, streamOffset?: number): number {
  if (value === undefined || value === null) return LanguageCode.JAVA;
  if (typeof value === 'number' && Number.isInteger(value)) return value;
  if (typeof value === 'string') return languageFromName(value) ?? LanguageCode.OTHER;
  throw new RemotingProtocolError(
    `JSON header field "language" is not a language name: ${JSON.stringify(value)}`,
    {
      streamOffset,
    },
  );
}

function readRemark(value: unknown, streamOffset?: number): string | null {
  if (value === undefined || value === null) return null;
  if (typeof value === 'string') return value;
  throw new RemotingProtocolError(`JSON header field "remark" is not a string: ${JSON.stringify(value)}`, {
    streamOffset,
  });
}

function readExtFields(value: unknown, streamOffset?: number): Map<string, string> | null {
  if (value === undefined || value === null) return null;
  if (typeof value !== 'object' || Array.isArray(value)) {
    throw new RemotingProtocolError('JSON header field "extFields" is not an object', { streamOffset });
  }
  // JSON.parse makes "__proto__" an own key rather than touching the prototype;
  // copying into a Map keeps it just a key.
  const fields = new Map<string, string>();
  for (const [key, raw] of Object.entries(value)) {
    if (raw === null || raw === undefined) continue;
    if (typeof raw === 'string') fields.set(key, raw);
    else if (typeof raw === 'number' || typeof raw === 'boolean') fields.set(key, String(raw));
    else {
      throw new RemotingProtocolError(`JSON header extFields["${key}"] is not a string, number or boolean`, {
        streamOffset,
      });
    }
  }
  return fields;
}
