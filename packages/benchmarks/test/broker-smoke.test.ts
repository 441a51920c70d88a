/**
 * `bench --suite broker --quick` end to end: real broker processes, every
 * row and both fetch paths measured, in the shape the JSON report promises,
 * with Kafka's ratio beside ours in every output. Speed is never asserted.
 */
import { readFileSync, rmSync } from 'node:fs';
import path from 'node:path';
import { etcdAvailability } from '@remoting-ts/broker-demo/bench';
import { afterAll, beforeAll, expect, test } from 'vitest';
import { BROKER_ROWS } from '../src/suites/broker.js';
import type { BenchReport } from '../src/types.js';
import { type BenchRun, runBenchReport } from './support/run-bench.js';

const ROW_KEYS = [
  'suite',
  'replicationFactor',
  'acks',
  'producers',
  'recordsPerSec',
  'mbPerSec',
  'produceP50Ms',
  'produceP99Ms',
  'e2eP50Ms',
  'e2eP99Ms',
];

let dir: string;
let run: BenchRun;
let report: BenchReport;

beforeAll(async () => {
  ({ run, report, dir } = await runBenchReport(
    ['--suite', 'broker', '--quick', '--duration', '0.1'],
    // A guard against a hang (real clusters on a loaded machine), not a speed claim.
    400_000,
    'bench-broker-',
  ));
}, 420_000);

afterAll(() => {
  if (dir) rmSync(dir, { recursive: true, force: true });
});

const etcd = etcdAvailability();
if (!etcd.ok) console.log(`broker bench smoke: the etcd rows are expected to be skipped: ${etcd.reason}`);
const expectedRows = BROKER_ROWS.filter((r) => etcd.ok || r.coordination !== 'etcd');

test('every broker row is measured once, with the fields the issue fixes and records actually moved', () => {
  const broker = report.broker!;
  expect(broker.results.map((r) => r.row)).toEqual(expectedRows.map((r) => r.row));
  for (const r of broker.results) {
    for (const key of ROW_KEYS) expect(r).toHaveProperty(key);
    expect(r.suite).toBe('broker');
    expect(['0', '1', 'all']).toContain(r.acks);
    expect(r.runs).toHaveLength(1);
    expect(r.recordsPerSec).toBeGreaterThan(0);
    expect(r.mbPerSec).toBeCloseTo((r.recordsPerSec * 100) / 1e6, 6);
    expect(r.produceP99Ms).toBeGreaterThanOrEqual(r.produceP50Ms);
    expect(r.e2eP50Ms).toBeGreaterThan(0);
    expect(r.e2eP99Ms).toBeGreaterThanOrEqual(r.e2eP50Ms);
    expect(r.errors).toBe(0);
  }
  const rows = broker.results.map((r) => `${r.replicationFactor}/${r.acks}/${r.producers}/${r.coordination}`);
  expect(rows).toEqual(
    [
      '1/1/1/controller',
      '3/0/1/controller',
      '3/1/1/controller',
      '3/all/1/controller',
      '3/all/3/controller',
      '3/1/1/etcd',
      '3/all/1/etcd',
    ].filter((row) => etcd.ok || !row.endsWith('/etcd')),
  );
  if (etcd.ok) expect(broker.etcdAcksAllOverController).toBeGreaterThan(0);
  expect(broker.acksAllOverAcks1).toBeGreaterThan(0);
  expect(broker.kafka.acksAllOverAcks1).toBeCloseTo(0.536, 3);
  expect(report.skipped.filter((s) => s.suite === 'broker').map((s) => s.reason)).toEqual(
    BROKER_ROWS.filter((r) => !etcd.ok && r.coordination === 'etcd').map(() => (etcd.ok ? '' : etcd.reason)),
  );
});

test('both fetch paths are measured with the server CPU per MB', () => {
  const paths = report.broker!.fetchPath;
  expect(paths.map((p) => p.path)).toEqual(['pooled-pread', 'naive-copy']);
  for (const p of paths) {
    expect(p.mbPerSec).toBeGreaterThan(0);
    expect(p.serverCpuMsPerMb).toBeGreaterThan(0);
  }
});

test("the terminal table, the HTML and the ratio line show ours beside Kafka's", () => {
  expect(run.stdout).toMatch(/RF\s+acks\s+producers\s+records\/s\s+MB\/s/);
  expect(run.stdout).toMatch(/acks=all \/ acks=1 at RF=3: ours [\d.]+×, Kafka 0\.54×/);
  expect(run.stdout).toContain('pooled-pread');
  const html = readFileSync(path.join(dir, 'out.html'), 'utf8');
  expect(html).toContain('<table id="broker">');
  expect(html).toContain('data-row="rf3-acks-all-3p"');
  expect(html).toContain('<table id="broker-fetch-path">');
  expect(html).toContain('Kafka 0.54×');
});
