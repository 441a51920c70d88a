/**
 * The benchmarks must never rot: run `bench --quick` with tiny durations and
 * check that it produces every case for every implementation in the shape the
 * JSON report promises. Speed is never asserted.
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { IMPLS } from '../src/impls/index.js';
import { planClusterCases } from '../src/suites/cluster.js';
import { codecCases } from '../src/suites/codec.js';
import { planInvokeCases } from '../src/suites/invoke-plan.js';
import type { BenchReport } from '../src/types.js';
import { type BenchRun, runBench, runBenchReport } from './support/run-bench.js';

const RESULT_KEYS = [
  'suite',
  'impl',
  'mode',
  'bodyBytes',
  'inflight',
  'connections',
  'serialize',
  'reqPerSec',
  'p50us',
  'p99us',
  'p999us',
  'runs',
];

describe('bench --quick (tiny durations)', () => {
  let dir: string;
  let run: BenchRun;
  let report: BenchReport;

  beforeAll(async () => {
    ({ run, report, dir } = await runBenchReport(
      ['--quick', '--duration', '0.05', '--repeat', '1'],
      // The broker suite starts real clusters: about 20 s of this on two quiet cores, several
      // times that on a loaded machine. A guard against a hang, not a speed claim.
      400_000,
      'bench-smoke-',
    ));
  }, 420_000);

  afterAll(() => {
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  test('the report describes the machine and says client and server share it', () => {
    expect(report.machine.cores).toBeGreaterThan(0);
    expect(report.machine.cpuModel).not.toBe('');
    expect(report.machine.nodeVersion).toBe(process.version);
    expect(report.machine.clientAndServerShareMachine).toBe(true);
    expect(run.stdout).toContain('client and server share this machine');
  });

  test('every result has the fields the issue fixes, with sane values', () => {
    expect(report.results.length).toBeGreaterThan(0);
    for (const r of report.results) {
      for (const key of RESULT_KEYS) expect(r).toHaveProperty(key);
      expect(r.runs).toHaveLength(1);
      expect(Number.isFinite(r.reqPerSec)).toBe(true);
      expect(r.reqPerSec).toBeGreaterThanOrEqual(0);
      if (r.suite === 'invoke' && r.mode !== 'oneway' && r.runs[0]!.count > 0) {
        expect(r.p50us).toBeGreaterThan(0);
        expect(r.p999us!).toBeGreaterThanOrEqual(r.p50us!);
      }
      if (r.suite === 'invoke' && r.mode !== 'oneway') {
        // How the warm-up went, which says whether the row is steady state.
        expect(r.runs[0]!.warmup!.ms).toBeGreaterThanOrEqual(report.settings.warmupSec * 1000 - 1);
        expect(report.settings.maxWarmupSec).toBeGreaterThanOrEqual(report.settings.warmupSec);
        expect(r.runs[0]!.warmup!.callsPerCaller).toBeGreaterThanOrEqual(0);
      }
      if (r.suite === 'invoke' && r.runs[0]!.count > 0) {
        // CPU per operation of both processes, read at the edges of the run.
        expect(r.runs[0]!.clientCpuUsPerOp).toBeGreaterThan(0);
        expect(r.runs[0]!.serverCpuUsPerOp).toBeGreaterThanOrEqual(0);
        // Allocation of the client per operation, and its GC share of the run.
        expect(r.runs[0]!.clientHeapBytesPerOp).toBeGreaterThan(0);
        expect(r.runs[0]!.clientGcShare).toBeGreaterThanOrEqual(0);
        expect(r.runs[0]!.clientGcShare).toBeLessThanOrEqual(1);
      }
    }
  });

  test('every planned invoke case exists, once, for every implementation that supports it', () => {
    const { cases } = planInvokeCases({
      quick: true,
      goalsOnly: false,
      impls: IMPLS.map((i) => i.name),
      unavailable: new Map(),
    });
    const key = (c: {
      impl: string;
      mode: string;
      bodyBytes: number;
      inflight: number | null;
      connections: number | null;
      serialize: string | null;
    }) => `${c.impl}|${c.serialize}|${c.mode}|${c.bodyBytes}|${c.inflight}|${c.connections}`;
    const got = report.results
      .filter((r) => r.suite === 'invoke')
      .map(key)
      .sort();
    expect(got).toEqual(cases.map(key).sort());
    for (const impl of IMPLS) expect(got.some((k) => k.startsWith(`${impl.name}|`))).toBe(true);
  });

  test('the cluster suite measures raw-net and remoting-ts on 1 and 2 server workers, with both ratios', () => {
    const { cases } = planClusterCases({ impls: undefined, modes: undefined, serializations: undefined });
    const key = (c: { impl: string; serialize: string | null; mode: string; serverWorkers?: number }) =>
      `${c.impl}|${c.serialize}|${c.mode}|${c.serverWorkers}`;
    const rows = report.results.filter((r) => r.suite === 'cluster');
    expect(rows.map(key).sort()).toEqual(cases.map(key).sort());
    for (const r of rows) expect(r.connections).toBe(4);
    expect(run.stdout).toContain('cluster (server workers under node:cluster)');
    expect(run.stdout).toMatch(/server workers\s+impl\s+req\/s.*vs raw-net\s+2 \/ 1 workers/);
    const html = readFileSync(path.join(dir, 'out.html'), 'utf8');
    expect(html).toContain('<table id="cluster">');
    expect(html).toContain('data-server-workers="2"');
  });

  test('every codec case exists', () => {
    const got = report.results.filter((r) => r.suite === 'codec');
    expect(got).toHaveLength(codecCases().length);
  });

  test('what was not measured is said, with the reason', () => {
    const reasons = report.skipped.map((s) => s.reason).join('\n');
    expect(reasons).toContain('skipped by --quick');
    expect(reasons).toContain('gRPC has no oneway call');
    expect(report.skipped.some((s) => s.reason.startsWith('failed'))).toBe(false);
  });

  test('the terminal table and the goal verdicts are printed, the verdicts as indicative (a quick run)', () => {
    expect(run.stdout).toMatch(/vs raw-net\s+vs grpc-js/);
    expect(run.stdout).toContain('goals (reported, not asserted)');
    expect(run.stdout).toContain('the verdicts are indicative only');
    expect(run.stdout).not.toContain('MISSED');
    expect(report.goals.every((g) => g.indicative === true)).toBe(true);
    // 8 comparisons (5 at 1 connection, 3 at 4), each for JSON and ROCKETMQ.
    expect(report.goals.length).toBe(16);
  });

  test('the HTML report was written with its charts', () => {
    const html = readFileSync(path.join(dir, 'out.html'), 'utf8');
    expect(html).toContain('data-chart="throughput-vs-inflight"');
    expect(html).toContain('data-chart="latency-percentiles"');
    expect(html).toContain('data-chart="oneway"');
    expect(html).toContain('data-chart="cpu-per-op"');
  });
});

test('--tsx runs the same cases through the TypeScript loader instead of the bundle', async () => {
  const dir = mkdtempSync(path.join(tmpdir(), 'bench-bundle-'));
  try {
    const file = path.join(dir, 'out.json');
    const run = await runBench(
      [
        '--tsx',
        '--goals',
        '--impl',
        'raw-net,remoting-ts,remoting-ts-blocking',
        '--duration',
        '0.05',
        '--repeat',
        '1',
        '--json',
        file,
      ],
      280_000,
    );
    expect(run.code, run.stderr).toBe(0);
    const report = JSON.parse(readFileSync(file, 'utf8')) as BenchReport;
    expect(report.settings.workers).toBe('tsx');
    // Goal shapes: raw-net × 7, remoting-ts × 7 shapes × 2 serializations, the blocking client × 1
    // (sync on 1 connection: its worker thread loads the sources through tsx too).
    expect(report.results).toHaveLength(7 + 14 + 1);
    const blocking = report.results.find((r) => r.impl === 'remoting-ts-blocking');
    expect(blocking).toMatchObject({ mode: 'sync', connections: 1, serialize: 'ROCKETMQ' });
    expect(blocking?.runs[0]?.errors).toBe(0);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}, 300_000);
