import fc from 'fast-check';
import { expect, test } from 'vitest';
import { scanFastjsonHeader } from '../src/protocol/fastjson-header-scanner.js';
import { decodeJsonHeader, encodeJsonHeader, parseJsonHeader } from '../src/protocol/json-header.js';
import { unicodeString } from './support/arbitraries.js';

/**
 * The scanner is a shortcut for headers in fastjson's layout; JSON.parse is
 * the reference. Whatever the bytes, decodeJsonHeader must give what the
 * reference gives (or throw where it throws).
 */
function reference(bytes: Buffer): unknown {
  try {
    return parseJsonHeader(bytes);
  } catch (error) {
    return { threw: (error as Error).constructor.name };
  }
}

function actual(bytes: Buffer): unknown {
  try {
    return decodeJsonHeader(bytes);
  } catch (error) {
    return { threw: (error as Error).constructor.name };
  }
}

/** Maps compared as entry sets: JSON.parse reorders integer-like keys, the scanner keeps wire order. */
function normalise(value: unknown): unknown {
  if (value === null || typeof value !== 'object' || !('extFields' in value)) return value;
  const fields = (value as { extFields: Map<string, string> | null }).extFields;
  return {
    ...value,
    extFields: fields === null ? null : [...fields].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)),
  };
}

const headerFields = fc.record({
  code: fc.integer({ min: -2147483648, max: 2147483647 }),
  language: fc.constantFrom(0, 9, 13),
  version: fc.integer({ min: -32768, max: 65535 }),
  opaque: fc.integer({ min: -2147483648, max: 2147483647 }),
  flag: fc.integer({ min: 0, max: 3 }),
  remark: fc.option(unicodeString({ maxLength: 30 }), { nil: null }),
  extFields: fc.option(
    fc
      .array(fc.tuple(unicodeString({ maxLength: 10 }), unicodeString({ maxLength: 20 })), { maxLength: 6 })
      .map((entries) => new Map(entries)),
    { nil: null },
  ),
});

test('headers we (and fastjson) write take the scanner path and decode to the same fields', () => {
  fc.assert(
    fc.property(headerFields, (fields) => {
      const bytes = encodeJsonHeader(fields);
      const plain = !bytes.includes(0x5c); // no escapes: the scanner must take it
      if (plain) expect(scanFastjsonHeader(bytes)).not.toBeNull();
      expect(normalise(actual(bytes))).toEqual(normalise(reference(bytes)));
      expect(normalise(actual(bytes))).toEqual(normalise({ ...fields }));
    }),
    { numRuns: 300 },
  );
});

test('any other JSON shape falls back and agrees with JSON.parse: whitespace, order, numbers, escapes, garbage', () => {
  const value = fc.oneof(
    fc.integer(),
    fc.double(),
    fc.boolean(),
    fc.constant(null),
    unicodeString({ maxLength: 8 }),
    fc.constantFrom('01', '1e3', '-0', '9007199254740993'),
  );
  const key = fc.constantFrom(
    'code',
    'flag',
    'opaque',
    'version',
    'language',
    'remark',
    'extFields',
    'serializeTypeCurrentRPC',
    'other',
  );
  const object = fc.dictionary(key, fc.oneof(value, fc.dictionary(unicodeString({ maxLength: 5 }), value)));
  fc.assert(
    fc.property(object, fc.constantFrom('', ' ', '\n  '), (obj, space) => {
      const bytes = Buffer.from(JSON.stringify(obj, null, space), 'utf8');
      expect(normalise(actual(bytes))).toEqual(normalise(reference(bytes)));
    }),
    { numRuns: 500 },
  );
  const hand = [
    '{"code":01}',
    '{"code":1.5}',
    '{"code":12345678901234567890}',
    '{"code":-}',
    '{"code":1,}',
    '{"code":1}x',
    '{"remark":"a\\"b"}',
    '{"extFields":{"k":1}}',
    '{"extFields":{"k":"v",}}',
    '{"language":"KLINGON"}',
    '{}',
    '{',
    '',
  ];
  for (const text of hand) {
    const bytes = Buffer.from(text, 'utf8');
    expect(normalise(actual(bytes)), text).toEqual(normalise(reference(bytes)));
  }
});

test('a header scanned in place inside a larger buffer never reads the bytes around it', () => {
  const header = encodeJsonHeader({
    code: 7,
    language: 13,
    version: 1,
    opaque: 42,
    flag: 1,
    remark: 'ok',
    extFields: new Map([['k', 'v']]),
  });
  fc.assert(
    fc.property(
      // Bytes before and after that would continue a header if read: commas, braces, keys, digits.
      fc.constantFrom('', '}', ',', ':', '9', ',"code":1}', '"', '{', ',"extFields":{"a":"b"}}'),
      fc.constantFrom('', '}', ',', ':', '9', ',"code":1}', '"', '{', ',"remark":"x"}'),
      (before, after) => {
        const bytes = Buffer.concat([Buffer.from(before), header, Buffer.from(after)]);
        const inPlace = decodeJsonHeader(bytes, undefined, before.length, before.length + header.length);
        expect(normalise(inPlace)).toEqual(normalise(reference(header)));
        // Cut one byte short, it is the reference's verdict on those bytes, not a read past the end.
        const short = header.subarray(0, header.length - 1);
        expect(actual(Buffer.concat([short]))).toEqual(reference(short));
        let cutVerdict: unknown;
        try {
          cutVerdict = decodeJsonHeader(bytes, undefined, before.length, before.length + header.length - 1);
        } catch (error) {
          cutVerdict = { threw: (error as Error).constructor.name };
        }
        expect(cutVerdict).toEqual(reference(short));
      },
    ),
  );
});
