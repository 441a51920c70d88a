import type { Channel } from '../transport/channel.js';
import {
  WritabilityQueue,
  type WritabilityTicket,
  type WritabilityWaiter,
} from '../transport/writability-queue.js';
import type { ResponseFuture } from './response-future.js';

/** Per-request framing and header overhead, counted on top of the body for queued bytes. */
const FRAME_OVERHEAD_BYTES = 256;

/** What a queued call tells when its turn comes or its channel closes first. */
export interface QueuedCallOwner {
  /** The channel is writable and it is this call's turn: write now (synchronously). */
  queuedCallWritable(call: QueuedCall): void;
  /** The channel closed before the call's turn; nothing of it was written. */
  queuedCallClosed(call: QueuedCall): void;
}

/**
 * A call waiting in a channel's writability queue: the queue's waiter as one
 * object with methods, not an object literal with a closure per method.
 */
export class QueuedCall implements WritabilityWaiter {
  readonly bytes: number;
  /** Its place in the queue; null until enqueued (or when enqueueing ended it at once). */
  ticket: WritabilityTicket | null = null;

  constructor(
    private readonly owner: QueuedCallOwner,
    readonly future: ResponseFuture,
    /** A oneway call completes once written and holds its permit until then. */
    readonly oneway: boolean,
  ) {
    this.bytes = future.request.bodyLength + FRAME_OVERHEAD_BYTES;
  }

  onWritable(): void {
    this.owner.queuedCallWritable(this);
  }

  onClosed(): void {
    this.owner.queuedCallClosed(this);
  }
}

/**
 * One FIFO writability queue per channel that has calls waiting for it to
 * drain below its high watermark. A channel's queue lives while the channel
 * is open; a closed channel never gets one (its calls fail at once instead),
 * so nothing here outlives a connection.
 */
export class ChannelWriteQueues {
  private readonly queues = new Map<Channel, WritabilityQueue>();

  /** Channels that have a queue (open channels some call has waited on). */
  get channels(): number {
    return this.queues.size;
  }

  /** Calls waiting for `channel` to become writable. */
  waitingOn(channel: Channel): number {
    return this.queues.get(channel)?.waiting ?? 0;
  }

  /** Calls waiting, and the bytes they hold, over every channel. */
  totals(): { calls: number; bytes: number } {
    let calls = 0;
    let bytes = 0;
    for (const queue of this.queues.values()) {
      calls += queue.waiting;
      bytes += queue.queuedBytes;
    }
    return { calls, bytes };
  }

  /**
   * Puts `call` at the back of its channel's queue; its `ticket` is set
   * unless enqueueing ended it at once (the queue may let it through, or the
   * channel closed). On a closed channel the call hears `onClosed` at once.
   */
  enqueue(call: QueuedCall): void {
    const channel = call.future.channel;
    if (channel.isClosed) {
      call.onClosed();
      return;
    }
    let queue = this.queues.get(channel);
    if (queue === undefined) {
      queue = new WritabilityQueue(channel);
      this.queues.set(channel, queue);
      channel.once('close', () => this.queues.delete(channel));
    }
    call.ticket = queue.enqueue(call);
  }

  /** Takes a call that gave up (deadline, abort, shutdown) out of its queue, body and all. */
  cancel(call: QueuedCall): void {
    const ticket = call.ticket;
    if (ticket === null) return;
    call.ticket = null;
    this.queues.get(call.future.channel)?.cancel(ticket);
  }

  /** Tells every queued call its channel is closing (shutdown). */
  failAll(): void {
    for (const queue of this.queues.values()) queue.failAll();
  }
}
