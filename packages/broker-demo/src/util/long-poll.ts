interface Poller {
  ready: () => boolean;
  resolve: () => void;
  timer: NodeJS.Timeout;
}

/**
 * Fetches parked until there is something for them (Kafka's DelayedFetch): a
 * poller ends when its condition holds at a `notify()` or when its wait is up,
 * whichever comes first. The caller reads again afterwards either way.
 */
export class LongPollWaiters {
  private readonly pollers = new Set<Poller>();

  get size(): number {
    return this.pollers.size;
  }

  wait(ready: () => boolean, maxWaitMs: number): Promise<void> {
    if (maxWaitMs <= 0 || ready()) return Promise.resolve();
    return new Promise<void>((resolve) => {
      const poller: Poller = { ready, resolve, timer: setTimeout(() => this.finish(poller), maxWaitMs) };
      this.pollers.add(poller);
    });
  }

  notify(): void {
    for (const p of this.pollers) if (p.ready()) this.finish(p);
  }

  /** Ends every poller now (leadership moved, shutting down): each re-reads and answers. */
  releaseAll(): void {
    for (const p of this.pollers) this.finish(p);
  }

  private finish(poller: Poller): void {
    if (!this.pollers.delete(poller)) return;
    clearTimeout(poller.timer);
    poller.resolve();
  }
}
