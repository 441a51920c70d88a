import fc from 'fast-check';

/**
 * One code point of any plane, never a lone surrogate, weighted toward ASCII
 * and control characters (where escaping bugs live). fast-check's own
 * `unit: 'binary'` does the same but costs seconds to build on a slow machine.
 */
const codePoint = fc
  .oneof(
    { arbitrary: fc.integer({ min: 0, max: 0x7f }), weight: 4 },
    { arbitrary: fc.integer({ min: 0x80, max: 0xd7ff }), weight: 2 },
    { arbitrary: fc.integer({ min: 0xe000, max: 0xffff }), weight: 1 },
    { arbitrary: fc.integer({ min: 0x10000, max: 0x10ffff }), weight: 1 },
  )
  .map((cp) => String.fromCodePoint(cp));

/** Strings of any code points without lone surrogates (what UTF-8 can carry). */
export function unicodeString(constraints: { maxLength?: number } = {}): fc.Arbitrary<string> {
  return fc.string({ unit: codePoint, maxLength: constraints.maxLength ?? 24 });
}
