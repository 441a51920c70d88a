/**
 * Runs `probe` on every address every `intervalMs` (RocketMQ's
 * scanAvailableNameSrv, scheduled at connectTimeoutMillis), never two probes
 * of one address at once: a probe stuck on a slow connect is not stacked on.
 */
export class AvailabilityScanner {
  private timer: NodeJS.Timeout | null = null;
  private readonly probing = new Set<string>();

  constructor(
    private readonly addresses: () => readonly string[],
    private readonly probe: (address: string) => Promise<void>,
    private readonly intervalMs: number,
  ) {
    if (!(intervalMs > 0)) throw new RangeError(`scan interval must be > 0 ms, got ${intervalMs}`);
  }

  get running(): boolean {
    return this.timer !== null;
  }

  /** Scans at once (RocketMQ's first scan has no delay), then every interval. */
  start(): void {
    if (this.timer !== null) return;
    this.timer = setInterval(() => this.scanNow(), this.intervalMs);
    // A scan alone must not keep a process alive that has nothing else to do.
    this.timer.unref();
    this.scanNow();
  }

  scanNow(): void {
    for (const address of this.addresses()) {
      if (this.probing.has(address)) continue;
      this.probing.add(address);
      this.probe(address)
        .catch(() => {})
        .finally(() => this.probing.delete(address));
    }
  }

  stop(): void {
    if (this.timer !== null) clearInterval(this.timer);
    this.timer = null;
  }
}
