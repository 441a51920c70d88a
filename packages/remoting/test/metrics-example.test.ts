/**
 * examples/metrics-diagnostics.ts runs as documented (`npx -y pnpm@10 exec tsx
 * examples/metrics-diagnostics.ts`, from packages/remoting) and prints
 * Prometheus text built from diagnostics channels.
 */
import { expect, test } from 'vitest';
import { runDocumented } from './support/documented-command.js';

test('the metrics example counts every call, request and connection it makes', async () => {
  const { code: exitCode, stdout, stderr } = await runDocumented('examples/metrics-diagnostics.ts');
  expect(exitCode, stderr).toBe(0);
  const lines = stdout.split('\n');
  const value = (series: string) => {
    const line = lines.find((l) => l.startsWith(`${series} `));
    return line === undefined ? undefined : Number(line.slice(series.length + 1));
  };
  expect(value('remoting_calls_total{side="client",mode="sync",code="1",outcome="0"}')).toBe(5);
  expect(value('remoting_calls_total{side="client",mode="async",code="1",outcome="0"}')).toBe(1);
  expect(value('remoting_calls_total{side="client",mode="oneway",code="1",outcome="sent"}')).toBe(1);
  expect(value('remoting_calls_total{side="client",mode="sync",code="99",outcome="3"}')).toBe(1);
  expect(value('remoting_calls_total{side="client",mode="async",code="2",outcome="REMOTING_TIMEOUT"}')).toBe(
    1,
  );
  expect(value('remoting_calls_total{side="client",mode="sync",code="2",outcome="REMOTING_ABORTED"}')).toBe(
    1,
  );
  expect(value('remoting_requests_total{side="server",code="1",response_code="0"}')).toBe(7);
  expect(value('remoting_requests_total{side="server",code="2",response_code="0"}')).toBe(2);
  expect(value('remoting_call_duration_seconds_count{side="client",code="1"}')).toBe(7);
  expect(value('remoting_call_duration_seconds_bucket{side="client",code="1",le="+Inf"}')).toBe(7);
  // The slow processor takes 300 ms: both land above the 0.25 s bucket.
  expect(value('remoting_request_duration_seconds_bucket{side="server",code="2",le="0.25"}')).toBe(0);
  expect(value('remoting_request_duration_seconds_bucket{side="server",code="2",le="0.5"}')).toBe(2);
  expect(value('remoting_connection_events_total{side="client",event="connect"}')).toBe(1);
  expect(value('remoting_connection_events_total{side="server",event="close"}')).toBe(1);
  expect(value('remoting_request_body_bytes_total{code="1"}')).toBe(5 * 5 + 5 + 6);
  expect(stdout).toContain('# TYPE remoting_call_duration_seconds histogram');
}, 120_000);
