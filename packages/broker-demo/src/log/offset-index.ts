import type { FileHandle } from 'node:fs/promises';
import { openReadWrite } from './fs-util.js';

/** relative offset int32 + file position int32, big-endian. */
const ENTRY_BYTES = 8;

export interface IndexEntry {
  offset: number;
  position: number;
}

/**
 * The sparse offset index of one segment: (offset - baseOffset, position of
 * the batch starting there), one entry every indexIntervalBytes of log. It is
 * kept whole in memory for lookups; the file only spares a rebuild on open.
 * Entries only ever name batch starts, so a lookup lands on a batch boundary
 * and the caller scans forward from there.
 */
export class OffsetIndex {
  private relativeOffsets: number[] = [];
  private positions: number[] = [];

  private constructor(
    readonly path: string,
    readonly baseOffset: number,
    private readonly file: FileHandle,
  ) {}

  /**
   * Opens (creating if missing) the index file. `loaded` is false when the
   * file was missing or failed its sanity checks (an empty file is a valid
   * index of a log shorter than one interval); the index is then empty and
   * the caller must rebuild it from the log.
   */
  static async open(
    path: string,
    baseOffset: number,
    logBytes: number,
  ): Promise<{ index: OffsetIndex; loaded: boolean }> {
    const { file, created } = await openReadWrite(path);
    const index = new OffsetIndex(path, baseOffset, file);
    const loaded = !created && index.load(await file.readFile(), logBytes);
    if (!loaded) await index.reset();
    return { index, loaded };
  }

  get entryCount(): number {
    return this.positions.length;
  }

  /** The last entry at or below `offset`, or the segment start when there is none. */
  lookup(offset: number): IndexEntry {
    const slot = this.floorSlot(offset - this.baseOffset);
    if (slot < 0) return { offset: this.baseOffset, position: 0 };
    return { offset: this.baseOffset + this.relativeOffsets[slot]!, position: this.positions[slot]! };
  }

  /** The position of the first indexed batch starting above `offset`: no batch holding `offset` reaches past it. */
  positionAbove(offset: number): number | null {
    const slot = this.floorSlot(offset - this.baseOffset) + 1;
    return slot < this.positions.length ? this.positions[slot]! : null;
  }

  async append(offset: number, position: number): Promise<void> {
    const relative = offset - this.baseOffset;
    const entry = Buffer.allocUnsafe(ENTRY_BYTES);
    entry.writeInt32BE(relative, 0);
    entry.writeInt32BE(position, 4);
    await this.file.write(entry, 0, ENTRY_BYTES, this.positions.length * ENTRY_BYTES);
    this.relativeOffsets.push(relative);
    this.positions.push(position);
  }

  /** Forgets every entry at or past `position` (the log is being cut there). */
  async truncateAtPosition(position: number): Promise<void> {
    let count = this.positions.length;
    while (count > 0 && this.positions[count - 1]! >= position) count--;
    if (count === this.positions.length) return;
    this.relativeOffsets.length = count;
    this.positions.length = count;
    await this.file.truncate(count * ENTRY_BYTES);
  }

  /** Replaces every entry at once, as a rebuild from a scan of the log does. */
  async replaceAll(entries: readonly IndexEntry[]): Promise<void> {
    const bytes = Buffer.allocUnsafe(entries.length * ENTRY_BYTES);
    this.relativeOffsets = [];
    this.positions = [];
    entries.forEach((entry, i) => {
      const relative = entry.offset - this.baseOffset;
      bytes.writeInt32BE(relative, i * ENTRY_BYTES);
      bytes.writeInt32BE(entry.position, i * ENTRY_BYTES + 4);
      this.relativeOffsets.push(relative);
      this.positions.push(entry.position);
    });
    await this.file.truncate(0);
    if (bytes.length > 0) await this.file.write(bytes, 0, bytes.length, 0);
  }

  async reset(): Promise<void> {
    await this.replaceAll([]);
  }

  async flush(): Promise<void> {
    await this.file.sync();
  }

  async close(): Promise<void> {
    await this.file.close();
  }

  /** Loads entries if they look like an index of a log of `logBytes`: whole, strictly rising, inside the log. */
  private load(bytes: Buffer, logBytes: number): boolean {
    if (bytes.length % ENTRY_BYTES !== 0) return false;
    let lastRelative = -1;
    let lastPosition = -1;
    for (let pos = 0; pos < bytes.length; pos += ENTRY_BYTES) {
      const relative = bytes.readInt32BE(pos);
      const position = bytes.readInt32BE(pos + 4);
      if (relative <= lastRelative || position <= lastPosition || position >= logBytes) return false;
      this.relativeOffsets.push(relative);
      this.positions.push(position);
      lastRelative = relative;
      lastPosition = position;
    }
    return true;
  }

  /** Binary search: the last slot whose relative offset is <= `relative`, or -1. */
  private floorSlot(relative: number): number {
    let low = 0;
    let high = this.relativeOffsets.length - 1;
    let found = -1;
    while (low <= high) {
      const mid = (low + high) >>> 1;
      if (this.relativeOffsets[mid]! <= relative) {
        found = mid;
        low = mid + 1;
      } else {
        high = mid - 1;
      }
    }
    return found;
  }
}
