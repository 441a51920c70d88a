import { LanguageCode, languageFromName, languageName } from './codes.js';
import { RemotingProtocolError } from './errors.js';
import { scanFastjsonHeader } from './fastjson-header-scanner.js';
import type { HeaderFields } from './header-fields.js';

/**
 * Writes the header as fastjson does for RemotingCommand: keys sorted by name,
 * no whitespace, null fields omitted, enums by name, strings escaped the
 * fastjson way (see `quote`), so Java peers and we produce the same bytes.
 */
export function encodeJsonHeader(h: HeaderFields, reserve = 0): Buffer {
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
  // Written straight after `reserve` free bytes, so the frame head needs no second copy.
  const out = Buffer.allocUnsafe(reserve + Buffer.byteLength(json, 'utf8'));
  out.write(json, reserve, 'utf8');
  return out;
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
export function decodeJsonHeader(bytes: Buffer, streamOffset?: number): HeaderFields {
  return scanFastjsonHeader(bytes) ?? parseJsonHeader(bytes, streamOffset);
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
