export { BufferPool, type BufferPoolOptions } from './buffer-pool.js';
export { LogError, type LogErrorCode } from './errors.js';
export { type EpochEntry, LEADER_EPOCH_CHECKPOINT } from './leader-epoch-cache.js';
export {
  type CorruptBatchReport,
  DEFAULT_INDEX_INTERVAL_BYTES,
  DEFAULT_SEGMENT_BYTES,
  type FlushPolicy,
  type LogConfig,
  PartitionLog,
  type ReadResult,
} from './partition-log.js';
export {
  type BatchHeader,
  checkBatch,
  type DecodedBatch,
  type DecodedRecord,
  decodeBatches,
  encodeBatch,
  type LogRecord,
  NO_PRODUCER_ID,
  NO_SEQUENCE,
  readBatchHeader,
} from './record-batch.js';
export type { RecoveryEvent } from './recovery.js';
export { segmentFileName } from './segment.js';
