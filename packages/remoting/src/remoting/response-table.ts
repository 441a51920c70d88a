import type { Channel } from '../transport/channel.js';
import type { ResponseFuture } from './response-future.js';

/** Slots of a new table (a power of two); it doubles whenever it is half full. */
const INITIAL_SLOTS = 1024;

/**
 * In-flight requests by opaque: the one place a response finds its caller.
 * An opaque is live at most once; a response is matched only to a call made
 * on the channel it arrived on.
 *
 * An open-addressing hash table (linear probing, backward-shift deletion) on
 * one array rather than a Map. Every call adds and removes an entry, and a
 * Map under that churn keeps allocating fresh backing tables (deleted
 * entries are only reclaimed by a rehash into a new table). With the Map,
 * the invoke benchmark fell at random into a mode where scavenges kept most
 * young objects alive until a full GC (25-37 % of its time in GC instead of
 * 3-5 %); with this table it has not in 20 measured cases. Our reading, not
 * proven: a replaced table that reached the old generation keeps the newer
 * ones, and the futures they hold, alive. Here an ended call's slot is
 * simply cleared; the array is replaced only when in-flight calls outgrow it.
 */
export class ResponseTable {
  private slots: Array<ResponseFuture | undefined> = new Array(INITIAL_SLOTS).fill(undefined);
  private mask = INITIAL_SLOTS - 1;
  /** 32 minus log2 of the slot count: an opaque's home is the top bits of its hash. */
  private shift = 32 - Math.log2(INITIAL_SLOTS);
  private count = 0;

  get size(): number {
    return this.count;
  }

  /** Registers `future`; false (nothing changes) when another call with its opaque is still live. */
  put(future: ResponseFuture): boolean {
    const opaque = future.opaque;
    const slots = this.slots;
    const mask = this.mask;
    let i = home(opaque, this.shift);
    for (let entry = slots[i]; entry !== undefined; entry = slots[i]) {
      if (entry.opaque === opaque) return entry === future;
      i = (i + 1) & mask;
    }
    slots[i] = future;
    this.count += 1;
    if (this.count * 2 > slots.length) this.grow();
    return true;
  }

  /** Removes and returns the call waiting for `opaque` on `channel`; undefined when there is none there. */
  take(channel: Channel, opaque: number): ResponseFuture | undefined {
    const i = this.find(opaque);
    if (i < 0) return undefined;
    const future = this.slots[i] as ResponseFuture;
    if (future.channel !== channel) return undefined;
    this.deleteAt(i);
    return future;
  }

  /** Removes `future` only if it is still the one registered under its opaque. */
  remove(future: ResponseFuture): void {
    const i = this.find(future.opaque);
    if (i >= 0 && this.slots[i] === future) this.deleteAt(i);
  }

  /** Removes and returns every future whose deadline plus `graceMs` has passed, oldest call first. */
  takeExpired(now: number, graceMs: number): ResponseFuture[] {
    return this.takeWhere((future) => future.isExpired(now, graceMs));
  }

  /** Removes and returns every future waiting on `channel`, oldest call first. */
  takeForChannel(channel: Channel): ResponseFuture[] {
    return this.takeWhere((future) => future.channel === channel);
  }

  /** Removes and returns every future, oldest call first. */
  takeAll(): ResponseFuture[] {
    return this.takeWhere(() => true);
  }

  private takeWhere(matches: (future: ResponseFuture) => boolean): ResponseFuture[] {
    const taken: ResponseFuture[] = [];
    if (this.count === 0) return taken;
    for (const future of this.slots) {
      if (future !== undefined && matches(future)) taken.push(future);
    }
    for (const future of taken) this.remove(future);
    // Slots follow hash order; callers see calls in the order they began, as a Map would give them.
    taken.sort((a, b) => a.beginTimestamp - b.beginTimestamp);
    return taken;
  }

  /** The slot holding `opaque`, or -1. */
  private find(opaque: number): number {
    const slots = this.slots;
    const mask = this.mask;
    let i = home(opaque, this.shift);
    for (let entry = slots[i]; entry !== undefined; entry = slots[i]) {
      if (entry.opaque === opaque) return i;
      i = (i + 1) & mask;
    }
    return -1;
  }

  /** Empties slot `hole`, moving later entries of its probe run back so every entry stays reachable. */
  private deleteAt(hole: number): void {
    const slots = this.slots;
    const mask = this.mask;
    let i = hole;
    let j = hole;
    for (;;) {
      j = (j + 1) & mask;
      const entry = slots[j];
      if (entry === undefined) break;
      const k = home(entry.opaque, this.shift);
      // The entry at j may move to i unless its home lies cyclically in (i, j].
      const stays = i <= j ? i < k && k <= j : i < k || k <= j;
      if (!stays) {
        slots[i] = entry;
        i = j;
      }
    }
    slots[i] = undefined;
    this.count -= 1;
  }

  private grow(): void {
    const old = this.slots;
    const slots: Array<ResponseFuture | undefined> = new Array(old.length * 2).fill(undefined);
    const mask = slots.length - 1;
    const shift = this.shift - 1;
    for (const future of old) {
      if (future === undefined) continue;
      let i = home(future.opaque, shift);
      while (slots[i] !== undefined) i = (i + 1) & mask;
      slots[i] = future;
    }
    this.slots = slots;
    this.mask = mask;
    this.shift = shift;
  }
}

/**
 * An opaque's first slot: Fibonacci hashing (the top bits of opaque × 2^32/φ),
 * so that opaques a caller chose, not only this process's sequence, spread
 * over the table.
 */
function home(opaque: number, shift: number): number {
  return Math.imul(opaque, 0x9e3779b1) >>> shift;
}
