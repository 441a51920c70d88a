/**
 * The cluster suite's plan and its two ratios, from made-up rows: against
 * raw-net at the same worker count (never across counts), and 2 over 1
 * workers of the same implementation. No processes, no timing.
 */
import { describe, expect, test } from 'vitest';
import { throughputRatio, workerScaling } from '../src/report/compare.js';
import { clusterTable } from '../src/report/table.js';
import { planClusterCases } from '../src/suites/cluster.js';
import type { BenchResult, ImplName, InvokeMode, Serialize } from '../src/types.js';

type PlanOptions = Parameters<typeof planClusterCases>[0];
const everything: PlanOptions = { impls: undefined, modes: undefined, serializations: undefined };

describe('planClusterCases', () => {
  test('async ×256 and sync at 4 connections, 1 and 2 workers, raw-net and remoting-ts ROCKETMQ taking turns', () => {
    const { cases } = planClusterCases(everything);
    expect(
      cases.map(
        (c) => `${c.mode} ${c.inflight}/${c.connections} ×${c.serverWorkers} ${c.impl} ${c.serialize}`,
      ),
    ).toEqual([
      'async 256/4 ×1 raw-net null',
      'async 256/4 ×1 remoting-ts ROCKETMQ',
      'async 256/4 ×2 raw-net null',
      'async 256/4 ×2 remoting-ts ROCKETMQ',
      'sync 4/4 ×1 raw-net null',
      'sync 4/4 ×1 remoting-ts ROCKETMQ',
      'sync 4/4 ×2 raw-net null',
      'sync 4/4 ×2 remoting-ts ROCKETMQ',
    ]);
    for (const c of cases) expect(c.bodyBytes).toBe(128);
  });

  test('grpc-js and the blocking client are said to be left out, with the reason', () => {
    expect(planClusterCases(everything).skipped).toEqual([
      expect.objectContaining({ suite: 'cluster', impl: 'grpc-js', description: 'every case' }),
      expect.objectContaining({ suite: 'cluster', impl: 'remoting-ts-blocking', description: 'every case' }),
    ]);
    expect(planClusterCases({ ...everything, impls: ['raw-net'] }).skipped).toEqual([]);
  });

  test('--impl, --mode and --serialize narrow it as they narrow the invoke suite', () => {
    const only = (options: Partial<PlanOptions>) =>
      planClusterCases({ ...everything, ...options }).cases.map((c) => `${c.mode} ${c.impl}`);
    expect(new Set(only({ impls: ['remoting-ts'] }))).toEqual(
      new Set(['async remoting-ts', 'sync remoting-ts']),
    );
    expect(new Set(only({ modes: ['sync'] }))).toEqual(new Set(['sync raw-net', 'sync remoting-ts']));
    expect(new Set(only({ serializations: ['JSON'] }))).toEqual(new Set(['async raw-net', 'sync raw-net']));
  });
});

function row(
  impl: ImplName,
  serverWorkers: number,
  reqPerSec: number,
  options: { serialize?: Serialize; mode?: InvokeMode; count?: number } = {},
): BenchResult {
  const mode = options.mode ?? 'async';
  const run = {
    reqPerSec,
    count: options.count ?? reqPerSec,
    elapsedSec: 1,
    p50us: 100,
    p99us: 300,
    p999us: 900,
    errors: 0,
    clientCpuUsPerOp: 1,
    serverCpuUsPerOp: serverWorkers,
  };
  return {
    suite: 'cluster',
    impl,
    mode,
    bodyBytes: 128,
    inflight: mode === 'sync' ? 4 : 256,
    connections: 4,
    serialize: options.serialize ?? (impl === 'remoting-ts' ? 'ROCKETMQ' : null),
    serverWorkers,
    reqPerSec,
    p50us: 100,
    p99us: 300,
    p999us: 900,
    runs: [run],
  };
}

describe('the cluster ratios', () => {
  const results = [
    row('raw-net', 1, 100_000),
    row('remoting-ts', 1, 40_000),
    row('raw-net', 2, 150_000),
    row('remoting-ts', 2, 60_000),
    // A single-process invoke row of the same shape must never serve as a cluster baseline.
    { ...row('raw-net', 1, 1_000_000), suite: 'invoke', serverWorkers: undefined } as BenchResult,
  ];
  const [raw1, ours1, raw2, ours2] = results as [BenchResult, BenchResult, BenchResult, BenchResult];

  test('vs raw-net compares at the same worker count', () => {
    expect(throughputRatio(ours1, results, 'raw-net')).toBeCloseTo(0.4, 9);
    expect(throughputRatio(ours2, results, 'raw-net')).toBeCloseTo(0.4, 9);
  });

  test('2 / 1 workers is each implementation over its own one-worker row', () => {
    expect(workerScaling(raw2, results)).toBeCloseTo(1.5, 9);
    expect(workerScaling(ours2, results)).toBeCloseTo(1.5, 9);
    expect(workerScaling(raw1, results)).toBeNull();
  });

  test('a row too thin to judge gives no scaling rather than a wild one', () => {
    const thin = [row('raw-net', 1, 100_000, { count: 3 }), row('raw-net', 2, 150_000)];
    expect(workerScaling(thin[1] as BenchResult, thin)).toBeNull();
  });

  test('the terminal table shows both ratios and the server CPU summed over the workers', () => {
    const lines = clusterTable(results).split('\n');
    expect(lines[0]).toMatch(
      /server workers\s+impl\s+req\/s.*vs raw-net\s+2 \/ 1 workers\s+cpu µs\/op c \/ s/,
    );
    const ours = lines.find((line) => /\s2\s+remoting-ts \(ROCKETMQ\)/.test(line)) ?? '';
    expect(ours).toMatch(/60,000.*0\.40×\s+1\.50×\s+1\.00 \/ 2\.00/);
    // The invoke row is not in the cluster table.
    expect(lines.filter((line) => line.includes('1,000,000'))).toEqual([]);
  });
});
