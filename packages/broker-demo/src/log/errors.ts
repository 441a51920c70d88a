/**
 * Why a log operation was refused. Callers branch on `code`, never on the
 * message, which is for people.
 */
export type LogErrorCode =
  /** A batch failed its CRC, has an impossible length, or is cut short. */
  | 'LOG_CORRUPT_BATCH'
  /** Appended batches do not start at the log end offset, or are not contiguous. */
  | 'LOG_OFFSET_MISMATCH'
  /** A read asked for an offset below the log start or above the log end. */
  | 'LOG_OFFSET_OUT_OF_RANGE'
  /** A leader append carried an epoch older than the latest one in the log. */
  | 'LOG_STALE_EPOCH'
  /** The caller passed something the log cannot accept (no records, a bad config value). */
  | 'LOG_INVALID_ARGUMENT'
  /** The log was closed. */
  | 'LOG_CLOSED';

export class LogError extends Error {
  override readonly name = 'LogError';
  readonly code: LogErrorCode;

  constructor(code: LogErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.code = code;
  }
}
