/**
 * raw-net's write path, given the same technique remoting-ts's channel uses
 * (its transport/write-batch.ts): the frames of a tick are encoded back to
 * back into one buffer and handed to the socket in one write; a body above
 * INLINE_BODY_MAX_BYTES is written as its own Buffer instead of copied. Kept
 * as its own copy because the benchmarks use only the framework's public API.
 */
import type net from 'node:net';
import { viewOf } from './bytes.js';

const SLAB_BYTES = 64 * 1024;
/** The same threshold as remoting-ts's channel, so both pay the same copies. */
export const INLINE_BODY_MAX_BYTES = 8 * 1024;

export class SlabWriter {
  private slab: Buffer = Buffer.alloc(0);
  private end = 0;
  private segmentStart = 0;
  private readonly chunks: Buffer[] = [];
  private pending = 0;

  constructor(private readonly socket: net.Socket) {}

  /** Bytes appended since the last flush. */
  get pendingBytes(): number {
    return this.pending;
  }

  /** Room for `bytes` more at the returned offset of `this.buffer`; fill it, then `commit`. */
  reserve(bytes: number): number {
    if (this.slab.length - this.end < bytes) {
      this.closeSegment();
      this.slab = Buffer.allocUnsafeSlow(Math.max(SLAB_BYTES, bytes));
      this.end = 0;
      this.segmentStart = 0;
    }
    return this.end;
  }

  get buffer(): Buffer {
    return this.slab;
  }

  commit(bytes: number): void {
    this.end += bytes;
    this.pending += bytes;
  }

  /** Appends `bytes` (a frame or a body): copied when small, else queued as is. */
  append(bytes: Buffer): void {
    if (bytes.length <= INLINE_BODY_MAX_BYTES) {
      const at = this.reserve(bytes.length);
      this.slab.set(bytes, at);
      this.commit(bytes.length);
      return;
    }
    this.closeSegment();
    this.chunks.push(bytes);
    this.pending += bytes.length;
  }

  /** One write when everything sits in the slab, else one writev under cork. */
  flush(): void {
    this.closeSegment();
    const chunks = this.chunks;
    this.pending = 0;
    if (chunks.length === 0) return;
    if (chunks.length === 1) this.socket.write(chunks[0] as Buffer);
    else {
      this.socket.cork();
      for (const chunk of chunks) this.socket.write(chunk);
      this.socket.uncork();
    }
    chunks.length = 0;
  }

  private closeSegment(): void {
    if (this.end > this.segmentStart) {
      this.chunks.push(viewOf(this.slab, this.segmentStart, this.end));
      this.segmentStart = this.end;
    }
  }
}
