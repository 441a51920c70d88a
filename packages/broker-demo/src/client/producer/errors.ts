import { RemotingError } from '@remoting-ts/remoting';
import { BrokerError } from '../../protocol/errors.js';

/** Raised for every record of a batch that gave up; `maybeAppended` says whether an attempt may have reached the log. */
export class ProduceFailedError extends Error {
  readonly code: string;
  /** Produce requests sent for the batch (tries that found no leader are not counted). */
  readonly attempts: number;
  /**
   * True when some attempt may have reached the log: a request written to
   * the socket whose answer never came, or a broker that says it appended
   * before failing. False only when every attempt was refused or never sent.
   */
  readonly maybeAppended: boolean;

  constructor(
    message: string,
    options: { code: string; attempts: number; maybeAppended: boolean; cause: unknown },
  ) {
    super(message, { cause: options.cause });
    this.name = 'ProduceFailedError';
    this.code = options.code;
    this.attempts = options.attempts;
    this.maybeAppended = options.maybeAppended;
  }
}

/** What a failed attempt means for the batch, as the error itself says it. */
export interface Failure {
  code: string;
  retriable: boolean;
  /** The records may be in the log (remoting's `written`, or the broker's `appended`). */
  written: boolean;
}

/** Classifies an error by what the errors themselves say, not by lists of codes. */
export function classify(err: unknown): Failure {
  if (err instanceof BrokerError) return { code: err.code, retriable: err.retriable, written: err.appended };
  if (err instanceof RemotingError) {
    const written = (err as RemotingError & { written?: unknown }).written === true;
    return { code: err.code, retriable: err.retriable, written };
  }
  // Not ours to understand: never retried, and we cannot say it was not appended.
  return { code: 'PRODUCE_FAILED', retriable: false, written: true };
}

/** A record refused before any attempt (no such partition, the producer closed): nothing was sent. */
export function refusedBeforeSending(message: string, cause: unknown, code?: string): ProduceFailedError {
  return new ProduceFailedError(message, {
    code:
      code ??
      (cause instanceof BrokerError || cause instanceof RemotingError ? cause.code : 'PRODUCE_FAILED'),
    attempts: 0,
    maybeAppended: false,
    cause,
  });
}
