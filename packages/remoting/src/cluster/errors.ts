import { RemotingError } from '../protocol/errors.js';

/** Where in a {@link ServerCluster} something happened. */
export interface ClusterWorkerFacts {
  /** The worker's place in the cluster, 0..workers-1. */
  slot: number;
  /** `cluster.Worker.id` of the process. */
  workerId: number;
  /** OS process id; undefined when the process could not be forked. */
  pid: number | undefined;
}

/**
 * A worker did not start serving: its server factory or `start()` threw, it
 * listened somewhere else than the cluster's address, it exited first, or it
 * did not report within `startTimeoutMs`. The worker's own error, rebuilt in
 * this process with its name, message, code and stack, is `cause`. Code
 * `REMOTING_CLUSTER_WORKER_START`.
 */
export class ClusterWorkerStartError extends RemotingError implements ClusterWorkerFacts {
  readonly slot: number;
  readonly workerId: number;
  readonly pid: number | undefined;
  /** What went wrong, in a few words (the message without the worker's facts). */
  readonly reason: string;

  constructor(facts: ClusterWorkerFacts, reason: string, cause?: unknown) {
    super(
      'REMOTING_CLUSTER_WORKER_START',
      `cluster worker ${facts.workerId} (slot ${facts.slot}, pid ${facts.pid ?? 'none'}) did not start: ${reason}`,
      { cause },
    );
    this.slot = facts.slot;
    this.workerId = facts.workerId;
    this.pid = facts.pid;
    this.reason = reason;
  }
}

/**
 * Workers died more often than the restart policy allows, so the cluster
 * stopped every worker instead of forking in a loop. Names the death that
 * crossed the limit. Code `REMOTING_CLUSTER_RESTART_LIMIT`.
 */
export class ClusterRestartLimitError extends RemotingError implements ClusterWorkerFacts {
  readonly slot: number;
  readonly workerId: number;
  readonly pid: number | undefined;
  /** Replacements already made within the window. */
  readonly restartsInWindow: number;
  /** The window, in milliseconds. */
  readonly windowMs: number;

  constructor(
    facts: ClusterWorkerFacts,
    how: string,
    limit: { restartsInWindow: number; maxRestarts: number; windowMs: number },
    cause?: unknown,
  ) {
    super(
      'REMOTING_CLUSTER_RESTART_LIMIT',
      `cluster worker ${facts.workerId} (slot ${facts.slot}, pid ${facts.pid ?? 'none'}) ${how}; ` +
        `${limit.restartsInWindow} workers were replaced within ${limit.windowMs} ms ` +
        `(restart.maxRestarts ${limit.maxRestarts}), so the cluster stopped`,
      { cause },
    );
    this.slot = facts.slot;
    this.workerId = facts.workerId;
    this.pid = facts.pid;
    this.restartsInWindow = limit.restartsInWindow;
    this.windowMs = limit.windowMs;
  }
}
