import { readInt32At } from './big-endian.js';
import { DEFAULT_MAX_FRAME_BYTES } from './codes.js';
import { RemotingProtocolError } from './errors.js';
import { FOREIGN_PROTOCOL_PREFIX_BYTES, recognizeForeignProtocol } from './foreign-protocol.js';
import { checkTotalLength, decodeFrameBody, type RemotingCommand } from './remoting-command.js';

/** Limits of a {@link FrameDecoder}. */
export interface FrameDecoderOptions {
  /** Largest frame accepted, counting the 4-byte length prefix. Default 16 MiB. */
  maxFrameBytes?: number;
}

/**
 * The first buffer a frame spanning chunks gets, unless it is smaller. Small
 * enough that many connections each announcing a 16 MiB frame reserve little,
 * large enough that typical frames never grow.
 */
const INITIAL_PARTIAL_BYTES = 64 * 1024;

/** What checkTotalLength accepts, without building its error. */
function isPlausibleLength(total: number, maxFrameBytes: number): boolean {
  return total >= 4 && total + 4 <= maxFrameBytes;
}

/**
 * Turns a byte stream cut into arbitrary chunks into RemotingCommands.
 *
 * A frame that lies wholly inside one chunk is decoded in place (its body is a
 * view of the chunk). A frame that spans chunks is gathered into a buffer that
 * grows as its bytes arrive, doubling (capped at the frame's declared size),
 * never reserved whole up front: a peer that announces 16 MiB and sends 4
 * bytes costs 64 KiB, not 16 MiB. Doubling keeps the copying linear: a byte is
 * copied once on arrival and, on average, about once more by the regrowths.
 *
 * After a protocol error the decoder is failed: the stream cannot be
 * resynchronised, so every later `push` throws the same error. When the
 * stream's very first bytes are another protocol's (an HTTP/2 preface, an
 * HTTP request, a TLS handshake, a PROXY header), the error names it (see
 * recognizeForeignProtocol) rather than an absurd frame length.
 */
export class FrameDecoder {
  private readonly maxFrameBytes: number;
  private readonly prefix = Buffer.alloc(4);
  private prefixFilled = 0;
  /** Length field of the frame being collected, or -1 until its 4 bytes arrive. */
  private pendingTotal = -1;
  /** Gathers a frame that spans chunks; null while none does. Its length is its capacity. */
  private partial: Buffer | null = null;
  private partialFilled = 0;
  /** Stream offset of the next byte to arrive. */
  private received = 0;
  private frameStart = 0;
  private failure: RemotingProtocolError | null = null;

  constructor(options: FrameDecoderOptions = {}) {
    this.maxFrameBytes = options.maxFrameBytes ?? DEFAULT_MAX_FRAME_BYTES;
  }

  /** Bytes received but not yet part of a decoded frame (a complete length prefix counts as its 4 bytes). */
  get bufferedBytes(): number {
    return this.pendingTotal >= 0 ? 4 + this.partialFilled : this.prefixFilled;
  }

  /**
   * Bytes of memory this decoder holds for an unfinished frame: the capacity of
   * its gathering buffer (at most twice what arrived, or 64 KiB). A server adds
   * these up over its connections to cap what partial frames may hold.
   */
  get heldBytes(): number {
    return this.partial === null ? 0 : this.partial.length;
  }

  /** True after a protocol error: the decoder accepts no more bytes and its connection must close. */
  get failed(): boolean {
    return this.failure !== null;
  }

  /** Feeds a chunk; returns the commands it completed (possibly none). */
  push(chunk: Buffer): RemotingCommand[] {
    const out: RemotingCommand[] = [];
    this.pushTo(chunk, out);
    return out;
  }

  /** As `push`, appending to a caller-owned array to spare an allocation per chunk. */
  pushTo(chunk: Buffer, out: RemotingCommand[]): void {
    if (this.failure !== null) throw this.failure;
    const base = this.received;
    this.received += chunk.length;
    let pos = 0;
    try {
      while (pos < chunk.length) {
        if (this.pendingTotal < 0) {
          this.frameStart = base + pos - this.prefixFilled;
          let total: number;
          let split = false;
          if (this.prefixFilled === 0 && chunk.length - pos >= 4) {
            total = readInt32At(chunk, pos);
            pos += 4;
          } else {
            const n = Math.min(4 - this.prefixFilled, chunk.length - pos);
            chunk.copy(this.prefix, this.prefixFilled, pos, pos + n);
            this.prefixFilled += n;
            pos += n;
            if (this.prefixFilled < 4) return;
            total = this.prefix.readInt32BE(0);
            this.prefixFilled = 0;
            split = true;
          }
          if (this.frameStart === 0 && !isPlausibleLength(total, this.maxFrameBytes)) {
            this.throwIfForeign(split ? this.prefix : chunk.subarray(pos - 4, pos), chunk, pos);
          }
          checkTotalLength(total, this.maxFrameBytes, this.frameStart);
          this.pendingTotal = total;
        }
        const total = this.pendingTotal;
        if (this.partial === null && chunk.length - pos >= total) {
          const cmd = decodeFrameBody(chunk, pos, total, this.frameStart);
          pos += total;
          this.pendingTotal = -1;
          out.push(cmd);
          continue;
        }
        const n = Math.min(total - this.partialFilled, chunk.length - pos);
        const partial = this.reserve(total, n);
        chunk.copy(partial, this.partialFilled, pos, pos + n);
        this.partialFilled += n;
        pos += n;
        if (this.partialFilled === total) {
          // Full: its capacity is exactly `total` (growth stops at the declared size).
          const frame = partial;
          this.partial = null;
          this.partialFilled = 0;
          this.pendingTotal = -1;
          out.push(decodeFrameBody(frame, 0, total, this.frameStart));
        }
      }
    } catch (error) {
      this.partialFilled = 0;
      this.failure =
        error instanceof RemotingProtocolError
          ? error
          : new RemotingProtocolError(`frame could not be decoded: ${(error as Error).message}`, {
              streamOffset: this.frameStart,
              cause: error,
            });
      this.partial = null;
      throw this.failure;
    }
  }

  /**
   * The stream's first length field is no frame's: if the first bytes
   * (`lengthField` and what follows it in `chunk`) open another protocol,
   * fails naming it instead of reporting an absurd frame length.
   */
  private throwIfForeign(lengthField: Buffer, chunk: Buffer, after: number): void {
    const more = chunk.subarray(after, after + FOREIGN_PROTOCOL_PREFIX_BYTES - 4);
    const match = recognizeForeignProtocol(Buffer.concat([lengthField, more]));
    if (match === null) return;
    throw new RemotingProtocolError(match.description, { streamOffset: 0, foreignProtocol: match.protocol });
  }

  /**
   * The gathering buffer, with room for `incoming` more bytes of a frame of
   * `total` bytes: created or doubled (at least to fit, at most `total`),
   * keeping what it held.
   */
  private reserve(total: number, incoming: number): Buffer {
    const needed = this.partialFilled + incoming;
    const current = this.partial;
    if (current !== null && current.length >= needed) return current;
    const doubled = current === null ? INITIAL_PARTIAL_BYTES : current.length * 2;
    const grown = Buffer.allocUnsafe(Math.min(total, Math.max(needed, doubled)));
    if (current !== null) current.copy(grown, 0, 0, this.partialFilled);
    this.partial = grown;
    return grown;
  }
}
