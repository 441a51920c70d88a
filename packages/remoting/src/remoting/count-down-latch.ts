/**
 * Java's CountDownLatch for the event loop: `await` never blocks the thread, it
 * resolves when the count reaches zero or, with a timeout, resolves false when
 * the time is up first. This is how a "synchronous" call waits.
 */
export class CountDownLatch {
  private count: number;
  /**
   * Waiters, kept as one function until a second one comes: a sync call's
   * future has exactly one, and a Set per call showed up in the allocation
   * profile of every invokeSync and every queued oneway call.
   */
  private waiters: ((reached: boolean) => void) | Set<(reached: boolean) => void> | null = null;

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
    if (this.count !== 0) return;
    const waiters = this.waiters;
    this.waiters = null;
    if (typeof waiters === 'function') waiters(true);
    else if (waiters !== null) for (const wake of waiters) wake(true);
  }

  /** Resolves true once the count is zero, or false if `timeoutMs` elapses first. */
  await(timeoutMs?: number): Promise<boolean> {
    if (this.count === 0) return Promise.resolve(true);
    return new Promise((resolve) => {
      if (timeoutMs === undefined) {
        this.addWaiter(resolve);
        return;
      }
      const wake = (reached: boolean) => {
        clearTimeout(timer);
        resolve(reached);
      };
      const timer = setTimeout(
        () => {
          this.removeWaiter(wake);
          resolve(false);
        },
        Math.max(0, timeoutMs),
      );
      this.addWaiter(wake);
    });
  }

  private addWaiter(wake: (reached: boolean) => void): void {
    const waiters = this.waiters;
    if (waiters === null) this.waiters = wake;
    else if (typeof waiters === 'function') this.waiters = new Set([waiters, wake]);
    else waiters.add(wake);
  }

  private removeWaiter(wake: (reached: boolean) => void): void {
    const waiters = this.waiters;
    if (waiters === wake) this.waiters = null;
    else if (waiters instanceof Set) waiters.delete(wake);
  }
}
