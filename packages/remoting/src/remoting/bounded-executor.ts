import pLimit, { type LimitFunction } from 'p-limit';

export interface ExecutorOptions {
  /** Tasks running at once (RocketMQ: the processor's thread count). Default 64. */
  concurrency?: number;
  /** Tasks allowed to wait for a slot; past this a task is refused (RocketMQ: the pool's queue). Default 10000. */
  queueCapacity?: number;
}

export const DEFAULT_EXECUTOR_CONCURRENCY = 64;
export const DEFAULT_EXECUTOR_QUEUE_CAPACITY = 10_000;

/**
 * A processor's executor: bounded concurrency (p-limit) in front of a bounded
 * queue. A full queue refuses work instead of buffering without bound, which
 * the caller turns into SYSTEM_BUSY, as RocketMQ's RejectedExecutionException.
 */
export class BoundedExecutor {
  readonly concurrency: number;
  readonly queueCapacity: number;
  private readonly limit: LimitFunction;
  /** Submitted and not yet finished; counted here because p-limit updates its own counts a microtask late. */
  private submitted = 0;

  constructor(options: ExecutorOptions = {}) {
    this.concurrency = options.concurrency ?? DEFAULT_EXECUTOR_CONCURRENCY;
    this.queueCapacity = options.queueCapacity ?? DEFAULT_EXECUTOR_QUEUE_CAPACITY;
    if (!(this.concurrency >= 1))
      throw new RangeError(`concurrency must be at least 1, got ${this.concurrency}`);
    if (!(this.queueCapacity >= 0))
      throw new RangeError(`queueCapacity must be >= 0, got ${this.queueCapacity}`);
    this.limit = pLimit(this.concurrency);
  }

  get active(): number {
    return Math.min(this.submitted, this.concurrency);
  }

  get queued(): number {
    return Math.max(0, this.submitted - this.concurrency);
  }

  /** Runs `task` when a slot frees up; false (and `task` never runs) when the queue is full. */
  trySubmit(task: () => Promise<void>): boolean {
    if (this.submitted >= this.concurrency + this.queueCapacity) return false;
    this.submitted += 1;
    // Tasks handle their own errors; `done` on rejection only keeps a bug from becoming an unhandled rejection.
    this.limit(task).then(this.done, this.done);
    return true;
  }

  private readonly done = (): void => {
    this.submitted -= 1;
  };

  /** Resolves when nothing is running or queued, or after `timeoutMs`; true if it drained. */
  async drain(timeoutMs: number): Promise<boolean> {
    const deadline = performance.now() + timeoutMs;
    while (this.submitted > 0) {
      if (performance.now() >= deadline) return false;
      await new Promise((resolve) => setTimeout(resolve, 10));
    }
    return true;
  }
}
