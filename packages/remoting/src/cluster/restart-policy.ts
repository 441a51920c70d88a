/**
 * How a {@link ServerCluster} replaces a worker that died: an Erlang/OTP
 * supervisor's restart intensity (at most `maxRestarts` within `windowMs`,
 * counted over every worker) with an exponential back-off per slot, so a
 * worker that crashes on start does not fork in a tight loop.
 */
export interface ClusterRestartOptions {
  /**
   * Replacements allowed within `windowMs`, over all workers together; the
   * next death stops the cluster (a crash loop is a bug to surface, not
   * capacity to hide). 0: any worker's death stops the cluster. Default 10.
   */
  maxRestarts?: number;
  /** The sliding window `maxRestarts` counts over, in milliseconds. Default 60 000. */
  windowMs?: number;
  /**
   * Wait before replacing a worker, in milliseconds, when its slot had no
   * other replacement within the window; each further one doubles it. Default 100.
   */
  initialDelayMs?: number;
  /** The longest wait before a replacement, in milliseconds. Default 10 000. */
  maxDelayMs?: number;
}

/** What to do about a dead worker: replace it after `delayMs`, or give up. */
export type RestartDecision =
  | { restart: true; delayMs: number }
  | { restart: false; restartsInWindow: number; maxRestarts: number; windowMs: number };

const DEFAULTS: Required<ClusterRestartOptions> = {
  maxRestarts: 10,
  windowMs: 60_000,
  initialDelayMs: 100,
  maxDelayMs: 10_000,
};

function nonNegativeInteger(name: string, value: number): number {
  if (!Number.isInteger(value) || value < 0)
    throw new RangeError(`restart.${name} must be an integer ≥ 0, got ${value}`);
  return value;
}

/** The rule alone: it takes the time as an argument and keeps no timers. */
export class RestartPolicy {
  private readonly options: Required<ClusterRestartOptions>;
  /** Replacements granted, oldest first, with the slot each was for. */
  private readonly granted: { slot: number; atMs: number }[] = [];

  constructor(options: ClusterRestartOptions = {}) {
    const merged = { ...DEFAULTS, ...definedOnly(options) };
    this.options = {
      maxRestarts: nonNegativeInteger('maxRestarts', merged.maxRestarts),
      windowMs: nonNegativeInteger('windowMs', merged.windowMs),
      initialDelayMs: nonNegativeInteger('initialDelayMs', merged.initialDelayMs),
      maxDelayMs: nonNegativeInteger('maxDelayMs', merged.maxDelayMs),
    };
  }

  /** The worker of `slot` died (or failed to start) at `nowMs`: replace it, or stop the cluster. */
  onWorkerDied(slot: number, nowMs: number): RestartDecision {
    const { maxRestarts, windowMs, initialDelayMs, maxDelayMs } = this.options;
    while (this.granted.length > 0 && nowMs - (this.granted[0] as { atMs: number }).atMs >= windowMs) {
      this.granted.shift();
    }
    if (this.granted.length >= maxRestarts) {
      return { restart: false, restartsInWindow: this.granted.length, maxRestarts, windowMs };
    }
    const earlierForSlot = this.granted.filter((grant) => grant.slot === slot).length;
    this.granted.push({ slot, atMs: nowMs });
    // 2 ** n overflows to Infinity long after maxDelayMs caps it; min keeps it finite.
    return { restart: true, delayMs: Math.min(maxDelayMs, initialDelayMs * 2 ** earlierForSlot) };
  }
}

function definedOnly(options: ClusterRestartOptions): ClusterRestartOptions {
  return Object.fromEntries(Object.entries(options).filter(([, value]) => value !== undefined));
}
