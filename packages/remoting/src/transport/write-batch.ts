import type { Socket } from 'node:net';
import type { RemotingCommand } from '../protocol/remoting-command.js';

/** Called once, with an error if the bytes never reached the socket (the Channel's WriteCallback). */
type WriteCallback = (error: Error | null) => void;

/**
 * A write's callback as a method of an object the writer already has (a
 * call's future), so a write needs no closure of its own (the Channel's WriteListener).
 */
export interface WriteListener {
  /** Called once: with null when the frame's bytes reached the socket, else with the error that kept them from it. */
  writeDone(error: Error | null): void;
}

/** Tells a write's callback or listener how it ended. */
export function notifyWrite(target: WriteCallback | WriteListener, error: Error | null): void {
  if (typeof target === 'function') target(error);
  else target.writeDone(error);
}

/**
 * Frames are packed into slabs of this size. One slab serves many ticks: a
 * flushed region is never written again, the next frames go after it, and a
 * slab is dropped (to the GC) once full, after the socket is done with it.
 */
const SLAB_BYTES = 64 * 1024;

/**
 * Bodies up to this size are copied next to their header; larger ones are
 * handed to the socket as the caller's own Buffer. Small bodies cost less to
 * copy than the socket's bookkeeping for one more writev chunk; at 16 KiB the
 * copy loses (invoke benchmark, async ×256: raw-net's client 6.4 µs/op with
 * 16 KiB bodies as their own chunks, 17.5 µs/op with them copied).
 */
export const INLINE_BODY_MAX_BYTES = 8 * 1024;

const NO_CALLBACKS: Array<WriteCallback | WriteListener> = [];

/**
 * A tick's outbound frames, encoded back to back into one buffer and handed to
 * the socket in one write. Compared with a socket.write per header and body
 * under cork, this spares the stream's per-chunk bookkeeping (a request object
 * and a callback per chunk, then a writev array) and the allocation of a
 * header buffer per frame.
 */
export class WriteBatch {
  private slab: Buffer = Buffer.alloc(0);
  /** Where the next frame goes in the slab. */
  private slabEnd = 0;
  /** Start of the slab region not yet handed to the socket. */
  private segmentStart = 0;
  /** Regions and large bodies of this tick in order, before the open slab region. */
  private readonly chunks: Buffer[] = [];
  private callbacks: Array<WriteCallback | WriteListener> = NO_CALLBACKS;
  private pending = 0;

  /** Bytes added since the last flush. */
  get pendingBytes(): number {
    return this.pending;
  }

  /** Encodes `command` into the batch; `callback` runs once the flush holding it is written (or fails). */
  add(command: RemotingCommand, callback: WriteCallback | WriteListener | undefined): void {
    const body = command.body;
    const bodyLength = body === null ? 0 : body.length;
    const inline = bodyLength <= INLINE_BODY_MAX_BYTES;
    let end = command.encodeInto(this.slab, this.slabEnd, inline);
    if (end < 0) {
      this.closeSegment();
      this.slab = Buffer.allocUnsafeSlow(Math.max(SLAB_BYTES, -end));
      this.slabEnd = 0;
      this.segmentStart = 0;
      end = command.encodeInto(this.slab, 0, inline);
    }
    this.pending += end - this.slabEnd + (inline ? 0 : bodyLength);
    this.slabEnd = end;
    if (!inline) {
      this.closeSegment();
      this.chunks.push(body as Buffer);
    }
    if (callback !== undefined) {
      if (this.callbacks === NO_CALLBACKS) this.callbacks = [];
      this.callbacks.push(callback);
    }
  }

  /**
   * Hands everything added to `socket`: one write when it all sits in the slab,
   * else one writev under cork. `done` runs after the socket has taken the last
   * byte, or with the error that stopped it; every frame's callback runs first.
   */
  flush(socket: Socket, done: (error: Error | null) => void): void {
    this.closeSegment();
    const chunks = this.chunks;
    const callbacks = this.callbacks;
    this.callbacks = NO_CALLBACKS;
    this.pending = 0;
    if (chunks.length === 0) {
      for (const callback of callbacks) notifyWrite(callback, null);
      return;
    }
    const written = (error?: Error | null): void => {
      const failure = error ?? null;
      for (const callback of callbacks) notifyWrite(callback, failure);
      done(failure);
    };
    if (chunks.length === 1) {
      socket.write(chunks[0] as Buffer, written);
    } else {
      socket.cork();
      const last = chunks.length - 1;
      for (let i = 0; i < last; i++) socket.write(chunks[i] as Buffer);
      socket.write(chunks[last] as Buffer, written);
      socket.uncork();
    }
    chunks.length = 0;
  }

  /** Everything added is dropped unwritten; each frame's callback hears `error`. */
  discard(error: Error): void {
    const callbacks = this.callbacks;
    this.callbacks = NO_CALLBACKS;
    this.chunks.length = 0;
    this.segmentStart = this.slabEnd;
    this.pending = 0;
    for (const callback of callbacks) notifyWrite(callback, error);
  }

  private closeSegment(): void {
    if (this.slabEnd > this.segmentStart) {
      this.chunks.push(this.slab.subarray(this.segmentStart, this.slabEnd));
      this.segmentStart = this.slabEnd;
    }
  }
}
