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
    const byName = (part: string) => goals.find((g) => g.name.includes(part))!;
    expect(byName('async ×256, 128 B, 1 conn: req/s vs raw-net').met).toBe(true);
    expect(byName('async ×256, 128 B, 1 conn: req/s vs grpc-js').met).toBe(true);
    const sync = byName('sync, 128 B, 1 conn: p50 latency');
    expect(sync.met).toBe(false);
    expect(sync.measured).toBe('1.50× (60 µs vs 40 µs)');
    expect(byName('oneway, 128 B, 1 conn').met).toBeNull();
    expect(byName('async ×256, 16 KiB, 1 conn').measured).toBe(
      'not measured (remoting-ts and raw-net missing)',
    );
    expect(goals.filter((g) => g.name.includes('4 conn'))).toHaveLength(3);
    expect(goalsTable(goals)).toContain('MISSED');
  });

  test('JSON and ROCKETMQ have their own targets', () => {
    const goals = evaluateGoals([
      result('raw-net', 'async', 100_000),
      result('remoting-ts', 'async', 70_000, { serialize: 'JSON' }),
      result('remoting-ts', 'async', 70_000, { serialize: 'ROCKETMQ' }),
    ]);
    const asyncGoals = goals.filter((g) => g.name.endsWith('async ×256, 128 B, 1 conn: req/s vs raw-net'));
    expect(asyncGoals.map((g) => [g.name.split(':')[0], g.target, g.met])).toEqual([
      ['remoting-ts JSON', '≥ 0.6× raw-net', true],
      ['remoting-ts ROCKETMQ', '≥ 0.85× raw-net', false],
    ]);
  });

  test('a baseline run that completed no calls judges nothing, and says so', () => {
    const stalled = result('grpc-js', 'async', 10_000);
    stalled.runs[1] = { ...stalled.runs[1]!, count: 0, reqPerSec: 0 };
    const goals = evaluateGoals([
      result('raw-net', 'async', 100_000),
      stalled,
      result('remoting-ts', 'async', 85_000, { serialize: 'JSON' }),
    ]);
    const vsGrpc = goals.find((g) => g.name.includes('vs grpc-js'))!;
    expect(vsGrpc.met).toBeNull();
    expect(vsGrpc.measured).toBe(
      'not judged: grpc-js completed 0 calls in run 2 of 3 (at least 100 per run needed)',
    );
    // The table shows no ratio against it either.
    const line = invokeTable([result('raw-net', 'async', 100_000), stalled]).split('\n')[2]!;
    expect(line).toMatch(/—\s+—/);
  });

  test('too few completed calls on our side judges nothing either', () => {
    const goals = evaluateGoals([
      result('raw-net', 'async', 100_000),
      result('remoting-ts', 'async', 40, { serialize: 'JSON' }),
    ]);
    const verdict = goals.find((g) => g.name.endsWith('1 conn: req/s vs raw-net'))!;
    expect(verdict.met).toBeNull();
    expect(verdict.measured).toContain('remoting-ts (JSON) completed 40 calls in run 1 of 3');
  });
});

describe('formatting', () => {
  test('bytes, compact numbers and ratios', () => {
    expect(formatBytes(128)).toBe('128 B');
    expect(formatBytes(262144)).toBe('256 KiB');
    expect(formatCompact(45_123)).toBe('45.1k');
    expect(formatCompact(1_234_567)).toBe('1.23M');
    expect(formatCompact(7)).toBe('7');
    // Trailing zeros of an integer are digits, not padding.
    expect(formatCompact(940)).toBe('940');
    expect(formatCompact(100)).toBe('100');
    expect(formatCompact(250)).toBe('250');
    expect(formatCompact(250_000)).toBe('250k');
    expect(formatCompact(1_000)).toBe('1k');
    expect(formatCompact(999_999)).toBe('1M');
    expect(formatCompact(0.25)).toBe('0.25');
    expect(formatCompact(0)).toBe('0');
    expect(formatRatio(0.8512)).toBe('0.85×');
    expect(formatRatio(null)).toBe('—');
  });
});

describe('goals of a quick run', () => {
  test('are marked indicative: a miss reads "missed (indicative)", not MISSED', () => {
    const results = [
      result('raw-net', 'async', 100_000),
      result('remoting-ts', 'async', 40_000, { serialize: 'JSON' }),
    ];
    const quick = evaluateGoals(results, { indicative: true });
    const missed = quick.find((g) => g.name.endsWith('async ×256, 128 B, 1 conn: req/s vs raw-net'))!;
    expect(missed).toMatchObject({ met: false, indicative: true });
    expect(goalsTable(quick)).toContain('missed (indicative)');
    expect(goalsTable(quick)).not.toContain('MISSED');
    // A full run's miss still shouts.
    expect(goalsTable(evaluateGoals(results))).toContain('MISSED');
  });
});
