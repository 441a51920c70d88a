/**
 * A request parked until it can be answered (Kafka's DelayedOperation): an
 * acks=all produce waiting for the HW, a fetch long-poll waiting for data.
 */
export interface DelayedOperation<T> {
  /** The answer if the operation can finish now; undefined keeps it waiting. */
  tryComplete(): T | undefined;
  /** The answer once its time has run out. */
  onExpiration(): T;
}

/** A deadline scheduled on a DelayedOperationTimer. */
export interface TimerTask {
  /** Drops the deadline; its callback never runs. Harmless after it ran. */
  cancel(): void;
}

interface Scheduled {
  deadlineMs: number;
  /** Order among equal deadlines: first scheduled, first run. */
  seq: number;
  run: (() => void) | null;
}

/**
 * One timer for every parked operation of a broker (Kafka's SystemTimer
 * under its purgatories): deadlines in a min-heap, and one Node timer armed
 * for the earliest, instead of a setTimeout per parked request. A broker
 * parks a long-poll per follower and per consumer and an acks=all wait per
 * produce request; most end early and are cancelled. A cancelled deadline
 * stays in the heap until it comes up (cheap: a few per request, gone within
 * the longest wait), so cancelling costs nothing but a flag.
 */
export class DelayedOperationTimer {
  private readonly heap: Scheduled[] = [];
  private live = 0;
  private seq = 0;
  private timer: NodeJS.Timeout | null = null;
  private armedForMs = Number.POSITIVE_INFINITY;

  /** Deadlines scheduled and neither run nor cancelled: a gauge of what is parked. */
  get size(): number {
    return this.live;
  }

  /** Runs `run` once `delayMs` has passed, unless cancelled first. */
  schedule(delayMs: number, run: () => void): TimerTask {
    const entry: Scheduled = { deadlineMs: Date.now() + Math.max(0, delayMs), seq: this.seq++, run };
    this.push(entry);
    this.live++;
    this.arm();
    return {
      cancel: () => {
        if (entry.run === null) return;
        entry.run = null;
        this.live--;
        if (this.live === 0) this.disarm();
      },
    };
  }

  /** Runs every deadline that is due, then arms for the next. */
  private fire(): void {
    this.timer = null;
    this.armedForMs = Number.POSITIVE_INFINITY;
    const now = Date.now();
    while (this.heap.length > 0 && this.heap[0]!.deadlineMs <= now) {
      const entry = this.pop()!;
      const run = entry.run;
      if (run === null) continue;
      entry.run = null;
      this.live--;
      run();
    }
    this.arm();
  }

  private arm(): void {
    // Cancelled deadlines at the top are dropped rather than waited for.
    while (this.heap.length > 0 && this.heap[0]!.run === null) this.pop();
    const next = this.heap[0];
    if (next === undefined) {
      this.disarm();
      return;
    }
    if (next.deadlineMs >= this.armedForMs) return;
    this.disarm();
    this.armedForMs = next.deadlineMs;
    this.timer = setTimeout(() => this.fire(), Math.max(0, next.deadlineMs - Date.now()));
  }

  private disarm(): void {
    if (this.timer !== null) clearTimeout(this.timer);
    this.timer = null;
    this.armedForMs = Number.POSITIVE_INFINITY;
    if (this.live === 0) this.heap.length = 0;
  }

  private push(entry: Scheduled): void {
    const heap = this.heap;
    heap.push(entry);
    let i = heap.length - 1;
    while (i > 0) {
      const parent = (i - 1) >> 1;
      if (!before(heap[i]!, heap[parent]!)) break;
      [heap[i], heap[parent]] = [heap[parent]!, heap[i]!];
      i = parent;
    }
  }

  private pop(): Scheduled | undefined {
    const heap = this.heap;
    const top = heap[0];
    const last = heap.pop();
    if (heap.length === 0 || last === undefined) return top;
    heap[0] = last;
    let i = 0;
    for (;;) {
      const left = 2 * i + 1;
      const right = left + 1;
      let smallest = i;
      if (left < heap.length && before(heap[left]!, heap[smallest]!)) smallest = left;
      if (right < heap.length && before(heap[right]!, heap[smallest]!)) smallest = right;
      if (smallest === i) return top;
      [heap[i], heap[smallest]] = [heap[smallest]!, heap[i]!];
      i = smallest;
    }
  }
}

function before(a: Scheduled, b: Scheduled): boolean {
  return a.deadlineMs < b.deadlineMs || (a.deadlineMs === b.deadlineMs && a.seq < b.seq);
}

interface Parked<T> {
  operation: DelayedOperation<T>;
  resolve: (outcome: T) => void;
  expiry: TimerTask;
}

/**
 * Parked operations of one kind for one partition (Kafka's purgatory). An
 * operation is tried when parked, again at every `checkAll()` (the caller
 * runs it whenever what they wait on may have moved: the HW, the LEO, the
 * ISR), ends when its time runs out on the shared timer, or is ended by
 * `completeAll()` (leadership lost, shutting down). Each ends exactly once,
 * its deadline cancelled.
 */
export class DelayedOperations<T> {
  private readonly parked = new Set<Parked<T>>();

  /** `timer` is shared by every purgatory of a broker; one of their own by default (tests). */
  constructor(private readonly timer: DelayedOperationTimer = new DelayedOperationTimer()) {}

  /** Operations parked now: a gauge. */
  get size(): number {
    return this.parked.size;
  }

  /** Resolves with the operation's answer: at once if it can finish now, else when it does or expires. */
  park(operation: DelayedOperation<T>, timeoutMs: number): Promise<T> {
    const now = operation.tryComplete();
    if (now !== undefined) return Promise.resolve(now);
    if (timeoutMs <= 0) return Promise.resolve(operation.onExpiration());
    return new Promise<T>((resolve) => {
      const entry: Parked<T> = {
        operation,
        resolve,
        expiry: this.timer.schedule(timeoutMs, () => this.finish(entry, operation.onExpiration())),
      };
      this.parked.add(entry);
    });
  }

  /** Tries every parked operation; those that can finish, do. */
  checkAll(): void {
    for (const entry of this.parked) {
      const outcome = entry.operation.tryComplete();
      if (outcome !== undefined) this.finish(entry, outcome);
    }
  }

  /** Ends every parked operation now with `outcome(operation)`. */
  completeAll(outcome: (operation: DelayedOperation<T>) => T): void {
    for (const entry of this.parked) this.finish(entry, outcome(entry.operation));
  }

  private finish(entry: Parked<T>, outcome: T): void {
    if (!this.parked.delete(entry)) return;
    entry.expiry.cancel();
    entry.resolve(outcome);
  }
}
