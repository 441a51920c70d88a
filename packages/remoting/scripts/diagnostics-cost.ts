/**
 * What the diagnostics channels cost a client's calls: async ×256 echo calls
 * against a `remoting echo-server` child process, in runs that alternate
 * between nobody subscribed and a no-op subscriber on every channel, all in
 * one process and one run. With nobody subscribed a call pays only the
 * `hasSubscribers` guards, so the subscribed runs bound that cost from above.
 *
 *   npx -y pnpm@10 exec tsx scripts/diagnostics-cost.ts [--runs 5] [--seconds 1.5] [--serialize rocketmq|json]
 *
 * Prints calls/s and client CPU µs per call for each mode: medians of the
 * runs, and subscribed / unsubscribed ratios; then what the guards alone
 * cost (a call checks `hasSubscribers` twice on the client, start and end,
 * and up to three times on the server), timed in this process.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import diagnosticsChannel from 'node:diagnostics_channel';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { RemotingClient, RemotingCommand, SerializeType } from '../src/index.js';

const { values } = parseArgs({
  options: {
    runs: { type: 'string', default: '5' },
    seconds: { type: 'string', default: '1.5' },
    serialize: { type: 'string', default: 'rocketmq' },
  },
});
const runs = Math.max(1, Number(values.runs));
const runMs = Math.max(100, Number(values.seconds) * 1000);
const serializeType = values.serialize === 'json' ? SerializeType.JSON : SerializeType.ROCKETMQ;

const PACKAGE_DIR = path.join(path.dirname(fileURLToPath(import.meta.url)), '..');
const ECHO = 1;
const IN_FLIGHT = 256;
const BODY = Buffer.alloc(128, 7);
const CHANNELS = [
  'remoting-ts:call:start',
  'remoting-ts:call:end',
  'remoting-ts:call:error',
  'remoting-ts:request:start',
  'remoting-ts:request:end',
  'remoting-ts:request:error',
  'remoting-ts:channel:connect',
  'remoting-ts:channel:close',
  'remoting-ts:channel:protocolError',
];

function startServer(): Promise<{ child: ChildProcess; address: string }> {
  const child = spawn(
    process.execPath,
    ['--import', 'tsx', path.join(PACKAGE_DIR, 'src/cli/main.ts'), 'echo-server', '--port', '0'],
    { stdio: ['ignore', 'pipe', 'inherit'] },
  );
  return new Promise((resolve, reject) => {
    let out = '';
    child.stdout?.on('data', (chunk: Buffer) => {
      out += chunk.toString();
      const match = /listening on (\S+:\d+)/.exec(out);
      if (match) resolve({ child, address: match[1] as string });
    });
    child.once('exit', (code) => reject(new Error(`echo-server exited with ${code} before listening`)));
  });
}

/** Keeps IN_FLIGHT async calls going for `runMs`; returns calls/s and client CPU µs per call. */
function measure(client: RemotingClient, address: string): Promise<{ rate: number; cpuUs: number }> {
  return new Promise((resolve, reject) => {
    let completed = 0;
    let stopping = false;
    let outstanding = 0;
    const cpuBefore = process.cpuUsage();
    const started = performance.now();
    const send = (): void => {
      const request = RemotingCommand.createRequest(ECHO).setBody(BODY);
      request.serializeType = serializeType;
      outstanding++;
      client.invokeAsync(address, request, 5000, (error) => {
        outstanding--;
        if (error !== null) {
          stopping = true;
          reject(error);
          return;
        }
        completed++;
        if (!stopping) send();
        else if (outstanding === 0) done();
      });
    };
    const done = (): void => {
      const elapsedMs = performance.now() - started;
      const cpu = process.cpuUsage(cpuBefore);
      resolve({ rate: (completed * 1000) / elapsedMs, cpuUs: (cpu.user + cpu.system) / completed });
    };
    for (let i = 0; i < IN_FLIGHT; i++) send();
    setTimeout(() => {
      stopping = true;
    }, runMs);
  });
}

function median(xs: number[]): number {
  const sorted = [...xs].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  return sorted.length % 2 === 1
    ? (sorted[mid] as number)
    : ((sorted[mid - 1] as number) + (sorted[mid] as number)) / 2;
}

const noop = (): void => {};
const server = await startServer();
const client = new RemotingClient();
try {
  await measure(client, server.address); // warm-up, unmeasured
  const plain: Array<{ rate: number; cpuUs: number }> = [];
  const subscribed: Array<{ rate: number; cpuUs: number }> = [];
  for (let run = 0; run < runs; run++) {
    plain.push(await measure(client, server.address));
    for (const name of CHANNELS) diagnosticsChannel.subscribe(name, noop);
    subscribed.push(await measure(client, server.address));
    for (const name of CHANNELS) diagnosticsChannel.unsubscribe(name, noop);
  }
  const row = (label: string, xs: Array<{ rate: number; cpuUs: number }>) =>
    `${label.padEnd(24)} ${Math.round(median(xs.map((x) => x.rate)))
      .toLocaleString('en-US')
      .padStart(10)} calls/s  ${median(xs.map((x) => x.cpuUs)).toFixed(2)} µs CPU/call`;
  console.log(
    `async ×${IN_FLIGHT}, 128 B, ${values.serialize}, medians of ${runs} alternating runs of ${runMs} ms`,
  );
  console.log(row('nobody subscribed', plain));
  console.log(row('every channel subscribed', subscribed));
  const rateRatio = median(subscribed.map((x) => x.rate)) / median(plain.map((x) => x.rate));
  const cpuRatio = median(subscribed.map((x) => x.cpuUs)) / median(plain.map((x) => x.cpuUs));
  console.log(`subscribed / nobody: ${rateRatio.toFixed(3)}× calls/s, ${cpuRatio.toFixed(3)}× CPU per call`);
  const guard = diagnosticsChannel.channel('remoting-ts:call:start');
  const checks = 50_000_000;
  let seen = 0;
  const guardStarted = process.cpuUsage();
  for (let i = 0; i < checks; i++) if (guard.hasSubscribers) seen++;
  const guardCpu = process.cpuUsage(guardStarted);
  const nsPerCheck = ((guardCpu.user + guardCpu.system) * 1000) / checks;
  const perCallUs = (2 * nsPerCheck) / 1000;
  const share = perCallUs / median(plain.map((x) => x.cpuUs));
  console.log(
    `nobody subscribed: ${nsPerCheck.toFixed(2)} ns per hasSubscribers check (${seen} seen), ` +
      `2 per client call = ${(share * 100).toFixed(3)} % of the call's client CPU`,
  );
} finally {
  await client.shutdown();
  server.child.kill('SIGTERM');
}
