/*
 * Big-endian integers read and written byte by byte. Buffer's own
 * readInt32BE/writeInt32BE check their arguments on every call, which on the
 * frame path cost more than the loads and stores themselves (about a third
 * of writing a binary header, profiled). Callers have checked the bounds.
 */

/** Writes the low 16 bits of `value` big-endian at `pos`; the offset after them. */
export function writeInt16At(out: Buffer, pos: number, value: number): number {
  out[pos] = (value >>> 8) & 0xff;
  out[pos + 1] = value & 0xff;
  return pos + 2;
}

/** Writes `value | 0` big-endian at `pos`; the offset after it. */
export function writeInt32At(out: Buffer, pos: number, value: number): number {
  out[pos] = (value >>> 24) & 0xff;
  out[pos + 1] = (value >>> 16) & 0xff;
  out[pos + 2] = (value >>> 8) & 0xff;
  out[pos + 3] = value & 0xff;
  return pos + 4;
}

/** The big-endian int16 at `pos`, signed as Java's short. */
export function readInt16At(bytes: Buffer, pos: number): number {
  return ((((bytes[pos] as number) << 8) | (bytes[pos + 1] as number)) << 16) >> 16;
}

/** The big-endian int32 at `pos`. */
export function readInt32At(bytes: Buffer, pos: number): number {
  return (
    ((bytes[pos] as number) << 24) |
    ((bytes[pos + 1] as number) << 16) |
    ((bytes[pos + 2] as number) << 8) |
    (bytes[pos + 3] as number)
  );
}
