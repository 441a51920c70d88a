import { EventEmitter } from 'node:events';
import type { Socket } from 'node:net';
import { FrameDecoder } from '../protocol/frame-decoder.js';
import type { RemotingCommand } from '../protocol/remoting-command.js';
import { FixedQueue } from '../util/fixed-queue.js';
import { ChannelClosedError } from './errors.js';
import type {
  PartialFrameBudget,
  PartialFrameHolder,
  PartialFramesOverBudgetError,
} from './partial-frame-budget.js';
import { notifyWrite, WriteBatch, type WriteListener } from './write-batch.js';

export type { WriteListener } from './write-batch.js';

/** Limits and timers of one {@link Channel}. */
export interface ChannelOptions {
  /** Largest frame accepted from the peer, counting the 4-byte prefix. */
  maxFrameBytes?: number;
  /** Buffered outbound bytes above which the channel reports itself not writable (Netty: 64 KiB). */
  writeBufferHighWaterMark?: number;
  /** Buffered outbound bytes at or below which it becomes writable again (Netty: 32 KiB). */
  writeBufferLowWaterMark?: number;
  /** Close-worthy inactivity, reads and writes both counted (Netty's ALL_IDLE); 0 disables. */
  idleTimeoutMs?: number;
  /** Shared by a server's channels: caps the bytes all of them hold in unfinished frames. */
  partialFrameBudget?: PartialFrameBudget;
  /** The peer's "host:port" when the socket's is not it (a PROXY protocol header named the real client). */
  remoteAddress?: string | undefined;
}

/** The events a {@link Channel} emits, with their arguments. */
export interface ChannelEvents {
  /** A whole frame arrived and decoded. */
  command: [command: RemotingCommand];
  /** The peer sent bytes that are not a frame; the channel closes right after. */
  protocolError: [error: Error];
  /** The outbound buffer crossed a watermark: false above the high mark, true again at or below the low mark. */
  writabilityChanged: [writable: boolean];
  /** No reads or writes for `idleTimeoutMs` (Netty's IdleStateEvent ALL_IDLE). */
  idle: [];
  /** The socket failed (ECONNRESET, EPIPE, a TLS error); `close` follows. */
  error: [error: Error];
  /** The socket closed; `hadError` when an error closed it. Emitted once. */
  close: [hadError: boolean];
}

/** The callback a write takes: called once, with an error if the bytes never reached the socket. */
export type WriteCallback = (error: Error | null) => void;

/** Default high watermark of the outbound buffer, in bytes: 64 KiB, Netty's default. */
export const DEFAULT_WRITE_BUFFER_HIGH_WATER_MARK = 64 * 1024;
/** Default low watermark of the outbound buffer, in bytes: 32 KiB, Netty's default. */
export const DEFAULT_WRITE_BUFFER_LOW_WATER_MARK = 32 * 1024;

/**
 * A connection that speaks remoting frames: it turns inbound bytes into
 * commands and commands into outbound bytes. It knows nothing of requests,
 * responses or processors.
 *
 * Writes made in the same tick are encoded into one buffer and flushed
 * together on the next tick (one write for many small frames); a lone write is
 * flushed on that same next tick, so nothing waits for company. The outbound buffer is bounded by
 * watermarks: above the high mark `isWritable()` turns false (and
 * `writabilityChanged` fires), at or below the low mark it turns true again.
 */
export class Channel extends EventEmitter<ChannelEvents> implements PartialFrameHolder {
  /** The underlying net.Socket (or tls.TLSSocket). */
  readonly socket: Socket;
  /**
   * The peer as "host:port", fixed at creation (RocketMQ's parseChannelRemoteAddr):
   * the client a PROXY protocol header named, behind a load balancer.
   */
  readonly remoteAddress: string;
  /** This end as "host:port". */
  readonly localAddress: string;
  private readonly decoder: FrameDecoder;
  private readonly highWaterMark: number;
  private readonly lowWaterMark: number;
  private writable = true;
  private readonly batch = new WriteBatch();
  private flushScheduled = false;
  private closed = false;
  private readonly closedEvent: Promise<void>;
  private readPausedBy = new Set<string>();
  private readonly decoded: RemotingCommand[] = [];
  /** Callers of `waitWritable`, oldest first; a waiter that timed out stays as a tombstone (resolve null). */
  private readonly writableWaiters = new FixedQueue<WritableWaiter>();
  private writableWaiting = 0;
  private writableWakeScheduled = false;
  private readonly partialFrameBudget: PartialFrameBudget | null;
  /** What this channel last told the budget it holds. */
  private partialFrameBytesReported = 0;

  /** @internal A server or client makes its channels; users receive them. */
  constructor(socket: Socket, options: ChannelOptions = {}) {
    super();
    this.socket = socket;
    this.remoteAddress = options.remoteAddress ?? formatAddress(socket.remoteAddress, socket.remotePort);
    this.localAddress = formatAddress(socket.localAddress, socket.localPort);
    this.decoder = new FrameDecoder({ maxFrameBytes: options.maxFrameBytes });
    this.partialFrameBudget = options.partialFrameBudget ?? null;
    this.highWaterMark = options.writeBufferHighWaterMark ?? DEFAULT_WRITE_BUFFER_HIGH_WATER_MARK;
    this.lowWaterMark = Math.min(
      options.writeBufferLowWaterMark ?? DEFAULT_WRITE_BUFFER_LOW_WATER_MARK,
      this.highWaterMark,
    );
    socket.setNoDelay(true);
    if (options.idleTimeoutMs !== undefined && options.idleTimeoutMs > 0) {
      socket.setTimeout(options.idleTimeoutMs, () => this.emit('idle'));
    }
    socket.on('data', (chunk: Buffer) => this.onData(chunk));
    socket.on('error', (error) => this.emit('error', error));
    let markClosed!: () => void;
    this.closedEvent = new Promise((resolve) => {
      markClosed = resolve;
    });
    socket.once('close', (hadError) => {
      this.closed = true;
      this.partialFrameBudget?.release(this);
      this.failWritableWaiters();
      this.emit('close', hadError);
      markClosed();
    });
    socket.on('drain', () => this.updateWritability());
  }

  /** True once the channel is closed or closing; writes then fail with ChannelClosedError. */
  get isClosed(): boolean {
    return this.closed || this.socket.destroyed;
  }

  /** Whether the outbound buffer is below the high watermark. Callers that can wait should. */
  isWritable(): boolean {
    return this.writable && !this.isClosed;
  }

  /** Bytes written by the application and not yet handed to the kernel. */
  get bufferedBytes(): number {
    return this.socket.writableLength + this.batch.pendingBytes;
  }

  /**
   * Queues a command for writing. The frames of one tick are encoded back to
   * back into one buffer and handed to the socket in one write on the next
   * tick (a body above INLINE_BODY_MAX_BYTES goes as the caller's own Buffer,
   * never copied). `callback` runs once the bytes are handed to the kernel,
   * or with an error if they never will be; a WriteListener hears the same
   * through its `writeDone`. Returns whether the channel is still writable
   * after this write, as `stream.write()` does: false once the buffered
   * bytes are above the high watermark (or the channel is closed), and a
   * caller that can wait should then wait (`waitWritable`) before writing more.
   * @throws RemotingEncodeError when the command cannot be encoded in its serialization; nothing is queued
   */
  write(command: RemotingCommand, callback?: WriteCallback | WriteListener): boolean {
    if (this.isClosed) {
      const error = new ChannelClosedError(this.remoteAddress);
      if (callback) process.nextTick(notifyWrite, callback, error);
      return false;
    }
    this.batch.add(command, callback);
    if (!this.flushScheduled) {
      this.flushScheduled = true;
      process.nextTick(this.flush);
    }
    if (this.writable && this.bufferedBytes > this.highWaterMark) {
      this.writable = false;
      this.emit('writabilityChanged', false);
    }
    return this.writable;
  }

  /**
   * Resolves true once the channel is writable and it is this caller's turn,
   * or false when `timeoutMs` passes or the channel closes first. Waiters are
   * woken one at a time in arrival order, each only while the channel is
   * still writable, and the next one on a later turn of the event loop,
   * after the one woken before had its chance to write: a crowd of waiters
   * behind a slow peer cannot all write at once (the discipline of the
   * framework's own writability queue). A caller that waits should write
   * soon after it wakes.
   */
  waitWritable(timeoutMs: number): Promise<boolean> {
    if (this.isClosed) return Promise.resolve(false);
    if (this.writableWaiting === 0 && this.isWritable()) return Promise.resolve(true);
    return new Promise((resolve) => {
      const waiter: WritableWaiter = { resolve, timer: null };
      waiter.timer = setTimeout(() => this.settleWaiter(waiter, false), Math.max(0, timeoutMs));
      this.writableWaiters.push(waiter);
      this.writableWaiting += 1;
      if (this.isWritable()) this.scheduleWritableWake();
    });
  }

  private settleWaiter(waiter: WritableWaiter, writable: boolean): void {
    const resolve = waiter.resolve;
    if (resolve === null) return;
    waiter.resolve = null;
    if (waiter.timer !== null) clearTimeout(waiter.timer);
    this.writableWaiting -= 1;
    resolve(writable);
  }

  private scheduleWritableWake(): void {
    if (this.writableWakeScheduled) return;
    this.writableWakeScheduled = true;
    setImmediate(this.wakeNextWritableWaiter);
  }

  /** Wakes the oldest live waiter if the channel is writable; the one after it waits for a later turn. */
  private readonly wakeNextWritableWaiter = (): void => {
    this.writableWakeScheduled = false;
    while (this.writableWaiting > 0 && this.isWritable()) {
      const waiter = this.writableWaiters.shift();
      if (waiter === undefined) return;
      if (waiter.resolve === null) continue;
      this.settleWaiter(waiter, true);
      if (this.writableWaiting > 0) this.scheduleWritableWake();
      return;
    }
  };

  private failWritableWaiters(): void {
    for (
      let waiter = this.writableWaiters.shift();
      waiter !== undefined;
      waiter = this.writableWaiters.shift()
    ) {
      this.settleWaiter(waiter, false);
    }
  }

  /**
   * Stops reading for `reason` until `resumeReading(reason)`; reading resumes
   * only when no reason is left (slow outbound, a full executor queue, ...).
   * This is Netty's autoRead, keyed so that independent causes don't undo each other.
   */
  pauseReading(reason: string): void {
    if (this.readPausedBy.size === 0) this.socket.pause();
    this.readPausedBy.add(reason);
  }

  /** Withdraws `reason` for pausing; reading resumes when no reason is left. */
  resumeReading(reason: string): void {
    if (!this.readPausedBy.delete(reason)) return;
    if (this.readPausedBy.size === 0 && !this.isClosed) this.socket.resume();
  }

  /** True while reading is paused for at least one reason. */
  get isReadPaused(): boolean {
    return this.readPausedBy.size > 0;
  }

  /** Resolves once the socket's 'close' has fired (its calls have been failed by then). */
  whenClosed(): Promise<void> {
    return this.closedEvent;
  }

  /** Closes gracefully: queued writes are flushed first. */
  close(): void {
    if (this.socket.destroyed) return;
    // Frames written this tick are still in the batch: they leave before the FIN.
    if (this.flushScheduled) this.flush();
    this.socket.end();
    // A peer that never reads would keep a half-closed socket forever.
    setTimeout(() => this.socket.destroy(), 1000).unref();
  }

  /** Closes at once, dropping queued writes. */
  destroy(error?: Error): void {
    this.socket.destroy(error);
  }

  /**
   * The tick's frames go out together. A write's callback re-checks writability
   * while the channel is not writable: below the socket's own
   * writableHighWaterMark (16 KiB) no 'drain' follows, and only a write's
   * callback tells that the buffer emptied.
   */
  private readonly flush = (): void => {
    this.flushScheduled = false;
    if (this.isClosed) {
      this.batch.discard(new ChannelClosedError(this.remoteAddress));
      return;
    }
    this.batch.flush(this.socket, this.afterFlush);
  };

  private readonly afterFlush = (): void => {
    if (!this.writable) this.updateWritability();
  };

  private onData(chunk: Buffer): void {
    const out = this.decoded;
    try {
      this.decoder.pushTo(chunk, out);
    } catch (error) {
      // Commands decoded before the bad frame are still delivered.
      this.deliver(out);
      this.emit('protocolError', error as Error);
      this.socket.destroy();
      return;
    }
    this.deliver(out);
    if (this.partialFrameBudget !== null) {
      const held = this.decoder.heldBytes;
      if (held !== this.partialFrameBytesReported && !this.isClosed) {
        this.partialFrameBytesReported = held;
        this.partialFrameBudget.update(this, held);
      }
    }
    // What handling this read wrote (answers of synchronous processors, calls a
    // response callback made) leaves now, in one write, as a raw socket server
    // would do; the flush already queued for the tick then finds nothing to do.
    if (this.flushScheduled && !this.isClosed) this.flush();
  }

  /** @internal Called by the partial-frame budget: this channel held the most when the server passed its cap. */
  abortOverBudget(error: PartialFramesOverBudgetError): void {
    this.partialFrameBytesReported = 0;
    this.emit('protocolError', error);
    this.socket.destroy();
  }

  /**
   * Hands every command of a read to the 'command' listeners, each exactly
   * once. A listener that throws must not cut the read short (the commands
   * after it would be lost) nor leave the array for the next read to deliver
   * again: its error is re-thrown on a later tick, as an uncaught exception
   * of its own.
   */
  private deliver(out: RemotingCommand[]): void {
    const count = out.length;
    for (let i = 0; i < count; i++) {
      try {
        this.emit('command', out[i] as RemotingCommand);
      } catch (error) {
        process.nextTick(rethrow, error);
      }
    }
    out.length = 0;
  }

  private updateWritability(): void {
    // Frames still in this tick's batch count too: a drain of the socket alone
    // must not reopen a channel whose next batch is already over the mark.
    if (!this.writable && this.bufferedBytes <= this.lowWaterMark) {
      this.writable = true;
      this.emit('writabilityChanged', true);
      if (this.writableWaiting > 0) this.scheduleWritableWake();
    }
  }
}

/** A caller of `waitWritable`; `resolve` is null once it was woken or gave up. */
interface WritableWaiter {
  resolve: ((writable: boolean) => void) | null;
  timer: NodeJS.Timeout | null;
}

function rethrow(error: unknown): never {
  throw error;
}

/** "host:port" of a socket end ("[v6]:port" for IPv6, IPv4-mapped addresses unwrapped); "unknown" without a host. */
export function formatAddress(host: string | undefined, port: number | undefined): string {
  if (host === undefined) return 'unknown';
  const bare = host.startsWith('::ffff:') ? host.slice(7) : host;
  return bare.includes(':') ? `[${bare}]:${port}` : `${bare}:${port}`;
}
