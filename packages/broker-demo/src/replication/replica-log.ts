import type { LogRecord } from '../log/index.js';

/**
 * What replication needs from a partition's log: the subset of PartitionLog
 * it calls, so the replication rules can be tested against a log in memory.
 */
export interface ReplicaLog {
  readonly logStartOffset: number;
  readonly logEndOffset: number;
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
