/** examples/metrics-diagnostics.ts runs as documented and prints Prometheus text built from diagnostics channels. */
import { spawn } from 'node:child_process';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { expect, test } from 'vitest';
import { onCleanup } from './helpers/servers.js';

const packageDir = path.join(path.dirname(fileURLToPath(import.meta.url)), '..');

test('the metrics example counts every call, request and connection it makes', async () => {
  const child = spawn(
    process.execPath,
    ['--import', 'tsx', path.join('examples', 'metrics-diagnostics.ts')],
    {
      cwd: packageDir,
      stdio: ['ignore', 'pipe', 'pipe'],
    },
  );
  onCleanup(() => {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
  });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (chunk: Buffer) => {
    stdout += chunk.toString();
  });
  child.stderr.on('data', (chunk: Buffer) => {
    stderr += chunk.toString();
  });
  const exitCode = await new Promise<number | null>((resolve) => child.on('exit', resolve));
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
});
