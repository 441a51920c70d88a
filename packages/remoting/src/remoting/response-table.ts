import type { Channel } from '../transport/channel.js';
import type { ResponseFuture } from './response-future.js';

/**
 * In-flight requests by opaque: the one place a response finds its caller.
 * An opaque is live at most once; a response is matched only to a call made
 * on the channel it arrived on.
 */
export class ResponseTable {
  private readonly futures = new Map<number, ResponseFuture>();

  get size(): number {
    return this.futures.size;
  }

  /** Registers `future`; false (nothing changes) when another call with its opaque is still live. */
  put(future: ResponseFuture): boolean {
    const live = this.futures.get(future.opaque);
    if (live !== undefined && live !== future) return false;
    this.futures.set(future.opaque, future);
    return true;
  }

  /** Removes and returns the call waiting for `opaque` on `channel`; undefined when there is none there. */
  take(channel: Channel, opaque: number): ResponseFuture | undefined {
    const future = this.futures.get(opaque);
    if (future === undefined || future.channel !== channel) return undefined;
    this.futures.delete(opaque);
    return future;
  }

  /** Removes `future` only if it is still the one registered under its opaque. */
  remove(future: ResponseFuture): void {
    if (this.futures.get(future.opaque) === future) this.futures.delete(future.opaque);
  }

  /** Removes and returns every future whose deadline plus `graceMs` has passed. */
  takeExpired(now: number, graceMs: number): ResponseFuture[] {
    const expired: ResponseFuture[] = [];
    for (const [opaque, future] of this.futures) {
      if (future.isExpired(now, graceMs)) {
        this.futures.delete(opaque);
        expired.push(future);
      }
    }
    return expired;
  }

  /** Removes and returns every future waiting on `channel`. */
  takeForChannel(channel: Channel): ResponseFuture[] {
    const taken: ResponseFuture[] = [];
    for (const [opaque, future] of this.futures) {
      if (future.channel === channel) {
        this.futures.delete(opaque);
        taken.push(future);
      }
    }
    return taken;
  }

  takeAll(): ResponseFuture[] {
    const all = [...this.futures.values()];
    this.futures.clear();
    return all;
  }
}
