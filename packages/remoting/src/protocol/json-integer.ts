const MINUS = 0x2d;
const DIGIT_0 = 0x30;

/** Where the last `scanJsonInteger` stopped (see scannedIntegerEnd). */
let integerEnd = -1;

/**
 * The int32 value (`| 0`, as the JSON.parse path reads it) of a plain JSON
 * integer of at most 15 digits at `pos`, read in one pass. Anything else
 * (no digit, more digits, a leading zero) leaves `scannedIntegerEnd()` at -1:
 * JSON.parse is to judge it. The end goes to a module variable rather than a
 * returned pair, so reading a number allocates nothing.
 */
export function scanJsonInteger(bytes: Buffer, pos: number, end: number): number {
  let i = pos;
  const negative = i < end && bytes[i] === MINUS;
  if (negative) i += 1;
  const digitsStart = i;
  let value = 0;
  while (i < end) {
    const digit = (bytes[i] as number) - DIGIT_0;
    if (digit < 0 || digit > 9) break;
    value = value * 10 + digit;
    i += 1;
  }
  const digits = i - digitsStart;
  // At most 15 digits: exact in a double. A leading zero is not JSON.
  if (digits === 0 || digits > 15 || (digits > 1 && bytes[digitsStart] === DIGIT_0)) {
    integerEnd = -1;
    return 0;
  }
  integerEnd = i;
  return (negative ? -value : value) | 0;
}

/** The offset just after the integer the last `scanJsonInteger` read, or -1 when it read none. */
export function scannedIntegerEnd(): number {
  return integerEnd;
}
