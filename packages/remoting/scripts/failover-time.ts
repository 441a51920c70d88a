/**
 * Failover time of calls with no address: from the chosen name server's death
 * (SIGKILL of its process) to the first call that succeeds on another one,
 * with and without the availability scan, against a baseline measured in the
 * same run (the latency of one call to a healthy chosen server).
 *
 *   npx -y pnpm@10 exec tsx scripts/failover-time.ts [--trials 20] [--scan-ms 1000]     (from packages/remoting)
 *
 * Three `remoting echo-server` processes on loopback. Each trial makes a
 * fresh client, runs a loop of back-to-back invokeSync(null) calls, kills the
 * chosen server's process, and times until a call answers from another
 * server; then the killed server is started again on its port.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { RemotingClient, RemotingCommand } from '../src/index.js';

const { values } = parseArgs({
  options: { trials: { type: 'string', default: '20' }, 'scan-ms': { type: 'string', default: '1000' } },
});
const trials = Math.max(1, Number(values.trials));
const scanMs = Math.max(1, Number(values['scan-ms']));

const PACKAGE_DIR = path.join(path.dirname(fileURLToPath(import.meta.url)), '..');
const ECHO = 1;

interface ServerProcess {
  child: ChildProcess;
  address: string;
  port: number;
}

/** Starts `remoting echo-server` on `port` (0: any) and resolves with its address once it listens. */
function spawnServer(port: number): Promise<ServerProcess> {
  const child = spawn(
    process.execPath,
    ['--import', 'tsx', path.join(PACKAGE_DIR, 'src/cli/main.ts'), 'echo-server', '--port', String(port)],
    { cwd: PACKAGE_DIR, stdio: ['ignore', 'pipe', 'inherit'] },
  );
  return new Promise((resolve, reject) => {
    let output = '';
    child.once('exit', (code, signal) => reject(new Error(`echo-server exited early (${code ?? signal})`)));
    child.stdout?.setEncoding('utf8');
    child.stdout?.on('data', (text: string) => {
      output += text;
      const match = /listening on (\S+):(\d+)/.exec(output);
      if (match) resolve({ child, address: `${match[1]}:${match[2]}`, port: Number(match[2]) });
    });
  });
}

function kill(server: ServerProcess): Promise<void> {
  if (server.child.exitCode !== null || server.child.signalCode !== null) return Promise.resolve();
  const exited = new Promise<void>((resolve) => server.child.once('exit', () => resolve()));
  server.child.kill('SIGKILL');
  return exited;
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  return sorted.length % 2 === 1
    ? (sorted[mid] as number)
    : ((sorted[mid - 1] as number) + (sorted[mid] as number)) / 2;
}

interface Trial {
  failoverMs: number;
  /** From the kill to the client seeing the chosen connection close: the kernel's and the event loop's share. */
  noticedMs: number;
  failedCalls: number;
  callLatencyMs: number;
}

const servers: ServerProcess[] = await Promise.all([spawnServer(0), spawnServer(0), spawnServer(0)]);

async function trial(scan: boolean): Promise<Trial> {
  const client = new RemotingClient({
    connectTimeoutMs: 1000,
    scanAvailableNameServers: scan,
    scanAvailableNameServersIntervalMs: scanMs,
  });
  try {
    client.updateNameServerAddressList(servers.map((s) => s.address));
    if (scan) {
      while (client.getAvailableNameServerList().length < 3) await sleep(5);
    }
    // Steady state: the baseline latency of a call to the healthy chosen server.
    const latencies: number[] = [];
    for (let i = 0; i < 200; i++) {
      const started = performance.now();
      await client.invokeSync(null, RemotingCommand.createRequest(ECHO), 1000);
      latencies.push(performance.now() - started);
    }
    const chosen = client.nameServerStats().chosen;
    const index = servers.findIndex((s) => s.address === chosen);
    const victim = servers[index];
    if (victim === undefined) throw new Error(`calls went to ${chosen}, not one of the servers`);

    let killedAt = 0;
    let noticedAt = Number.NaN;
    let failedCalls = 0;
    client.on('close', () => {
      if (killedAt > 0 && Number.isNaN(noticedAt)) noticedAt = performance.now();
    });
    let stop = false;
    const recovered = (async () => {
      while (!stop) {
        try {
          await client.invokeSync(null, RemotingCommand.createRequest(ECHO), 1000);
          if (killedAt > 0 && client.nameServerStats().chosen !== victim.address) {
            return performance.now() - killedAt;
          }
        } catch {
          if (killedAt > 0) failedCalls++;
        }
      }
      return Number.NaN;
    })();
    await sleep(20);
    killedAt = performance.now();
    victim.child.kill('SIGKILL');
    const failoverMs = await Promise.race([recovered, sleep(10_000).then(() => Number.NaN)]);
    stop = true;
    await kill(victim);
    servers[index] = await spawnServer(victim.port);
    return { failoverMs, noticedMs: noticedAt - killedAt, failedCalls, callLatencyMs: median(latencies) };
  } finally {
    await client.shutdown();
  }
}

const results: Record<'no scan' | 'scan', Trial[]> = { 'no scan': [], scan: [] };
for (let i = 0; i < trials; i++) {
  // Interleaved, so drift in machine load falls on both alike.
  results['no scan'].push(await trial(false));
  results.scan.push(await trial(true));
}
await Promise.all(servers.map(kill));

console.log(
  `failover time, median of ${trials} trials (node ${process.version}, ${os.cpus().length} cpus, scan every ${scanMs} ms)`,
);
for (const [name, rows] of Object.entries(results)) {
  const failover = median(rows.map((r) => r.failoverMs));
  const baseline = median(rows.map((r) => r.callLatencyMs));
  const failed = rows.map((r) => r.failedCalls);
  console.log(
    `${name.padEnd(8)} failover ${failover.toFixed(2)} ms ` +
      `(min ${Math.min(...rows.map((r) => r.failoverMs)).toFixed(2)}, max ${Math.max(...rows.map((r) => r.failoverMs)).toFixed(2)}; ` +
      `close seen after ${median(rows.map((r) => r.noticedMs)).toFixed(2)} ms, ` +
      `success ${median(rows.map((r) => r.failoverMs - r.noticedMs)).toFixed(2)} ms after that); ` +
      `one healthy call ${baseline.toFixed(3)} ms; ratio ${(failover / baseline).toFixed(1)}x; ` +
      `calls failed per failover: median ${median(failed)}, max ${Math.max(...failed)}`,
  );
}
