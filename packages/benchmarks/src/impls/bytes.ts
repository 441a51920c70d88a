/**
 * raw-net's byte helpers, the same techniques remoting-ts's protocol layer
 * uses (its protocol/big-endian.ts and RemotingCommand's body views), kept
 * as the benchmark's own copies because the benchmarks use only the
 * framework's public API: integers read and written byte by byte (Buffer's
 * readUInt32BE/writeUInt32BE check their arguments on every call), bytes
 * copied with TypedArray set (Buffer copy validates its arguments first),
 * and views built as `Buffer[Symbol.species]` directly (what `subarray`
 * builds after looking the class up on every call).
 */

/** Writes `value` as a big-endian uint32 at `at`. */
export function writeUInt32At(target: Buffer, at: number, value: number): void {
  target[at] = (value >>> 24) & 0xff;
  target[at + 1] = (value >>> 16) & 0xff;
  target[at + 2] = (value >>> 8) & 0xff;
  target[at + 3] = value & 0xff;
}

/** The big-endian uint32 at `at`. */
export function readUInt32At(bytes: Buffer, at: number): number {
  return (
    (((bytes[at] as number) << 24) |
      ((bytes[at + 1] as number) << 16) |
      ((bytes[at + 2] as number) << 8) |
      (bytes[at + 3] as number)) >>>
    0
  );
}

type BufferViewClass = new (buffer: ArrayBufferLike, byteOffset: number, length: number) => Buffer;
const species = (Buffer as unknown as { [Symbol.species]: unknown })[Symbol.species];

/** A Buffer viewing bytes `[start, end)` of `bytes`. */
export const viewOf: (bytes: Buffer, start: number, end: number) => Buffer =
  typeof species === 'function' && species !== Buffer
    ? (bytes, start, end) =>
        new (species as BufferViewClass)(bytes.buffer, bytes.byteOffset + start, end - start)
    : (bytes, start, end) => bytes.subarray(start, end);
