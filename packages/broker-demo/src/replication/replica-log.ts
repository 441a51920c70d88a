import type { CorruptBatchReport, LogRecord } from '../log/index.js';

/**
 * What replication needs from a partition's log: the subset of PartitionLog
 * it calls, so the replication rules can be tested against a log in memory.
 */
export interface ReplicaLog {
  readonly logStartOffset: number;
  readonly logEndOffset: number;
  /** The lowest corrupt batch a read has found, until a truncation removes it: nothing at or past it is served. */
  readonly corruptBatch: CorruptBatchReport | null;
  append(records: LogRecord[], leaderEpoch: number): Promise<{ baseOffset: number; lastOffset: number }>;
  appendRawBatches(bytes: Buffer): Promise<{ firstOffset: number; lastOffset: number } | null>;
  read(
    fromOffset: number,
    maxBytes: number,
    maxOffset?: number,
  ): Promise<{ bytes: Buffer; nextOffset: number; release(): void }>;
  truncateTo(offset: number): Promise<void>;
  latestEpoch(): number;
  endOffsetForEpoch(epoch: number): { epoch: number; endOffset: number };
  assignLeaderEpoch(epoch: number): Promise<void>;
  close(): Promise<void>;
}
