import { readdir, unlink } from 'node:fs/promises';
import path from 'node:path';
import { LEADER_EPOCH_CHECKPOINT, type LeaderEpochCache } from './leader-epoch-cache.js';
import { LogSegment } from './segment.js';

/** Something recovery cut off or removed, for the broker's log: nothing is dropped silently. */
export interface RecoveryEvent {
  segmentFile: string;
  /** The segment now ends here (bytes) and at this offset. */
  keptBytes: number;
  nextOffset: number;
  /** Bytes cut off this segment's tail. */
  truncatedBytes: number;
  /** Why the scan stopped (torn write, CRC mismatch, offset gap). */
  reason: string;
  /** Later segments deleted because the log no longer runs on to them, with their sizes in bytes. */
  droppedSegments: Array<{ file: string; bytes: number }>;
}

const SEGMENT_FILE = /^(\d{20})\.log$/;
const INDEX_FILE = /^(\d{20})\.index$/;

/**
 * Opens every segment in `dir` in offset order and recovers (CRC-scans) the
 * last one, any whose index is missing or damaged, and all of them when
 * `recoverAll` (the epoch checkpoint was lost, so every batch's epoch must be
 * seen again). Stray temp files and orphan indexes are removed. A segment whose recovery cut it short ends the log there: the segments
 * after it no longer follow on, so they go. Newer epochs seen while
 * recovering are added to `cache` (which matters when its checkpoint was lost).
 */
export async function openSegments(
  dir: string,
  indexIntervalBytes: number,
  recoverAll: boolean,
  cache: LeaderEpochCache,
  events: RecoveryEvent[] = [],
): Promise<LogSegment[]> {
  const names = await readdir(dir);
  const logBases = new Set<number>();
  for (const name of names) {
    const match = SEGMENT_FILE.exec(name);
    if (match) logBases.add(Number(match[1]));
  }
  for (const name of names) {
    const index = INDEX_FILE.exec(name);
    const orphanIndex = index !== null && !logBases.has(Number(index[1]));
    if (orphanIndex || name === `${LEADER_EPOCH_CHECKPOINT}.tmp`) await unlink(path.join(dir, name));
  }
  const bases = [...logBases].sort((a, b) => a - b);
  if (bases.length === 0) return [await LogSegment.create(dir, 0, indexIntervalBytes)];

  const segments: LogSegment[] = [];
  for (let i = 0; i < bases.length; i++) {
    const { segment, indexLoaded } = await LogSegment.open(dir, bases[i]!, indexIntervalBytes);
    segments.push(segment);
    const isLast = i === bases.length - 1;
    if (!isLast && indexLoaded && !recoverAll) {
      segment.nextOffset = bases[i + 1]!;
      continue;
    }
    const result = await segment.recover();
    for (const start of result.epochStarts) await cache.assign(start.epoch, start.startOffset);
    const cutShort = !isLast && segment.nextOffset !== bases[i + 1];
    if (result.truncatedBytes === 0 && !cutShort) continue;
    const event: RecoveryEvent = {
      segmentFile: segment.logPath,
      keptBytes: segment.size,
      nextOffset: segment.nextOffset,
      truncatedBytes: result.truncatedBytes,
      reason:
        result.stoppedBecause ??
        `ends at offset ${segment.nextOffset}, the next segment starts at ${bases[i + 1]}`,
      droppedSegments: [],
    };
    events.push(event);
    if (cutShort) {
      for (const base of bases.slice(i + 1)) {
        const { segment: dropped } = await LogSegment.open(dir, base, indexIntervalBytes);
        event.droppedSegments.push({ file: dropped.logPath, bytes: dropped.size });
        await dropped.delete();
      }
      break;
    }
  }
  return segments;
}
