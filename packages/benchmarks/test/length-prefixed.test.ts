import { describe, expect, test } from 'vitest';
import { LengthPrefixedSplitter } from '../src/impls/length-prefixed.js';

function frame(payload: Buffer): Buffer {
  const prefix = Buffer.alloc(4);
  prefix.writeUInt32BE(payload.length, 0);
  return Buffer.concat([prefix, payload]);
}

/** A deterministic pseudo-random sequence, so a failure replays exactly. */
function* lcg(seed: number): Generator<number> {
  let state = seed;
  for (;;) {
    state = (state * 1103515245 + 12345) & 0x7fffffff;
    yield state;
  }
}

describe('the raw-net frame splitter', () => {
  const random = lcg(42);
  const payloads = Array.from({ length: 200 }, (_, i) => {
    const size = random.next().value! % (i % 10 === 0 ? 70_000 : 300);
    return Buffer.alloc(size, i % 251);
  });
  const stream = Buffer.concat(payloads.map(frame));

  const split = (chunkSizes: () => number): Buffer[] => {
    const frames: Buffer[] = [];
    const splitter = new LengthPrefixedSplitter((f) => frames.push(Buffer.from(f)));
    for (let pos = 0; pos < stream.length; ) {
      const n = Math.max(1, chunkSizes());
      splitter.push(stream.subarray(pos, pos + n));
      pos += n;
    }
    return frames;
  };

  test('yields every frame, prefix included, however the stream is cut', () => {
    const expected = payloads.map(frame);
    expect(split(() => 65_536)).toEqual(expected);
    expect(split(() => 3)).toEqual(expected);
    expect(split(() => random.next().value! % 5000)).toEqual(expected);
  });

  test('a frame inside one chunk is a view of it, not a copy', () => {
    const chunk = Buffer.concat([frame(Buffer.from('ab')), frame(Buffer.from('cde'))]);
    const views: Buffer[] = [];
    new LengthPrefixedSplitter((f) => views.push(f)).push(chunk);
    expect(views.map((v) => v.buffer === chunk.buffer)).toEqual([true, true]);
    expect(views.map((v) => v.subarray(4).toString())).toEqual(['ab', 'cde']);
  });

  test('an empty frame is delivered', () => {
    const frames: Buffer[] = [];
    const splitter = new LengthPrefixedSplitter((f) => frames.push(f));
    splitter.push(Buffer.from([0, 0]));
    splitter.push(Buffer.from([0, 0]));
    expect(frames).toHaveLength(1);
    expect(frames[0]!.length).toBe(4);
  });
});
