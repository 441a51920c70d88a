import { readUInt32At, viewOf } from './bytes.js';

/**
 * A streaming splitter for `[uint32 BE length][length bytes]` frames, as
 * efficient as we know how to make it, because raw-net is the Node limit the
 * other implementations are measured against: a frame wholly inside a chunk
 * is handed out as a view (no copy); a frame spanning chunks is gathered into
 * one buffer of exactly its size, so each byte is copied at most once.
 */
export class LengthPrefixedSplitter {
  private readonly prefix = Buffer.alloc(4);
  private prefixFilled = 0;
  private partial: Buffer | null = null;
  private partialFilled = 0;

  constructor(private readonly onFrame: (frame: Buffer) => void) {}

  push(chunk: Buffer): void {
    let pos = 0;
    const end = chunk.length;
    while (pos < end) {
      if (this.partial !== null) {
        const n = Math.min(this.partial.length - this.partialFilled, end - pos);
        chunk.copy(this.partial, this.partialFilled, pos, pos + n);
        this.partialFilled += n;
        pos += n;
        if (this.partialFilled === this.partial.length) {
          const frame = this.partial;
          this.partial = null;
          this.onFrame(frame);
        }
        continue;
      }
      let length: number;
      if (this.prefixFilled === 0 && end - pos >= 4) {
        length = readUInt32At(chunk, pos);
        if (end - pos - 4 >= length) {
          this.onFrame(viewOf(chunk, pos, pos + 4 + length));
          pos += 4 + length;
          continue;
        }
      } else {
        const n = Math.min(4 - this.prefixFilled, end - pos);
        chunk.copy(this.prefix, this.prefixFilled, pos, pos + n);
        this.prefixFilled += n;
        pos += n;
        if (this.prefixFilled < 4) return;
        this.prefixFilled = 0;
        length = readUInt32At(this.prefix, 0);
        // The gathered frame keeps its prefix so it has the same layout as a view.
        this.partial = Buffer.allocUnsafe(4 + length);
        this.prefix.copy(this.partial, 0);
        this.partialFilled = 4;
        if (length === 0) {
          const frame = this.partial;
          this.partial = null;
          this.onFrame(frame);
        }
        continue;
      }
      this.partial = Buffer.allocUnsafe(4 + length);
      this.partialFilled = 0;
    }
  }
}
