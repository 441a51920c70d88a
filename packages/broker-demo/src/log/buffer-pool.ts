/**
 * Read buffers by power-of-two size class, so a broker serving steady fetches
 * stops allocating (and the GC stops zeroing and tracing) a fresh multi-MiB
 * buffer per fetch. Buffers come from allocUnsafeSlow: each owns its memory,
 * never a slice of Node's shared slab, so handing one back cannot alias
 * anything else.
 */
export interface BufferPoolOptions {
  /** The smallest buffer handed out. Default 64 KiB. */
  minClassBytes?: number;
  /** Larger requests get a one-off buffer that is never pooled. Default 16 MiB. */
  maxClassBytes?: number;
  /** Idle buffers kept, in bytes over all classes; beyond it released buffers go to the GC. Default 32 MiB. */
  maxPooledBytes?: number;
}

export class BufferPool {
  private readonly free = new Map<number, Buffer[]>();
  private readonly minClassBytes: number;
  private readonly maxClassBytes: number;
  private readonly maxPooledBytes: number;
  private pooledBytes = 0;

  constructor(options: BufferPoolOptions = {}) {
    this.minClassBytes = options.minClassBytes ?? 64 * 1024;
    this.maxClassBytes = options.maxClassBytes ?? 16 * 1024 * 1024;
    this.maxPooledBytes = options.maxPooledBytes ?? 32 * 1024 * 1024;
  }

  /** A buffer of at least `bytes`; its contents are stale, not zeroed. */
  acquire(bytes: number): Buffer {
    const size = this.classFor(bytes);
    if (size === null) return Buffer.allocUnsafeSlow(bytes);
    const pooled = this.free.get(size)?.pop();
    if (pooled === undefined) return Buffer.allocUnsafeSlow(size);
    this.pooledBytes -= size;
    return pooled;
  }

  /** Hands a buffer back. The caller must hold no view of it any more. */
  release(buffer: Buffer): void {
    const size = buffer.length;
    if (size !== this.classFor(size)) return;
    let list = this.free.get(size);
    if (!list) {
      list = [];
      this.free.set(size, list);
    }
    if (this.pooledBytes + size > this.maxPooledBytes || list.includes(buffer)) return;
    list.push(buffer);
    this.pooledBytes += size;
  }

  /** Buffers waiting for reuse, for tests and metrics. */
  get pooledCount(): number {
    let count = 0;
    for (const list of this.free.values()) count += list.length;
    return count;
  }

  private classFor(bytes: number): number | null {
    if (bytes > this.maxClassBytes) return null;
    let size = this.minClassBytes;
    while (size < bytes) size *= 2;
    return size;
  }
}
