import type { FileHandle } from 'node:fs/promises';
import { unlink } from 'node:fs/promises';
import path from 'node:path';
import { LogError } from './errors.js';
import { openReadWrite } from './fs-util.js';
import { type IndexEntry, OffsetIndex } from './offset-index.js';
import {
  BATCH_HEADER_BYTES,
  type BatchHeader,
  checkBatch,
  LOG_OVERHEAD,
  readBatchHeader,
} from './record-batch.js';

/** Header scans read this much at a time: one index interval's worth of headers in one read(2). */
const HEADER_SCAN_BYTES = 16 * 1024;
/** Recovery reads this much at a time, enough for many batches per read(2). */
const RECOVERY_SCAN_BYTES = 1024 * 1024;

export function segmentFileName(baseOffset: number, suffix: '.log' | '.index'): string {
  return `${String(baseOffset).padStart(20, '0')}${suffix}`;
}

export interface RecoveryResult {
  /** Bytes cut off the end of the file (a torn or corrupt tail). */
  truncatedBytes: number;
  /** Why the scan stopped before the end of the file, if it did. */
  stoppedBecause: string | null;
  /** Each leader epoch seen, with the base offset of its first batch in this segment. */
  epochStarts: Array<{ epoch: number; startOffset: number }>;
}

/** A batch located in the segment file. */
export interface BatchLocation {
  position: number;
  header: BatchHeader;
}

/**
 * One `<baseOffset>.log` file and its `.index`. Writes go at `size` with
 * positional writes; `size` only moves after the bytes are written, so a read
 * that snapshots `size` never sees a half-written batch.
 */
export class LogSegment {
  /** Bytes of whole batches in the file. */
  size = 0;
  /** One past the last offset in this segment (its baseOffset when empty). */
  nextOffset: number;
  private bytesSinceLastIndexEntry = 0;
  private logDirty = false;
  private indexDirty = false;

  private constructor(
    readonly baseOffset: number,
    readonly logPath: string,
    private readonly file: FileHandle,
    readonly index: OffsetIndex,
    private readonly indexIntervalBytes: number,
  ) {
    this.nextOffset = baseOffset;
  }

  /**
   * Opens (or creates) a segment. `indexLoaded` is false when the index had
   * to be discarded; the caller must then run `recover()`.
   */
  static async open(
    dir: string,
    baseOffset: number,
    indexIntervalBytes: number,
  ): Promise<{ segment: LogSegment; indexLoaded: boolean }> {
    const logPath = path.join(dir, segmentFileName(baseOffset, '.log'));
    const { file } = await openReadWrite(logPath);
    const size = (await file.stat()).size;
    const { index, loaded } = await OffsetIndex.open(
      path.join(dir, segmentFileName(baseOffset, '.index')),
      baseOffset,
      size,
    );
    const segment = new LogSegment(baseOffset, logPath, file, index, indexIntervalBytes);
    segment.size = size;
    return { segment, indexLoaded: loaded };
  }

  /** A new, empty segment; leftovers of an older one with the same base are wiped. */
  static async create(dir: string, baseOffset: number, indexIntervalBytes: number): Promise<LogSegment> {
    const { segment } = await LogSegment.open(dir, baseOffset, indexIntervalBytes);
    if (segment.size > 0) await segment.truncateAtPosition(0, baseOffset);
    await segment.index.reset();
    return segment;
  }

  get isEmpty(): boolean {
    return this.size === 0;
  }

  /**
   * Appends whole, already validated batches (`bytes` is exactly them, in
   * order). Index entries follow Kafka: the first batch to start after more
   * than indexIntervalBytes since the last entry gets one.
   */
  async append(bytes: Buffer, batches: readonly BatchHeader[]): Promise<void> {
    const start = this.size;
    let written = 0;
    while (written < bytes.length) {
      const { bytesWritten } = await this.file.write(bytes, written, bytes.length - written, start + written);
      written += bytesWritten;
    }
    this.logDirty = true;
    let position = start;
    for (const batch of batches) {
      if (this.bytesSinceLastIndexEntry > this.indexIntervalBytes) {
        await this.index.append(batch.baseOffset, position);
        this.indexDirty = true;
        this.bytesSinceLastIndexEntry = 0;
      }
      this.bytesSinceLastIndexEntry += batch.sizeInBytes;
      position += batch.sizeInBytes;
    }
    this.size = start + bytes.length;
    this.nextOffset = batches[batches.length - 1]!.lastOffset + 1;
  }

  /** read(2) of up to `length` bytes at `position` into `buffer`; fewer at the end of the file. */
  async readInto(buffer: Buffer, length: number, position: number): Promise<number> {
    let done = 0;
    while (done < length) {
      const { bytesRead } = await this.file.read(buffer, done, length - done, position + done);
      if (bytesRead === 0) break;
      done += bytesRead;
    }
    return done;
  }

  /**
   * The batch holding `offset` (or the first one after it, were there a gap),
   * found from the index and a forward scan of headers; null when the segment
   * ends at or before `offset`.
   */
  async findBatch(offset: number, endPosition = this.size): Promise<BatchLocation | null> {
    if (offset >= this.nextOffset) return null;
    let found = null as BatchLocation | null;
    await this.scanHeaders(this.index.lookup(offset).position, endPosition, (location) => {
      if (location.header.lastOffset < offset) return true;
      found = location;
      return false;
    });
    return found;
  }

  /**
   * Drops every batch holding an offset >= `offset`. A batch that straddles
   * `offset` goes whole, as in Kafka, so the segment may end below `offset`.
   */
  async truncateTo(offset: number): Promise<void> {
    const location = await this.findBatch(offset);
    if (location !== null) await this.truncateAtPosition(location.position, location.header.baseOffset);
  }

  /** Drops everything from `position`, a batch boundary whose batch would have held `nextOffset` first. */
  async truncateAtBatch(position: number, nextOffset: number): Promise<void> {
    if (position < 0 || position > this.size) {
      throw new LogError(
        'LOG_INVALID_ARGUMENT',
        `${this.logPath}: position ${position} is outside [0, ${this.size}]`,
      );
    }
    await this.truncateAtPosition(position, nextOffset);
  }

  /**
   * Scans every batch with its CRC from the start, rebuilding the index, and
   * cuts the file at the first batch that is torn, corrupt, or does not carry
   * on from the offset before it.
   */
  async recover(): Promise<RecoveryResult> {
    const fileBytes = (await this.file.stat()).size;
    const entries: IndexEntry[] = [];
    const epochStarts: RecoveryResult['epochStarts'] = [];
    let sinceLastEntry = 0;
    let expectedOffset = this.baseOffset;
    let position = 0;
    let stoppedBecause: string | null = null;
    let chunk = Buffer.allocUnsafe(Math.min(RECOVERY_SCAN_BYTES, Math.max(fileBytes, LOG_OVERHEAD)));
    let chunkStart = 0;
    let chunkEnd = 0;
    while (position < fileBytes) {
      const check = checkBatch(chunk, position - chunkStart, chunkEnd - chunkStart);
      if (check.status === 'incomplete') {
        if (position + check.needBytes > fileBytes) {
          stoppedBecause = `torn batch at byte ${position}: ${fileBytes - position} of ${check.needBytes} bytes`;
          break;
        }
        if (check.needBytes > chunk.length) chunk = Buffer.allocUnsafe(check.needBytes);
        chunkStart = position;
        chunkEnd =
          position + (await this.readInto(chunk, Math.min(chunk.length, fileBytes - position), position));
        if (chunkEnd - position < check.needBytes) {
          stoppedBecause = `file shrank while recovering at byte ${position}`;
          break;
        }
        continue;
      }
      if (check.status === 'corrupt') {
        stoppedBecause = `corrupt batch at byte ${position}: ${check.reason}`;
        break;
      }
      const { header } = check;
      if (header.baseOffset !== expectedOffset) {
        stoppedBecause = `batch at byte ${position} has base offset ${header.baseOffset}, expected ${expectedOffset}`;
        break;
      }
      if (sinceLastEntry > this.indexIntervalBytes) {
        entries.push({ offset: header.baseOffset, position });
        sinceLastEntry = 0;
      }
      sinceLastEntry += header.sizeInBytes;
      const last = epochStarts[epochStarts.length - 1];
      if (last === undefined || header.leaderEpoch > last.epoch) {
        epochStarts.push({ epoch: header.leaderEpoch, startOffset: header.baseOffset });
      }
      expectedOffset = header.lastOffset + 1;
      position += header.sizeInBytes;
    }
    await this.index.replaceAll(entries);
    this.indexDirty = true;
    if (position < fileBytes) {
      await this.file.truncate(position);
      this.logDirty = true;
    }
    this.size = position;
    this.nextOffset = expectedOffset;
    this.bytesSinceLastIndexEntry = sinceLastEntry;
    return { truncatedBytes: fileBytes - position, stoppedBecause, epochStarts };
  }

  /** fsyncs the log and the index. */
  async flush(): Promise<void> {
    await this.flushLog();
    if (this.indexDirty) {
      this.indexDirty = false;
      await this.index.flush();
    }
  }

  /**
   * fdatasyncs the log alone: enough to make appended batches durable, since
   * recovery rebuilds the last segment's index from the log anyway.
   */
  async flushLog(): Promise<void> {
    if (!this.logDirty) return;
    this.logDirty = false;
    await this.file.datasync();
  }

  async close(): Promise<void> {
    await this.file.close();
    await this.index.close();
  }

  /** Closes and removes both files. */
  async delete(): Promise<void> {
    await this.close();
    await unlink(this.logPath);
    await unlink(this.index.path);
  }

  private async truncateAtPosition(position: number, nextOffset: number): Promise<void> {
    await this.file.truncate(position);
    await this.index.truncateAtPosition(position);
    this.size = position;
    this.nextOffset = nextOffset;
    this.bytesSinceLastIndexEntry = position - this.index.lookup(nextOffset).position;
    this.logDirty = true;
    this.indexDirty = true;
  }

  /**
   * Visits batch headers from `start` (a batch boundary) to `end`, reading a
   * chunk at a time, until `visit` returns false. No CRC check: these bytes
   * were checked when appended or recovered; a length that makes no sense
   * still stops the scan with an error rather than a wild read.
   */
  private async scanHeaders(
    start: number,
    end: number,
    visit: (location: BatchLocation) => boolean,
  ): Promise<void> {
    const chunk = Buffer.allocUnsafe(HEADER_SCAN_BYTES);
    let chunkStart = 0;
    let chunkEnd = 0;
    let position = start;
    while (position < end) {
      if (position < chunkStart || position + BATCH_HEADER_BYTES > chunkEnd) {
        chunkStart = position;
        chunkEnd = position + (await this.readInto(chunk, Math.min(chunk.length, end - position), position));
        if (chunkEnd - chunkStart < BATCH_HEADER_BYTES) {
          throw new LogError(
            'LOG_CORRUPT_BATCH',
            `${this.logPath}: batch header at byte ${position} is cut short`,
          );
        }
      }
      const header = readBatchHeader(chunk, position - chunkStart);
      if (header.sizeInBytes < BATCH_HEADER_BYTES || position + header.sizeInBytes > end) {
        throw new LogError(
          'LOG_CORRUPT_BATCH',
          `${this.logPath}: batch at byte ${position} claims ${header.sizeInBytes} bytes`,
        );
      }
      if (!visit({ position, header })) return;
      position += header.sizeInBytes;
    }
  }
}
