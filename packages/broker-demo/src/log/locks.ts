/**
 * Lets reads run alongside appends (an append only writes past the size a
 * read snapshotted) but not alongside a truncation or close, which would cut
 * or close a file under a read in flight.
 */
export class ReadGate {
  private active = 0;
  private closedUntil: Promise<void> | null = null;
  private openGate: (() => void) | null = null;
  private drained: (() => void) | null = null;

  async enter(): Promise<void> {
    while (this.closedUntil !== null) await this.closedUntil;
    this.active++;
  }

  leave(): void {
    this.active--;
    if (this.active === 0) this.drained?.();
  }

  /** Shuts out new reads, waits for those in flight, runs `task`, then lets reads in again. */
  async exclusive<T>(task: () => Promise<T>): Promise<T> {
    this.closedUntil = new Promise((resolve) => {
      this.openGate = resolve;
    });
    try {
      if (this.active > 0) {
        await new Promise<void>((resolve) => {
          this.drained = resolve;
        });
      }
      this.drained = null;
      return await task();
    } finally {
      const open = this.openGate;
      this.closedUntil = null;
      this.openGate = null;
      open?.();
    }
  }
}
