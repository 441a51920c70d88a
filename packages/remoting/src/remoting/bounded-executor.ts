import { FixedQueue } from '../util/fixed-queue.js';

/**
 * Bounds of the executor a processor runs on (RocketMQ registers each
 * processor with its own ExecutorService). A request refused because the
 * queue is full is answered SYSTEM_BUSY with the `[OVERLOAD]` remark.
 */
export interface ExecutorOptions {
  /** Tasks running at once (RocketMQ: the processor's thread count). Default 64. */
  concurrency?: number;
  /** Tasks allowed to wait for a slot; past this a task is refused (RocketMQ: the pool's queue). Default 10000. */
  queueCapacity?: number;
}

export const DEFAULT_EXECUTOR_CONCURRENCY = 64;
export const DEFAULT_EXECUTOR_QUEUE_CAPACITY = 10_000;

/** A unit of work: `run` is synchronous, or returns a promise that settles when it is done. Tasks handle their own errors. */
export interface ExecutorTask {
  run(): void | Promise<void>;
}

/**
 * A processor's executor: bounded concurrency in front of a bounded FIFO
 * queue. A full queue refuses work instead of buffering without bound, which
 * the caller turns into SYSTEM_BUSY, as RocketMQ's RejectedExecutionException.
 *
 * A task that finds a free slot runs at once, in the caller's tick, and a
 * synchronous task costs no promise at all. (p-limit did this job first; it
 * takes two promises and a microtask hop per task, which profiles of a loaded
 * server showed at about 15 % of its time.)
 */
export class BoundedExecutor {
  readonly concurrency: number;
  readonly queueCapacity: number;
  private running = 0;
  private readonly queue = new FixedQueue<ExecutorTask>();

  constructor(options: ExecutorOptions = {}) {
    this.concurrency = options.concurrency ?? DEFAULT_EXECUTOR_CONCURRENCY;
    this.queueCapacity = options.queueCapacity ?? DEFAULT_EXECUTOR_QUEUE_CAPACITY;
    if (!(this.concurrency >= 1))
      throw new RangeError(`concurrency must be at least 1, got ${this.concurrency}`);
    if (!(this.queueCapacity >= 0))
      throw new RangeError(`queueCapacity must be >= 0, got ${this.queueCapacity}`);
  }

  get active(): number {
    return this.running;
  }

  get queued(): number {
    return this.queue.length;
  }

  /** Runs `task` now or when a slot frees up; false (and `task` never runs) when the queue is full. */
  trySubmit(task: ExecutorTask): boolean {
    if (this.running < this.concurrency) {
      this.start(task);
      return true;
    }
    if (this.queued >= this.queueCapacity) return false;
    this.queue.push(task);
    return true;
  }

  /** Resolves when nothing is running or queued, or after `timeoutMs`; true if it drained. */
  async drain(timeoutMs: number): Promise<boolean> {
    const deadline = performance.now() + timeoutMs;
    while (this.running > 0 || this.queued > 0) {
      if (performance.now() >= deadline) return false;
      await new Promise((resolve) => setTimeout(resolve, 10));
    }
    return true;
  }

  /**
   * Runs `task`, then, while tasks keep finishing synchronously and slots are
   * free, the queued ones after it: a loop, so a long queue of synchronous
   * tasks never deepens the stack.
   */
  private start(task: ExecutorTask): void {
    let current: ExecutorTask | undefined = task;
    while (current !== undefined) {
      this.running += 1;
      let outcome: void | Promise<void>;
      try {
        outcome = current.run();
      } catch {
        // Tasks report their own failures; a throw here is a bug that must not stop the queue.
        outcome = undefined;
      }
      if (outcome instanceof Promise) {
        outcome.then(this.finish, this.finish);
        return;
      }
      this.running -= 1;
      current = this.running < this.concurrency ? this.next() : undefined;
    }
  }

  private readonly finish = (): void => {
    this.running -= 1;
    const next = this.next();
    if (next !== undefined) this.start(next);
  };

  private next(): ExecutorTask | undefined {
    return this.queue.shift();
  }
}
