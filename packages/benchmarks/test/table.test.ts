import { describe, expect, test } from 'vitest';
import { formatBytes, formatCompact, formatRatio } from '../src/format.js';
import { evaluateGoals } from '../src/report/goals.js';
import { goalsTable, invokeTable, renderTable } from '../src/report/table.js';
import type { BenchResult, ImplName, InvokeMode, Serialize } from '../src/types.js';

function result(
  impl: ImplName,
  mode: InvokeMode,
  reqPerSec: number,
  options: { serialize?: Serialize; inflight?: number; p50us?: number | null } = {},
): BenchResult {
  const p50us = options.p50us === undefined ? (mode === 'oneway' ? null : 100) : options.p50us;
  const run = { reqPerSec, count: reqPerSec, elapsedSec: 1, p50us, p99us: p50us, p999us: p50us, errors: 0 };
  return {
    suite: 'invoke',
    impl,
    mode,
    bodyBytes: 128,
    inflight: options.inflight ?? (mode === 'sync' ? 1 : 256),
    connections: 1,
    serialize: options.serialize ?? null,
    reqPerSec,
    p50us,
    p99us: p50us,
    p999us: p50us,
    runs: [run, { ...run, reqPerSec: reqPerSec * 0.9 }, { ...run, reqPerSec: reqPerSec * 1.1 }],
  };
}

describe('renderTable', () => {
  test('fits each column to its widest cell, numbers right-aligned, null rows as rules', () => {
    const text = renderTable(
      ['impl', 'req/s'],
      [['raw-net', '1,000'], null, ['remoting-ts', '95']],
      ['left', 'right'],
    );
    expect(text.split('\n')).toEqual([
      'impl         req/s',
      '-----------  -----',
      'raw-net      1,000',
      '-----------  -----',
      'remoting-ts     95',
    ]);
  });
});

describe('invokeTable', () => {
  const results = [
    result('raw-net', 'async', 100_000),
    result('grpc-js', 'async', 10_000),
    result('remoting-ts', 'async', 85_000, { serialize: 'JSON' }),
    result('raw-net', 'oneway', 200_000),
    result('remoting-ts', 'oneway', 100_000, { serialize: 'JSON' }),
  ];
  const lines = invokeTable(results).split('\n');
  const row = (prefix: RegExp) => lines.find((line) => prefix.test(line)) ?? '';

  test('has the ratio columns', () => {
    expect(lines[0]).toContain('vs raw-net');
    expect(lines[0]).toContain('vs grpc-js');
  });

  test('a row’s ratios are against the baselines of its own shape', () => {
    const ours = row(/^async .*remoting-ts/);
    expect(ours).toContain('0.85×');
    expect(ours).toContain('8.50×');
    expect(ours).toContain('85,000');
    expect(ours).toContain('76.5k–93.5k');
  });

  test('a baseline has no ratio to itself, and oneway has none to gRPC', () => {
    expect(row(/^async .*raw-net/)).toMatch(/—\s+10\.00×/);
    expect(row(/^oneway .*remoting-ts/)).toMatch(/0\.50×\s+n\/a/);
  });

  test('shapes are separated by a rule', () => {
    expect(lines.filter((line) => /^-+( +-+)+$/.test(line))).toHaveLength(2);
  });
});

describe('goals', () => {
  test('are judged per serialization against the same run’s baselines', () => {
    const goals = evaluateGoals([
      result('raw-net', 'async', 100_000),
      result('grpc-js', 'async', 10_000),
      result('remoting-ts', 'async', 85_000, { serialize: 'JSON' }),
      result('raw-net', 'sync', 20_000, { p50us: 40 }),
      result('remoting-ts', 'sync', 15_000, { serialize: 'JSON', p50us: 60 }),
    ]);
    expect(goals.map((g) => g.met)).toEqual([true, true, false, null]);
    expect(goals[2]!.measured).toBe('1.50× (60 µs vs 40 µs)');
    expect(goalsTable(goals)).toContain('MISSED');
  });
});

describe('formatting', () => {
  test('bytes, compact numbers and ratios', () => {
    expect(formatBytes(128)).toBe('128 B');
    expect(formatBytes(262144)).toBe('256 KiB');
    expect(formatCompact(45_123)).toBe('45.1k');
    expect(formatCompact(1_234_567)).toBe('1.23M');
    expect(formatCompact(7)).toBe('7');
    expect(formatRatio(0.8512)).toBe('0.85×');
    expect(formatRatio(null)).toBe('—');
  });
});
