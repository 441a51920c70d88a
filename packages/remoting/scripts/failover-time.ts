/**
 * Failover time of calls with no address: from the chosen name server's death
 * to the first call that succeeds on another one, with and without the
 * availability scan, against a baseline measured in the same run (the latency
 * of one call to a healthy chosen server).
 *
 *   npx tsx scripts/failover-time.ts [--trials 20] [--scan-ms 1000]
 *
 * Each trial starts three servers on loopback and a fresh client, lets a loop
 * of back-to-back invokeSync(null) calls run, then shuts the chosen server
 * down (no grace: its sockets close at once, as when its process dies) and
 * times until a call answers from another server. The servers run in this
 * process; the shutdown's own work is inside the measured time.
 */
import os from 'node:os';
import { parseArgs } from 'node:util';
import { RemotingClient, RemotingCommand, RemotingServer, ResponseCode } from '../src/index.js';

const { values } = parseArgs({
  options: { trials: { type: 'string', default: '20' }, 'scan-ms': { type: 'string', default: '1000' } },
});
const trials = Math.max(1, Number(values.trials));
const scanMs = Math.max(1, Number(values['scan-ms']));

const WHO = 100;

async function startServer(): Promise<{ server: RemotingServer; address: string }> {
  const server = new RemotingServer({ host: '127.0.0.1', port: 0 });
  await server.start();
  const address = `127.0.0.1:${server.address().port}`;
  server.registerProcessor(WHO, {
    processRequest: () => RemotingCommand.createResponse(ResponseCode.SUCCESS).setBody(address),
  });
  return { server, address };
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
  failedCalls: number;
  callLatencyMs: number;
}

async function trial(scan: boolean): Promise<Trial> {
  const servers = await Promise.all([startServer(), startServer(), startServer()]);
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
    let chosen = '';
    for (let i = 0; i < 200; i++) {
      const started = performance.now();
      chosen = String((await client.invokeSync(null, RemotingCommand.createRequest(WHO), 1000)).body);
      latencies.push(performance.now() - started);
    }
    const victim = servers.find((s) => s.address === chosen);
    if (victim === undefined) throw new Error(`calls went to ${chosen}, not one of the servers`);

    let killedAt = 0;
    let failedCalls = 0;
    const recovered = (async () => {
      for (;;) {
        try {
          const response = await client.invokeSync(null, RemotingCommand.createRequest(WHO), 1000);
          if (killedAt > 0 && String(response.body) !== victim.address) return performance.now() - killedAt;
        } catch {
          if (killedAt > 0) failedCalls++;
        }
      }
    })();
    await sleep(20);
    killedAt = performance.now();
    await victim.server.shutdown({ graceMs: 0 });
    const failoverMs = await recovered;
    return { failoverMs, failedCalls, callLatencyMs: median(latencies) };
  } finally {
    await client.shutdown();
    await Promise.all(servers.map((s) => s.server.shutdown({ graceMs: 0 })));
  }
}

const results: Record<'no scan' | 'scan', Trial[]> = { 'no scan': [], scan: [] };
for (let i = 0; i < trials; i++) {
  // Interleaved, so drift in machine load falls on both alike.
  results['no scan'].push(await trial(false));
  results.scan.push(await trial(true));
}

console.log(
  `failover time, median of ${trials} trials (node ${process.version}, ${os.cpus().length} cpus, scan every ${scanMs} ms)`,
);
for (const [name, rows] of Object.entries(results)) {
  const failover = median(rows.map((r) => r.failoverMs));
  const baseline = median(rows.map((r) => r.callLatencyMs));
  const failed = rows.map((r) => r.failedCalls);
  console.log(
    `${name.padEnd(8)} failover ${failover.toFixed(2)} ms ` +
      `(min ${Math.min(...rows.map((r) => r.failoverMs)).toFixed(2)}, max ${Math.max(...rows.map((r) => r.failoverMs)).toFixed(2)}); ` +
      `one healthy call ${baseline.toFixed(3)} ms; ratio ${(failover / baseline).toFixed(1)}x; ` +
      `calls failed per failover: median ${median(failed)}, max ${Math.max(...failed)}`,
  );
}
