/**
 * The write path copies the JSON header of a command with no remark and no
 * extFields from a cached shape (its bytes before and after the opaque).
 * That is only a shortcut: whatever the fields, and whichever shapes were
 * cached before, the bytes must be exactly what the uncached encoder
 * (encodeJsonHeader, fastjson's layout) writes. The Java golden vectors go
 * through this same path in golden-vectors.test.ts.
 *
 * The read path recognises a header in a shape it decoded recently by the
 * same bytes; that too is only a shortcut: every header must decode as
 * JSON.parse reads it (parseJsonHeader, the reference), near misses included.
 */
import fc from 'fast-check';
import { expect, test } from 'vitest';
import { LanguageCode, RemotingCommand, SerializeType } from '../src/index.js';
import type { HeaderFields } from '../src/protocol/header-fields.js';
import {
  decodeJsonHeader,
  encodeJsonHeader,
  parseJsonHeader,
  writeJsonHeader,
} from '../src/protocol/json-header.js';
import { unicodeString } from './support/arbitraries.js';

const int32 = fc.integer({ min: -2147483648, max: 2147483647 });
/** Values at the edges of every field, and a few that are not integers at all. */
const field = fc.oneof(
  int32,
  fc.constantFrom(0, 1, -1, 9, 10, 99, 100, 32767, -32768, 2147483647, -2147483648, 1.5, -0, 2 ** 32 + 5),
);
const headerFields = fc.record({
  code: field,
  language: fc.oneof(fc.constantFrom(...Object.values(LanguageCode)), fc.constantFrom(14, 255, -1, 1.5)),
  version: field,
  opaque: field,
  flag: fc.oneof(fc.integer({ min: 0, max: 3 }), field),
  remark: fc.option(unicodeString({ maxLength: 12 }), { nil: null, freq: 4 }),
  extFields: fc.option(
    fc
      .array(fc.tuple(unicodeString({ maxLength: 6 }), unicodeString({ maxLength: 8 })), { maxLength: 3 })
      .map((entries) => new Map(entries)),
    { nil: null, freq: 4 },
  ),
});

/** What writeJsonHeader puts at an offset inside a larger buffer. */
function written(fields: Parameters<typeof encodeJsonHeader>[0], offset: number): Buffer {
  const target = Buffer.alloc(offset + 2048, 0xee);
  const end = writeJsonHeader(fields, target, offset);
  expect(end).toBeGreaterThan(offset);
  expect(target.subarray(0, offset).every((byte) => byte === 0xee)).toBe(true);
  expect(target[end]).toBe(0xee);
  return target.subarray(offset, end);
}

test('every field combination writes the uncached encoder’s bytes, first time and cached, whatever came before', () => {
  fc.assert(
    fc.property(fc.array(headerFields, { minLength: 1, maxLength: 8 }), fc.nat(40), (headers, offset) => {
      // Several shapes in a row: some share a cache slot and evict each other, some repeat.
      for (const fields of [...headers, ...headers.slice().reverse()]) {
        const reference = encodeJsonHeader(fields);
        expect(written(fields, offset).toString('hex')).toBe(reference.toString('hex'));
        // The same shape with another opaque: the cached bytes around a new number.
        const next = { ...fields, opaque: (fields.opaque | 0) ^ 0x5a5a5a };
        expect(written(next, offset).toString('hex')).toBe(encodeJsonHeader(next).toString('hex'));
      }
    }),
    { numRuns: 400 },
  );
});

test('shapes that differ in one field only never borrow each other’s bytes, however the cache is laid out', () => {
  // 257 values of one field: more shapes than any cache of up to 256 slots has, so some of
  // them must share a slot, and a cache that did not compare that field would hand one the
  // other's bytes.
  const base = {
    code: 10,
    language: LanguageCode.JAVA,
    version: 0,
    opaque: 77,
    flag: 0,
    remark: null,
    extFields: null,
  };
  const variants = Array.from({ length: 257 }, (_, i) => i);
  const languages = [...Object.values(LanguageCode), 200];
  for (const vary of ['code', 'flag', 'language', 'version'] as const) {
    for (const round of [0, 1]) {
      for (const i of variants) {
        const value = vary === 'language' ? (languages[i % languages.length] as number) : i * 64 + round;
        const fields = { ...base, [vary]: value, opaque: i };
        expect(written(fields, 0).toString('hex'), `${vary} ${value}`).toBe(
          encodeJsonHeader(fields).toString('hex'),
        );
      }
    }
  }
});

test('a header that does not fit is refused with its size, cached shape or not', () => {
  const command = RemotingCommand.createRequest(310);
  command.opaque = -2147483648;
  const size = encodeJsonHeader(command).length;
  for (let round = 0; round < 2; round++) {
    expect(writeJsonHeader(command, Buffer.alloc(size - 1), 0)).toBe(-size);
    const exact = Buffer.alloc(size);
    expect(writeJsonHeader(command, exact, 0)).toBe(size);
    expect(exact.equals(encodeJsonHeader(command))).toBe(true);
  }
});

test('frames written through encodeInto (the channel’s path) equal encode(), request and response shapes alike', () => {
  const slab = Buffer.alloc(1 << 16);
  let offset = 0;
  for (let i = 0; i < 200; i++) {
    const command =
      i % 3 === 0
        ? RemotingCommand.createResponse(i % 7, i % 11 === 0 ? 'remark' : null)
        : RemotingCommand.createRequest(i % 5).setBody(i % 2 === 0 ? 'body' : null);
    command.opaque = i * 7919 - 500_000;
    if (i % 4 === 0) command.markOneway();
    command.serializeType = SerializeType.JSON;
    const end = command.encodeInto(slab, offset, true);
    expect(slab.subarray(offset, end).toString('hex')).toBe(command.encode().toString('hex'));
    offset = end;
  }
});

/** What decodeJsonHeader makes of `text` placed inside a larger buffer (as a frame decoder calls it), or what it threw. */
function decodedInPlace(text: string): unknown {
  const bytes = Buffer.concat([Buffer.from('{"code":9}'), Buffer.from(text, 'utf8'), Buffer.from(',"x"')]);
  const into: HeaderFields = {
    code: -1,
    language: -1,
    version: -1,
    opaque: -1,
    flag: -1,
    remark: 'x',
    extFields: null,
  };
  try {
    return { ...decodeJsonHeader(bytes, undefined, 10, 10 + Buffer.byteLength(text), into) };
  } catch (error) {
    return { threw: (error as Error).constructor.name };
  }
}

function reference(text: string): unknown {
  try {
    return { ...parseJsonHeader(Buffer.from(text, 'utf8')) };
  } catch (error) {
    return { threw: (error as Error).constructor.name };
  }
}

test('a header in a shape decoded before reads as JSON.parse reads it, and so does every near miss', () => {
  const shapes = [
    { code: 2, flag: 2, language: LanguageCode.JAVA, version: 0 },
    { code: 0, flag: 1, language: LanguageCode.GO, version: 476 },
    { code: -7, flag: 3, language: LanguageCode.NODE_JS, version: -1 },
  ];
  const opaques = ['0', '7', '-1', '2147483647', '-2147483648', '99999999999', '123456789012345'];
  const nearMisses = ['-0', '007', '1234567890123456', '1.5', '1e3', '', '-', ' 5', '5 ', '"5"'];
  for (const fields of shapes) {
    const header = (opaque: string) =>
      encodeJsonHeader({ ...fields, opaque: 12345, remark: null, extFields: null })
        .toString('utf8')
        .replace('"opaque":12345', `"opaque":${opaque}`);
    for (const round of [0, 1]) {
      // The first header of a shape is scanned (and its shape remembered); the rest are recognised.
      for (const opaque of [...opaques, ...nearMisses]) {
        const text = header(opaque);
        expect(decodedInPlace(text), `${text} (round ${round})`).toEqual(reference(text));
      }
      // One byte changed anywhere before or after the opaque: another header, read for what it is.
      const text = header('42');
      for (let i = 0; i < text.length; i++) {
        for (const replacement of ['x', '9', ' ', '"', '}']) {
          const changed = text.slice(0, i) + replacement + text.slice(i + 1);
          expect(decodedInPlace(changed), changed).toEqual(reference(changed));
        }
      }
    }
  }
});
