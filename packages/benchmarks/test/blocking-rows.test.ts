/**
 * The blocking client's rows: beside the promise client's and raw-net's on
 * the same sync shape, in the terminal table and the HTML report, with
 * RocketMQ Java's published sync figure quoted as a reference.
 */
import { expect, test } from 'vitest';
import { renderHtml } from '../src/report/html.js';
import { renderTerminalReport } from '../src/report/table.js';
import { ROCKETMQ_JAVA_SYNC_REFERENCE } from '../src/suites/invoke-reference.js';
import type { BenchReport, BenchResult, ImplName, Serialize } from '../src/types.js';
import { fixtureReport } from './support/fixture-report.js';

function syncRow(impl: ImplName, serialize: Serialize, reqPerSec: number, p50us: number): BenchResult {
  const run = {
    reqPerSec,
    count: reqPerSec,
    elapsedSec: 1,
    p50us,
    p99us: p50us * 3,
    p999us: p50us * 9,
    errors: 0,
    clientCpuUsPerOp: 40,
    serverCpuUsPerOp: 20,
  };
  return {
    suite: 'invoke',
    impl,
    mode: 'sync',
    bodyBytes: 128,
    inflight: 1,
    connections: 1,
    serialize,
    reqPerSec,
    p50us,
    p99us: p50us * 3,
    p999us: p50us * 9,
    runs: [run],
  };
}

function reportWithBlockingRow(): BenchReport {
  const report = fixtureReport();
  const promiseSync = report.results.findIndex(
    (r) => r.impl === 'remoting-ts' && r.serialize === 'ROCKETMQ' && r.mode === 'sync',
  );
  report.results.splice(promiseSync + 1, 0, syncRow('remoting-ts-blocking', 'ROCKETMQ', 12_000, 83));
  return report;
}

test('the terminal table lists the blocking row in the sync shape, with its ratio to raw-net, and the Java reference', () => {
  const text = renderTerminalReport(reportWithBlockingRow());
  const lines = text.split('\n');
  const promise = lines.findIndex((line) => /^sync .*remoting-ts \(ROCKETMQ\)/.test(line));
  const blocking = lines.findIndex((line) => /^sync .*remoting-ts-blocking \(ROCKETMQ\)/.test(line));
  expect(promise).toBeGreaterThan(0);
  expect(blocking).toBe(promise + 1);
  // raw-net's sync row in the fixture runs 30,000/s.
  expect(lines[blocking]).toContain('0.40×');
  expect(text).toContain(`${ROCKETMQ_JAVA_SYNC_REFERENCE.callsPerSec.toLocaleString('en-US')} calls/s`);
  expect(text).toContain('areyouok/simple-rpc');
});

test('the HTML report draws the blocking row in the sync latency chart, lists it, and quotes the Java reference', () => {
  const html = renderHtml(reportWithBlockingRow());
  const syncChart = html.slice(html.indexOf('data-chart="latency-percentiles" data-mode="sync"'));
  expect(syncChart.slice(0, syncChart.indexOf('</svg>'))).toContain(
    'data-series="remoting-ts-blocking (ROCKETMQ)"',
  );
  expect(html).toContain('<tr data-impl="remoting-ts-blocking">');
  expect(html).toMatch(/<p id="java-sync-reference">RocketMQ Java sync reference[^<]*11,192 calls\/s/);
});
