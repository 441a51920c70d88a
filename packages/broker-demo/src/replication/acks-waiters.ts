import { BrokerResponseCode } from '../protocol/codes.js';

export type AckOutcome = { ok: true } | { ok: false; responseCode: number; message: string };

interface Waiter {
  requiredHw: number;
  resolve: (outcome: AckOutcome) => void;
  timer: NodeJS.Timeout;
}

/**
 * acks=all produce requests waiting for the HW to cover their last record
 * (Kafka's DelayedProduce). Each waiter ends exactly once: committed, failed
 * because the ISR fell below min.insync.replicas or leadership was lost, or
 * timed out.
 */
export class AcksWaiters {
  private readonly waiters = new Set<Waiter>();

  get size(): number {
    return this.waiters.size;
  }

  /** Waits until the HW reaches `requiredHw` (the produced batch's last offset + 1). */
  wait(requiredHw: number, timeoutMs: number): Promise<AckOutcome> {
    return new Promise<AckOutcome>((resolve) => {
      const waiter: Waiter = {
        requiredHw,
        resolve,
        timer: setTimeout(() => {
          this.finish(waiter, {
            ok: false,
            responseCode: BrokerResponseCode.REQUEST_TIMED_OUT,
            message: `the high watermark did not reach ${requiredHw} within ${timeoutMs} ms`,
          });
        }, timeoutMs),
      };
      this.waiters.add(waiter);
    });
  }

  onHighWatermark(hw: number): void {
    for (const w of this.waiters) if (hw >= w.requiredHw) this.finish(w, { ok: true });
  }

  /** After an ISR change: too few in-sync replicas fails every waiter, as Kafka answers after the append. */
  onIsrChanged(isrSize: number, minInsync: number): void {
    if (isrSize >= minInsync) return;
    this.failAll(
      BrokerResponseCode.NOT_ENOUGH_REPLICAS_AFTER_APPEND,
      `the ISR shrank to ${isrSize} replica(s), below min.insync.replicas=${minInsync}, after the append`,
    );
  }

  failAll(responseCode: number, message: string): void {
    for (const w of this.waiters) this.finish(w, { ok: false, responseCode, message });
  }

  private finish(waiter: Waiter, outcome: AckOutcome): void {
    if (!this.waiters.delete(waiter)) return;
    clearTimeout(waiter.timer);
    waiter.resolve(outcome);
  }
}
