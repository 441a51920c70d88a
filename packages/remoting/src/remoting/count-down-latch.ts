/**
 * Java's CountDownLatch for the event loop: `await` never blocks the thread, it
 * resolves when the count reaches zero or, with a timeout, resolves false when
 * the time is up first. This is how a "synchronous" call waits.
 */
export class CountDownLatch {
  private count: number;
  private readonly waiters = new Set<(reached: boolean) => void>();

  constructor(count: number) {
    if (!Number.isInteger(count) || count < 0)
      throw new RangeError(`count must be a non-negative integer, got ${count}`);
    this.count = count;
  }

  /** The count still to go; 0 once the latch is open. */
  getCount(): number {
    return this.count;
  }

  /** Decrements the count; at zero, wakes every waiter with true. Does nothing once the count is 0. */
  countDown(): void {
    if (this.count === 0) return;
    this.count -= 1;
    if (this.count === 0) {
      for (const wake of this.waiters) wake(true);
      this.waiters.clear();
    }
  }

  /** Resolves true once the count is zero, or false if `timeoutMs` elapses first. */
  await(timeoutMs?: number): Promise<boolean> {
    if (this.count === 0) return Promise.resolve(true);
    return new Promise((resolve) => {
      let timer: NodeJS.Timeout | undefined;
      const wake = (reached: boolean) => {
        if (timer !== undefined) clearTimeout(timer);
        resolve(reached);
      };
      this.waiters.add(wake);
      if (timeoutMs !== undefined) {
        timer = setTimeout(
          () => {
            this.waiters.delete(wake);
            resolve(false);
          },
          Math.max(0, timeoutMs),
        );
      }
    });
  }
}
