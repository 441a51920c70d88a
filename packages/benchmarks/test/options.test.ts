import { describe, expect, test } from 'vitest';
import { parseOptions } from '../src/options.js';

describe('bench options', () => {
  test('defaults: every suite, 3 runs of 2 s, a 1 s warm-up', () => {
    const options = parseOptions([]);
    expect(options).toMatchObject({ quick: false, suite: 'all', durationSec: 2, warmupSec: 1, repeat: 3 });
  });

  test('--quick shortens the runs; --duration and --repeat override', () => {
    expect(parseOptions(['--quick']).durationSec).toBe(0.25);
    expect(parseOptions(['--quick', '--duration', '0.05', '--repeat', '1'])).toMatchObject({
      durationSec: 0.05,
      warmupSec: 0.025,
      repeat: 1,
    });
  });

  test('the separators pnpm passes through are not an end of options', () => {
    expect(parseOptions(['--', '--', '--quick', '--json', 'out.json'])).toMatchObject({
      quick: true,
      jsonFile: 'out.json',
    });
  });

  test('--goals means the invoke suite unless a suite is named', () => {
    expect(parseOptions(['--goals']).suite).toBe('invoke');
    expect(parseOptions(['--goals', '--suite', 'all']).suite).toBe('all');
  });

  test('--body and --connections take lists of positive integers', () => {
    expect(parseOptions(['--body', '128,16384', '--connections', '1'])).toMatchObject({
      bodies: [128, 16384],
      connections: [1],
    });
    expect(parseOptions([]).bodies).toBeUndefined();
  });

  test('bad values are refused with the flag named', () => {
    expect(() => parseOptions(['--duration', 'fast'])).toThrow('--duration');
    expect(() => parseOptions(['--body', '16k'])).toThrow('--body');
    expect(() => parseOptions(['--nope'])).toThrow();
  });

  test('an unknown implementation, mode or serialization is refused, naming the known ones', () => {
    expect(() => parseOptions(['--impl', 'raw-net,nope'])).toThrow(
      '--impl: unknown "nope" (known: raw-net, grpc-js, remoting-ts, remoting-ts-blocking)',
    );
    expect(() => parseOptions(['--mode', 'batch'])).toThrow('--mode: unknown "batch"');
    expect(() => parseOptions(['--serialize', 'xml'])).toThrow('--serialize: unknown "XML"');
    expect(parseOptions(['--impl', 'grpc-js', '--serialize', 'json']).serializations).toEqual(['JSON']);
  });
});
