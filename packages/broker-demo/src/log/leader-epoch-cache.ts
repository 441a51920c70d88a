import { open, readFile, rename } from 'node:fs/promises';
import path from 'node:path';
import { syncDir } from './fs-util.js';

export const LEADER_EPOCH_CHECKPOINT = 'leader-epoch-checkpoint';
const CHECKPOINT_VERSION = 0;

export interface EpochEntry {
  epoch: number;
  startOffset: number;
}

/**
 * The leader epoch cache of KIP-101: for each epoch in which this replica's
 * log gained records, the offset of the first one. It answers
 * OffsetsForLeaderEpoch, which lets a returning replica find where its log
 * parted from the leader's without trusting its HW.
 *
 * Kept on disk as Kafka's checkpoint text (version line, count line, then
 * "epoch startOffset" lines), rewritten whole through a temp file, fsync and
 * rename, so a crash leaves the old file or the new one, never half of each.
 */
export class LeaderEpochCache {
  private constructor(
    private readonly file: string,
    private entries: EpochEntry[],
  ) {}

  /** `loaded` is false when the checkpoint was missing or unreadable; the log then rebuilds it from its batches. */
  static async load(dir: string): Promise<{ cache: LeaderEpochCache; loaded: boolean }> {
    const file = path.join(dir, LEADER_EPOCH_CHECKPOINT);
    let text: string;
    try {
      text = await readFile(file, 'utf8');
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error;
      return { cache: new LeaderEpochCache(file, []), loaded: false };
    }
    const entries = parseCheckpoint(text);
    return { cache: new LeaderEpochCache(file, entries ?? []), loaded: entries !== null };
  }

  /** -1 when no epoch is known. */
  latestEpoch(): number {
    return this.entries[this.entries.length - 1]?.epoch ?? -1;
  }

  snapshot(): EpochEntry[] {
    return this.entries.map((entry) => ({ ...entry }));
  }

  /**
   * Records that `epoch` starts at `startOffset`, if it is newer than the
   * latest. An older or equal epoch is ignored, as Kafka does: a follower may
   * be sent batches of epochs it already knows. Entries that the new one
   * contradicts (starting at or past it) go.
   */
  async assign(epoch: number, startOffset: number): Promise<boolean> {
    if (epoch <= this.latestEpoch()) return false;
    this.entries = this.entries.filter((entry) => entry.startOffset < startOffset);
    this.entries.push({ epoch, startOffset });
    await this.persist();
    return true;
  }

  /** Forgets epochs that start at or past `endOffset`, after the log was cut there. */
  async truncateFromEnd(endOffset: number): Promise<void> {
    const kept = this.entries.filter((entry) => entry.startOffset < endOffset);
    if (kept.length === this.entries.length) return;
    this.entries = kept;
    await this.persist();
  }

  async replaceAll(entries: readonly EpochEntry[]): Promise<void> {
    this.entries = entries.map((entry) => ({ ...entry }));
    await this.persist();
  }

  /**
   * KIP-101's answer for `requestedEpoch`: the largest known epoch <= it, and
   * where that epoch's records end (the start of the next higher epoch, or
   * the LEO for the latest). Like Kafka, an epoch above every known one gets
   * { epoch: -1, endOffset: -1 } (undefined), and one below the first gets
   * itself with the first epoch's start offset.
   */
  endOffsetFor(requestedEpoch: number, logEndOffset: number): { epoch: number; endOffset: number } {
    const latest = this.latestEpoch();
    if (requestedEpoch < 0 || latest < 0) return { epoch: -1, endOffset: -1 };
    if (requestedEpoch === latest) return { epoch: latest, endOffset: logEndOffset };
    const higher = this.entries.findIndex((entry) => entry.epoch > requestedEpoch);
    if (higher < 0) return { epoch: -1, endOffset: -1 };
    const floor = this.entries[higher - 1];
    return { epoch: floor?.epoch ?? requestedEpoch, endOffset: this.entries[higher]!.startOffset };
  }

  private async persist(): Promise<void> {
    const lines = [String(CHECKPOINT_VERSION), String(this.entries.length)];
    for (const entry of this.entries) lines.push(`${entry.epoch} ${entry.startOffset}`);
    const temp = `${this.file}.tmp`;
    const handle = await open(temp, 'w');
    try {
      await handle.writeFile(`${lines.join('\n')}\n`);
      await handle.sync();
    } finally {
      await handle.close();
    }
    await rename(temp, this.file);
    await syncDir(path.dirname(this.file));
  }
}

/** The entries, or null when the text is not a well-formed checkpoint. */
function parseCheckpoint(text: string): EpochEntry[] | null {
  const lines = text.split('\n').filter((line) => line.length > 0);
  if (lines[0] !== String(CHECKPOINT_VERSION)) return null;
  const count = Number(lines[1]);
  if (!Number.isSafeInteger(count) || lines.length !== count + 2) return null;
  const entries: EpochEntry[] = [];
  for (const line of lines.slice(2)) {
    const match = /^(\d+) (\d+)$/.exec(line);
    if (!match) return null;
    const entry = { epoch: Number(match[1]), startOffset: Number(match[2]) };
    const previous = entries[entries.length - 1];
    if (previous && (entry.epoch <= previous.epoch || entry.startOffset < previous.startOffset)) return null;
    entries.push(entry);
  }
  return entries;
}
