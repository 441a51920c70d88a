import { LanguageCode } from './codes.js';
import type { HeaderFields } from './header-fields.js';

const QUOTE = 0x22;
const BACKSLASH = 0x5c;
const COLON = 0x3a;
const COMMA = 0x2c;
const OPEN_BRACE = 0x7b;
const CLOSE_BRACE = 0x7d;
const MINUS = 0x2d;
const DIGIT_0 = 0x30;
const DIGIT_9 = 0x39;

/**
 * Reads a JSON header laid out the way RocketMQ peers write one (fastjson:
 * no whitespace, integer numbers, string values, no escapes) straight from
 * the bytes, without building the intermediate object JSON.parse would.
 *
 * It returns null the moment anything is outside that shape (whitespace,
 * an escape, a fraction, a number-valued extField, an unknown key), and the
 * caller falls back to JSON.parse, which accepts every valid header and
 * reports every invalid one. So this is only ever a shortcut, never a second
 * opinion on what is valid. UTF-8 is safe to scan bytewise: no multi-byte
 * sequence contains a quote or a backslash byte.
 */
export function scanFastjsonHeader(
  bytes: Buffer,
  start = 0,
  end = bytes.length,
  into?: HeaderFields,
): HeaderFields | null {
  if (end - start < 2 || bytes[start] !== OPEN_BRACE) return null;
  // Filling the caller's object (a RemotingCommand) spares one object per frame.
  const header: HeaderFields = into ?? {
    code: 0,
    language: LanguageCode.JAVA,
    version: 0,
    opaque: 0,
    flag: 0,
    remark: null,
    extFields: null,
  };
  header.code = 0;
  header.language = LanguageCode.JAVA;
  header.version = 0;
  header.opaque = 0;
  header.flag = 0;
  header.remark = null;
  header.extFields = null;
  let pos = start + 1;
  if (bytes[pos] === CLOSE_BRACE) return pos + 1 === end ? header : null;
  for (;;) {
    const keyEnd = stringEnd(bytes, pos, end);
    if (keyEnd < 0 || keyEnd + 1 >= end || bytes[keyEnd + 1] !== COLON) return null;
    const key = headerKey(bytes, pos + 1, keyEnd);
    pos = keyEnd + 2;
    switch (key) {
      case 'code':
      case 'flag':
      case 'opaque':
      case 'version': {
        const numberEnd = integerEnd(bytes, pos, end);
        if (numberEnd < 0) return null;
        const value = integerValue(bytes, pos, numberEnd) | 0;
        if (key === 'code') header.code = value;
        else if (key === 'flag') header.flag = value;
        else if (key === 'opaque') header.opaque = value;
        else header.version = value;
        pos = numberEnd;
        break;
      }
      case 'language':
      case 'serializeTypeCurrentRPC': {
        const valueEnd = stringEnd(bytes, pos, end);
        if (valueEnd < 0) return null;
        if (key === 'language') header.language = languageAt(bytes, pos + 1, valueEnd);
        pos = valueEnd + 1;
        break;
      }
      case 'remark': {
        const valueEnd = stringEnd(bytes, pos, end);
        if (valueEnd < 0) return null;
        header.remark = bytes.toString('utf8', pos + 1, valueEnd);
        pos = valueEnd + 1;
        break;
      }
      case 'extFields': {
        const after = scanExtFields(bytes, pos, end, header);
        if (after < 0) return null;
        pos = after;
        break;
      }
      default:
        return null;
    }
    // Past `end` lies the body, never more header.
    const next = pos < end ? bytes[pos] : -1;
    if (next === COMMA) {
      pos += 1;
      continue;
    }
    return next === CLOSE_BRACE && pos + 1 === end ? header : null;
  }
}

/** Reads `{"k":"v",...}` at `pos` into header.extFields; the offset after it, or -1. */
function scanExtFields(bytes: Buffer, pos: number, end: number, header: HeaderFields): number {
  if (pos >= end || bytes[pos] !== OPEN_BRACE) return -1;
  const fields = new Map<string, string>();
  header.extFields = fields;
  pos += 1;
  if (bytes[pos] === CLOSE_BRACE) return pos + 1;
  for (;;) {
    const keyEnd = stringEnd(bytes, pos, end);
    if (keyEnd < 0 || keyEnd + 1 >= end || bytes[keyEnd + 1] !== COLON) return -1;
    const valueStart = keyEnd + 2;
    const valueEnd = stringEnd(bytes, valueStart, end);
    if (valueEnd < 0) return -1;
    fields.set(bytes.toString('utf8', pos + 1, keyEnd), bytes.toString('utf8', valueStart + 1, valueEnd));
    pos = valueEnd + 1;
    const next = pos < end ? bytes[pos] : -1;
    if (next === CLOSE_BRACE) return pos + 1;
    if (next !== COMMA) return -1;
    pos += 1;
  }
}

/** For a string starting at `pos` (its opening quote): the offset of its closing quote, or -1 if it is not a plain one. */
function stringEnd(bytes: Buffer, pos: number, end: number): number {
  if (pos >= end || bytes[pos] !== QUOTE) return -1;
  for (let i = pos + 1; i < end; i++) {
    const byte = bytes[i] as number;
    if (byte === QUOTE) return i;
    if (byte === BACKSLASH || byte < 0x20) return -1;
  }
  return -1;
}

/** For an integer at `pos`: the offset just after it, or -1 unless it is a plain JSON integer of at most 15 digits. */
function integerEnd(bytes: Buffer, pos: number, end: number): number {
  let i = pos;
  if (bytes[i] === MINUS) i += 1;
  const digitsStart = i;
  while (i < end) {
    const byte = bytes[i] as number;
    if (byte < DIGIT_0 || byte > DIGIT_9) break;
    i += 1;
  }
  const digits = i - digitsStart;
  if (digits === 0 || digits > 15) return -1;
  // A leading zero is not JSON; let JSON.parse say so.
  if (digits > 1 && bytes[digitsStart] === DIGIT_0) return -1;
  return i;
}

/** The value of the integer `integerEnd` accepted; at most 15 digits, so exact in a double. */
function integerValue(bytes: Buffer, start: number, end: number): number {
  const negative = bytes[start] === MINUS;
  let value = 0;
  for (let i = negative ? start + 1 : start; i < end; i++)
    value = value * 10 + ((bytes[i] as number) - DIGIT_0);
  return negative ? -value : value;
}

const HEADER_KEYS = [
  'code',
  'flag',
  'opaque',
  'version',
  'language',
  'serializeTypeCurrentRPC',
  'remark',
  'extFields',
];

/** The header key spelled by bytes [start, end), compared in place; null for any other key. */
function headerKey(bytes: Buffer, start: number, end: number): string | null {
  const length = end - start;
  for (const key of HEADER_KEYS) {
    if (key.length !== length) continue;
    let i = 0;
    while (i < length && bytes[start + i] === key.charCodeAt(i)) i += 1;
    if (i === length) return key;
  }
  return null;
}

const languageNames = Object.keys(LanguageCode) as (keyof typeof LanguageCode)[];

/** The language named by bytes [start, end), compared in place (no string per frame); OTHER for a name we do not know. */
function languageAt(bytes: Buffer, start: number, end: number): number {
  const length = end - start;
  for (const name of languageNames) {
    if (name.length !== length) continue;
    let i = 0;
    while (i < length && bytes[start + i] === name.charCodeAt(i)) i += 1;
    if (i === length) return LanguageCode[name];
  }
  return LanguageCode.OTHER;
}
