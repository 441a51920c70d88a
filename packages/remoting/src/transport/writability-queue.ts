import { FixedQueue } from '../util/fixed-queue.js';
import type { Channel } from './channel.js';

/**
 * A caller waiting to write to a channel that is over its high watermark.
 * `onWritable` must write synchronously: the queue checks the channel's
 * writability again right after it returns.
 */
export interface WritabilityWaiter {
  /** Bytes the waiter will write (counted in `queuedBytes`). */
  readonly bytes: number;
  onWritable(): void;
  /** The channel closed first; nothing of the waiter's was written. */
  onClosed(): void;
}

/** A waiter's place in the queue; cancelling it drops the queue's reference to the waiter. */
export interface WritabilityTicket {
  waiter: WritabilityWaiter | null;
}

/**
 * The callers waiting for one channel to become writable, released one at a
 * time in arrival order and only while the channel stays writable. So however
 * many callers pile up behind a slow peer, the channel's outbound buffer never
 * holds more than its high watermark plus one frame, and a caller that gave up
 * (timeout, abort) is dropped from the queue with its body, never written.
 *
 * Waking every waiter at once (what a bare 'writable' promise does) let 2,000
 * callers with 64 KiB bodies write 125 MiB in one go after a peer's 8 s pause.
 */
export class WritabilityQueue {
  private readonly queue = new FixedQueue<WritabilityTicket>();
  private live = 0;
  private liveBytes = 0;
  private closed = false;
  private releasing = false;

  constructor(private readonly channel: Channel) {
    channel.on('writabilityChanged', (writable) => {
      if (writable) this.release();
    });
    channel.on('close', () => this.failAll());
  }

  /** Waiters still queued. */
  get waiting(): number {
    return this.live;
  }

  /** Bytes the queued waiters will write. */
  get queuedBytes(): number {
    return this.liveBytes;
  }

  /** Queues `waiter`; on a closed channel it hears `onClosed` at once. */
  enqueue(waiter: WritabilityWaiter): WritabilityTicket {
    const ticket: WritabilityTicket = { waiter };
    if (this.closed || this.channel.isClosed) {
      ticket.waiter = null;
      waiter.onClosed();
      return ticket;
    }
    this.queue.push(ticket);
    this.live += 1;
    this.liveBytes += waiter.bytes;
    // Writable already (the waiter raced a drain): let it through in order.
    if (this.channel.isWritable()) this.release();
    return ticket;
  }

  /** Removes a waiter that gave up; its ticket stays in the queue as a tombstone without it. */
  cancel(ticket: WritabilityTicket): void {
    const waiter = ticket.waiter;
    if (waiter === null) return;
    ticket.waiter = null;
    this.live -= 1;
    this.liveBytes -= waiter.bytes;
  }

  private release(): void {
    if (this.releasing) return;
    this.releasing = true;
    try {
      while (this.live > 0 && this.channel.isWritable()) {
        const ticket = this.queue.shift();
        if (ticket === undefined) break;
        const waiter = ticket.waiter;
        if (waiter === null) continue;
        this.cancel(ticket);
        try {
          waiter.onWritable();
        } catch {
          // A waiter's failure is its own; the ones behind it still get their turn.
        }
      }
    } finally {
      this.releasing = false;
    }
  }

  /** Tells every waiter the channel is closed (it closed, or its owner is shutting it down). */
  failAll(): void {
    this.closed = true;
    for (let ticket = this.queue.shift(); ticket !== undefined; ticket = this.queue.shift()) {
      const waiter = ticket.waiter;
      if (waiter === null) continue;
      this.cancel(ticket);
      try {
        waiter.onClosed();
      } catch {
        // As above: every waiter hears of the close.
      }
    }
  }
}
