/**
 * A request parked until it can be answered (Kafka's DelayedOperation): an
 * acks=all produce waiting for the HW, a fetch long-poll waiting for data.
 */
export interface DelayedOperation<T> {
  /** The answer if the operation can finish now; undefined keeps it waiting. */
  tryComplete(): T | undefined;
  /** The answer once its time has run out. */
  onExpiration(): T;
}

interface Parked<T> {
  operation: DelayedOperation<T>;
  resolve: (outcome: T) => void;
  timer: NodeJS.Timeout;
}

/**
 * Parked operations of one partition (Kafka's purgatory, one per kind). An
 * operation is tried when parked, again at every `checkAll()` (the caller
 * runs it whenever what they wait on may have moved: the HW, the LEO, the
 * ISR), ends when its time runs out, or is ended by `completeAll()`
 * (leadership lost, shutting down). Each ends exactly once, its timer cleared.
 */
export class DelayedOperations<T> {
  private readonly parked = new Set<Parked<T>>();

  get size(): number {
    return this.parked.size;
  }

  /** Resolves with the operation's answer: at once if it can finish now, else when it does or expires. */
  park(operation: DelayedOperation<T>, timeoutMs: number): Promise<T> {
    const now = operation.tryComplete();
    if (now !== undefined) return Promise.resolve(now);
    if (timeoutMs <= 0) return Promise.resolve(operation.onExpiration());
    return new Promise<T>((resolve) => {
      const entry: Parked<T> = {
        operation,
        resolve,
        timer: setTimeout(() => this.finish(entry, operation.onExpiration()), timeoutMs),
      };
      this.parked.add(entry);
    });
  }

  /** Tries every parked operation; those that can finish, do. */
  checkAll(): void {
    for (const entry of this.parked) {
      const outcome = entry.operation.tryComplete();
      if (outcome !== undefined) this.finish(entry, outcome);
    }
  }

  /** Ends every parked operation now with `outcome(operation)`. */
  completeAll(outcome: (operation: DelayedOperation<T>) => T): void {
    for (const entry of this.parked) this.finish(entry, outcome(entry.operation));
  }

  private finish(entry: Parked<T>, outcome: T): void {
    if (!this.parked.delete(entry)) return;
    clearTimeout(entry.timer);
    entry.resolve(outcome);
  }
}
