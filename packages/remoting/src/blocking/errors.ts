import { RemotingError } from '../protocol/errors.js';
import type { InvocationFacts } from '../remoting/errors.js';

/** What went wrong with a BlockingRemotingClient's worker thread. */
export type BlockingWorkerFailure =
  /** The worker did not load or become ready within `workerStartTimeoutMs`. */
  | 'start-failed'
  /** The worker exited (an uncaught error, or `process.exit()` run inside it). */
  | 'exited'
  /** The worker did not answer within the call's timeout plus `workerGraceMs`; it was stopped. */
  | 'unresponsive';

function describeFailure(failure: BlockingWorkerFailure, f: InvocationFacts, graceMs: number): string {
  const what =
    failure === 'start-failed'
      ? 'found no working worker thread (it failed to start)'
      : failure === 'exited'
        ? 'lost its worker thread (it exited)'
        : `got no answer from its worker thread within the timeout plus ${graceMs} ms (the worker was stopped)`;
  const written = f.written
    ? 'the request may have been written to the socket'
    : 'the request was not written to the socket';
  return (
    `blocking call to ${f.remoteAddress} (code ${f.requestCode}, opaque ${f.opaque}) ${what} ` +
    `after ${f.elapsedMs} ms of a ${f.timeoutMs} ms timeout; ${written}; ` +
    'this BlockingRemotingClient makes no more calls: create a new one'
  );
}

/**
 * A BlockingRemotingClient's worker thread, where its connections live, failed
 * to start, exited, or stopped answering (`code` REMOTING_WORKER). The client
 * is unusable afterwards. `written` is false only when the worker provably
 * never took the request; otherwise it is true, meaning the request may have
 * reached the peer (nobody can know whether it did).
 */
export class RemotingWorkerError extends RemotingError implements InvocationFacts {
  /** Which way the worker failed. */
  readonly failure: BlockingWorkerFailure;
  readonly remoteAddress: string;
  readonly requestCode: number;
  readonly opaque: number;
  readonly elapsedMs: number;
  readonly timeoutMs: number;
  override readonly written: boolean;

  constructor(failure: BlockingWorkerFailure, facts: InvocationFacts, graceMs: number, cause?: unknown) {
    super('REMOTING_WORKER', describeFailure(failure, facts, graceMs), {
      cause,
      retriable: false,
      written: facts.written,
    });
    this.failure = failure;
    this.remoteAddress = facts.remoteAddress;
    this.requestCode = facts.requestCode;
    this.opaque = facts.opaque;
    this.elapsedMs = facts.elapsedMs;
    this.timeoutMs = facts.timeoutMs;
    this.written = facts.written;
  }
}

/** Where a refused blocking call was made. */
export type ReentrantCallSite =
  /** While this thread was already inside a blocking call (from code that call ran). */
  | 'nested-call'
  /** Inside a BlockingRemotingClient's own worker thread, the thread that would have to answer. */
  | 'blocking-worker';

/**
 * A blocking call was refused because the thread that would have to answer it
 * is the one it would park (`code` REMOTING_REENTRANT_CALL): a call made from
 * inside another blocking call on the same thread, or a BlockingRemotingClient
 * used inside a blocking client's worker thread. Nothing was sent.
 */
export class RemotingReentrantCallError extends RemotingError {
  /** Where the refused call was made. */
  readonly site: ReentrantCallSite;

  constructor(site: ReentrantCallSite) {
    super(
      'REMOTING_REENTRANT_CALL',
      site === 'nested-call'
        ? 'a blocking call was made while this thread is already parked in one; ' +
            'it would wait for itself (nothing was sent)'
        : "a BlockingRemotingClient cannot be used inside a blocking client's worker thread: " +
            'it would park the thread that has to answer it (nothing was sent)',
      { retriable: false, written: false },
    );
    this.site = site;
  }
}
