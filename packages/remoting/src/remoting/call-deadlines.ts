import { DeadlineWheel } from './deadline-wheel.js';
import type { ResponseFuture } from './response-future.js';
import type { ResponseTable } from './response-table.js';

/**
 * Timing of the response-table sweep (RocketMQ scanResponseTable), which fails
 * with a RemotingTimeoutError every call still waiting past its deadline plus
 * `graceMs`. Each call's own deadline normally fails it on time; the sweep is
 * the backstop. All times in ms.
 */
export interface ResponseTableScanOptions {
  /** First sweep after this long, in ms (RocketMQ: 3000). */
  initialDelayMs?: number;
  /** Sweep period, in ms (RocketMQ: 1000). */
  intervalMs?: number;
  /** A call the sweep finds is failed this long after its deadline, in ms (RocketMQ: 1000). */
  graceMs?: number;
}

/**
 * When calls time out: each call at its own deadline (one timing wheel for
 * all of them, no timer per call), and RocketMQ's response-table sweep as a
 * backstop for anything the wheel missed. Both hand an expired call to
 * `expire`; deciding what error that is stays with the caller.
 */
export class CallDeadlines {
  private readonly wheel: DeadlineWheel<ResponseFuture>;
  private readonly scan: Required<ResponseTableScanOptions>;
  private scanTimer: NodeJS.Timeout | null = null;

  constructor(
    private readonly table: ResponseTable,
    scan: ResponseTableScanOptions | undefined,
    private readonly expire: (future: ResponseFuture) => void,
  ) {
    this.wheel = new DeadlineWheel<ResponseFuture>(expire);
    this.scan = {
      initialDelayMs: scan?.initialDelayMs ?? 3000,
      intervalMs: scan?.intervalMs ?? 1000,
      graceMs: scan?.graceMs ?? 1000,
    };
  }

  /** Calls waiting for their deadline. */
  get size(): number {
    return this.wheel.size;
  }

  /** Watches `future` until its deadline (`beginTimestamp + timeoutMs`). */
  add(future: ResponseFuture): void {
    this.wheel.add(future);
  }

  /** Stops watching `future` (it ended); harmless when it is not watched. */
  remove(future: ResponseFuture): void {
    this.wheel.remove(future);
  }

  /**
   * Starts RocketMQ's response-table sweep (first after 3 s, then every 1 s,
   * failing calls 1 s past their deadline).
   */
  startSweep(): void {
    if (this.scanTimer !== null) return;
    const sweep = () => this.sweep();
    this.scanTimer = setTimeout(() => {
      sweep();
      this.scanTimer = setInterval(sweep, this.scan.intervalMs);
      this.scanTimer.unref();
    }, this.scan.initialDelayMs);
    this.scanTimer.unref();
  }

  /** Stops the sweep and the wheel's timer (shutdown); a later `add` starts the wheel again. */
  stop(): void {
    if (this.scanTimer !== null) clearTimeout(this.scanTimer);
    this.scanTimer = null;
    this.wheel.stop();
  }

  /** Takes from the table every call past its deadline plus the grace period and expires it; returns how many. */
  sweep(now = performance.now()): number {
    const expired = this.table.takeExpired(now, this.scan.graceMs);
    for (const future of expired) this.expire(future);
    return expired.length;
  }
}
