import { RemotingError } from '../protocol/errors.js';

/** What happened at one name server while a call looked for a reachable one. */
export type NameServerAttemptOutcome =
  /** A connect was tried and failed; `error` says how. */
  | 'connect-failed'
  /** The call's timeout ran out before this address could be tried. */
  | 'not-tried'
  /** A connect here (this call's, or one it shared with another call) was still pending when the timeout ran out. */
  | 'in-progress';

/** One name server on the list and what happened there during a call that found none reachable. */
export interface NameServerAttempt {
  /** The name server's address (`host:port`), as on the list. */
  address: string;
  /** What happened at this address. */
  outcome: NameServerAttemptOutcome;
  /** Time spent on this address, ms (0 for `not-tried`). */
  elapsedMs: number;
  /** The connect failure, for `connect-failed`. */
  error?: Error;
}

function describeAttempt(attempt: NameServerAttempt): string {
  switch (attempt.outcome) {
    case 'connect-failed':
      return `${attempt.address}: connect failed after ${attempt.elapsedMs} ms (${rootMessage(attempt.error)})`;
    case 'not-tried':
      return `${attempt.address}: not tried, no time left`;
    case 'in-progress':
      return `${attempt.address}: connect still in progress after ${attempt.elapsedMs} ms`;
  }
}

function rootMessage(error: Error | undefined): string {
  const cause = error?.cause;
  if (cause instanceof Error) return cause.message;
  return error?.message ?? 'unknown error';
}

/**
 * A call with no address found no reachable name server within its timeout
 * (RocketMQ throws RemotingConnectException with the address list). `attempts`
 * names every address on the list and what happened at each, in the order
 * they were tried. With an empty list there is nothing to try and
 * `retriable` is false.
 */
export class NameServerUnavailableError extends RemotingError {
  /** Every address on the list and what happened there, in the order tried (empty when the list is empty). */
  readonly attempts: readonly NameServerAttempt[];
  /** Milliseconds from the start of the call until it gave up. */
  readonly elapsedMs: number;
  /** The call's timeout in milliseconds (RocketMQ `timeoutMillis`). */
  readonly timeoutMs: number;

  constructor(attempts: readonly NameServerAttempt[], elapsedMs: number, timeoutMs: number) {
    const detail =
      attempts.length === 0
        ? 'the name server address list is empty (call updateNameServerAddressList first)'
        : attempts.map(describeAttempt).join('; ');
    super(
      'REMOTING_NAME_SERVER_UNAVAILABLE',
      `no name server reachable after ${elapsedMs} ms of a ${timeoutMs} ms timeout: ${detail}`,
      // No connection was made, so the request never reached a socket: written is false, not unknown.
      {
        retriable: attempts.length > 0,
        written: false,
        cause: attempts.find((a) => a.error !== undefined)?.error,
      },
    );
    this.attempts = attempts;
    this.elapsedMs = elapsedMs;
    this.timeoutMs = timeoutMs;
  }
}
