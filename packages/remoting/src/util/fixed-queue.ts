/** Slots per ring; a power of two so the index wraps with a mask. */
const RING_SIZE = 2048;
const RING_MASK = RING_SIZE - 1;

/** One fixed-size circular buffer; full rings are chained, so a queue grows without copying. */
class Ring<T> {
  readonly slots: Array<T | undefined> = new Array(RING_SIZE);
  top = 0;
  bottom = 0;
  next: Ring<T> | null = null;

  isEmpty(): boolean {
    return this.top === this.bottom;
  }

  isFull(): boolean {
    return ((this.top + 1) & RING_MASK) === this.bottom;
  }
}

/**
 * A FIFO with O(1) push and shift and no array shifting or splicing: a chain
 * of fixed rings, the layout undici's `fixed-queue` uses. One copy serves
 * every queue that needs one (permit waiters, executor tasks, writability
 * waiters). Cancelled entries are the owner's business: it marks them dead and
 * skips them when they come out.
 */
export class FixedQueue<T> {
  private head: Ring<T> = new Ring<T>();
  private tail: Ring<T> = this.head;
  private count = 0;

  /** Entries in the queue, dead ones included. */
  get length(): number {
    return this.count;
  }

  push(value: T): void {
    if (this.head.isFull()) {
      const ring = new Ring<T>();
      this.head.next = ring;
      this.head = ring;
    }
    const ring = this.head;
    ring.slots[ring.top] = value;
    ring.top = (ring.top + 1) & RING_MASK;
    this.count += 1;
  }

  /** Removes and returns the oldest entry, or undefined when empty. */
  shift(): T | undefined {
    const ring = this.tail;
    if (ring.isEmpty()) return undefined;
    const value = ring.slots[ring.bottom];
    ring.slots[ring.bottom] = undefined;
    ring.bottom = (ring.bottom + 1) & RING_MASK;
    this.count -= 1;
    if (ring.isEmpty() && ring.next !== null) this.tail = ring.next;
    return value;
  }
}
