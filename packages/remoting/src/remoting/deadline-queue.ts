/** Something with a deadline that a DeadlineQueue can hold. */
export interface Deadlined {
  /** performance.now() at which it expires. */
  readonly deadline: number;
  /** The queue's bookkeeping: its slot in the heap, -1 when not queued. */
  deadlineSlot: number;
}

/**
 * Node timers fire on whole milliseconds and may run up to 1 ms before a
 * fractional performance.now() deadline; an item this close to its deadline is due.
 */
const TIMER_SLACK_MS = 1;

/** setTimeout's largest delay; a longer one fires at once (Node clamps it to 1 ms). */
const MAX_TIMER_DELAY_MS = 2 ** 31 - 1;

/**
 * Expires items at their own deadlines with one timer for the whole queue,
 * not one per item: a binary min-heap by deadline whose single timer is armed
 * for the earliest. Adding and removing are O(log n) and allocate nothing.
 * Removing the earliest item does not re-arm the timer: it fires, finds
 * nothing due and re-arms for the new earliest, so a steady stream of calls
 * costs about one timer per timeout period.
 */
export class DeadlineQueue<T extends Deadlined> {
  private readonly heap: T[] = [];
  private timer: NodeJS.Timeout | null = null;
  private timerAt = Number.POSITIVE_INFINITY;

  constructor(private readonly onExpire: (item: T) => void) {}

  get size(): number {
    return this.heap.length;
  }

  add(item: T): void {
    item.deadlineSlot = this.heap.length;
    this.heap.push(item);
    this.siftUp(item.deadlineSlot);
    if (item.deadline < this.timerAt) this.arm(item.deadline);
  }

  remove(item: T): void {
    const slot = item.deadlineSlot;
    if (slot < 0 || this.heap[slot] !== item) return;
    item.deadlineSlot = -1;
    const last = this.heap.pop() as T;
    if (slot === this.heap.length) return;
    this.heap[slot] = last;
    last.deadlineSlot = slot;
    this.siftDown(slot);
    this.siftUp(last.deadlineSlot);
  }

  /** Stops the timer; items stay queued until removed. */
  stop(): void {
    if (this.timer !== null) clearTimeout(this.timer);
    this.timer = null;
    this.timerAt = Number.POSITIVE_INFINITY;
  }

  private arm(at: number): void {
    if (this.timer !== null) clearTimeout(this.timer);
    this.timerAt = at;
    const delayMs = Math.ceil(at - performance.now());
    this.timer = setTimeout(this.fire, Math.min(MAX_TIMER_DELAY_MS, Math.max(0, delayMs || 0)));
    this.timer.unref();
  }

  private readonly fire = (): void => {
    this.timer = null;
    this.timerAt = Number.POSITIVE_INFINITY;
    const now = performance.now() + TIMER_SLACK_MS;
    while (this.heap.length > 0 && (this.heap[0] as T).deadline <= now) {
      const first = this.heap[0] as T;
      this.remove(first);
      try {
        this.onExpire(first);
      } catch {
        // An expiry handler's failure must not strand the items behind it.
      }
    }
    const next = this.heap[0];
    if (next !== undefined) this.arm(next.deadline);
  };

  private siftUp(slot: number): void {
    const heap = this.heap;
    const item = heap[slot] as T;
    while (slot > 0) {
      const parentSlot = (slot - 1) >> 1;
      const parent = heap[parentSlot] as T;
      if (parent.deadline <= item.deadline) break;
      heap[slot] = parent;
      parent.deadlineSlot = slot;
      slot = parentSlot;
    }
    heap[slot] = item;
    item.deadlineSlot = slot;
  }

  private siftDown(slot: number): void {
    const heap = this.heap;
    const length = heap.length;
    const item = heap[slot] as T;
    for (;;) {
      const left = 2 * slot + 1;
      if (left >= length) break;
      const right = left + 1;
      const child = right < length && (heap[right] as T).deadline < (heap[left] as T).deadline ? right : left;
      const childItem = heap[child] as T;
      if (childItem.deadline >= item.deadline) break;
      heap[slot] = childItem;
      childItem.deadlineSlot = slot;
      slot = child;
    }
    heap[slot] = item;
    item.deadlineSlot = slot;
  }
}
