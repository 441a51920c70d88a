import { describe, expect, it } from 'vitest';
import { BufferPool } from '../src/log/index.js';

describe('read buffer pool', () => {
  it('hands out power-of-two size classes and reuses a released buffer of the class', () => {
    const pool = new BufferPool({ minClassBytes: 1024 });
    const a = pool.acquire(1500);
    expect(a.length).toBe(2048);
    pool.release(a);
    expect(pool.acquire(2000)).toBe(a);
    expect(pool.acquire(2000)).not.toBe(a);
    expect(pool.acquire(10).length).toBe(1024);
  });

  it('pools a buffer once however often it is released', () => {
    const pool = new BufferPool({ minClassBytes: 1024 });
    const a = pool.acquire(1024);
    pool.release(a);
    pool.release(a);
    expect(pool.pooledCount).toBe(1);
  });

  it('keeps no more idle bytes than allowed, and never pools oversize or foreign buffers', () => {
    const pool = new BufferPool({ minClassBytes: 1024, maxClassBytes: 4096, maxPooledBytes: 4096 });
    const buffers = [pool.acquire(1024), pool.acquire(1024), pool.acquire(2048), pool.acquire(1024)];
    for (const buffer of buffers) pool.release(buffer);
    expect(pool.pooledCount).toBe(3);
    const big = pool.acquire(5000);
    expect(big.length).toBe(5000);
    pool.release(big);
    pool.release(Buffer.alloc(1000));
    expect(pool.pooledCount).toBe(3);
  });
});
