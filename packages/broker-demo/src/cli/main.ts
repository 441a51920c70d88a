import { parseArgs } from 'node:util';
import { ClusterClient } from '../client/cluster-client.js';
import { consumeTopic } from '../client/consumer.js';
import { describeTopic, formatPartitionView } from '../client/describe.js';
import { percentile, runProduceWorkload } from '../client/workload.js';
import { LocalCluster } from '../cluster/local-cluster.js';
import { acksName, parseAcks } from '../protocol/codes.js';
import { BrokerConfigError } from '../protocol/errors.js';
import { readClusterState, rememberClusterDir, userPath } from './paths.js';

const USAGE = `usage: pnpm broker <command> [options]
  cluster  --brokers 3 --partitions P --replication-factor 3 --min-insync R --dir D [--unclean]
           [--lag-time-ms 1500] [--session-timeout-ms 3000]
  produce  --bootstrap ADDR --topic T --acks 0|1|all --count N [--size B] [--in-flight K] [--json]
           [--batch-size 16384] [--linger-ms 5]   (K: records awaiting an answer; batches fill from them)
  consume  --bootstrap ADDR --topic T --from-beginning [--max N] [--json]
  describe --bootstrap ADDR --topic T [--json]
  kill     BROKER_ID [--signal KILL|STOP|CONT|TERM] [--dir D]
  restart  [--dir D]    (starts again every broker of the cluster that has exited)`;

function int(value: string | undefined, name: string, fallback?: number): number {
  if (value === undefined) {
    if (fallback !== undefined) return fallback;
    throw new BrokerConfigError(`--${name} is required`);
  }
  const n = Number(value);
  if (!Number.isInteger(n) || n < 0)
    throw new BrokerConfigError(`--${name} must be a non-negative integer, not ${value}`);
  return n;
}

function required(value: string | undefined, name: string): string {
  if (value === undefined || value === '') throw new BrokerConfigError(`--${name} is required`);
  return value;
}

async function cluster(args: string[]): Promise<void> {
  const { values } = parseArgs({
    args,
    options: {
      brokers: { type: 'string', default: '3' },
      partitions: { type: 'string', default: '1' },
      'replication-factor': { type: 'string', default: '3' },
      'min-insync': { type: 'string', default: '2' },
      dir: { type: 'string' },
      unclean: { type: 'boolean', default: false },
      'lag-time-ms': { type: 'string' },
      'session-timeout-ms': { type: 'string' },
    },
  });
  const dir = userPath(required(values.dir, 'dir'));
  const c = await LocalCluster.start({
    brokers: int(values.brokers, 'brokers'),
    partitions: int(values.partitions, 'partitions'),
    replicationFactor: int(values['replication-factor'], 'replication-factor'),
    minInsync: int(values['min-insync'], 'min-insync'),
    dir,
    unclean: values.unclean,
    replicaLagTimeMaxMs: int(values['lag-time-ms'], 'lag-time-ms', 1500),
    sessionTimeoutMs: int(values['session-timeout-ms'], 'session-timeout-ms', 3000),
  });
  rememberClusterDir(dir);
  for (const p of c.processes()) {
    const name = p.role === 'controller' ? 'controller' : `broker ${p.brokerId}`;
    console.log(`${name.padEnd(10)} ${p.address.padEnd(16)} pid ${p.pid}  log ${p.logFile}`);
  }
  console.log(`state file ${dir}/cluster.json; bootstrap with --bootstrap ${c.controllerAddress}`);
  console.log('Ctrl-C stops every process; `pnpm broker restart` starts brokers that were killed.');
  // `pnpm broker restart` signals this process: only the process that owns the
  // children can start one again under the same state file.
  process.on('SIGUSR2', () => {
    for (const id of c.brokerIds) {
      if (c.isRunning(id)) continue;
      c.startBroker(id).then(
        (info) => console.log(`broker ${id} restarted: ${info.address} pid ${info.pid}`),
        (err: unknown) => console.error(`broker ${id} failed to restart: ${String(err)}`),
      );
    }
  });
  await new Promise<void>((resolve) => {
    process.once('SIGINT', resolve);
    process.once('SIGTERM', resolve);
  });
  await c.stop();
  console.log('cluster stopped');
}

async function produce(args: string[]): Promise<void> {
  const { values } = parseArgs({
    args,
    options: {
      bootstrap: { type: 'string' },
      topic: { type: 'string' },
      acks: { type: 'string', default: 'all' },
      count: { type: 'string', default: '10' },
      size: { type: 'string', default: '100' },
      'in-flight': { type: 'string', default: '1' },
      'batch-size': { type: 'string' },
      'linger-ms': { type: 'string' },
      json: { type: 'boolean', default: false },
    },
  });
  const acks = parseAcks(values.acks);
  const client = new ClusterClient(required(values.bootstrap, 'bootstrap'));
  try {
    const result = await runProduceWorkload(client, {
      topic: required(values.topic, 'topic'),
      acks,
      count: int(values.count, 'count'),
      valueBytes: int(values.size, 'size'),
      inFlight: int(values['in-flight'], 'in-flight'),
      ...(values['batch-size'] === undefined
        ? {}
        : { batchSizeBytes: int(values['batch-size'], 'batch-size') }),
      ...(values['linger-ms'] === undefined ? {} : { lingerMs: int(values['linger-ms'], 'linger-ms') }),
      keyPrefix: `p${process.pid}`,
      onAck: (r) => {
        if (values.json)
          console.log(JSON.stringify({ partition: r.partition, offset: r.offset, key: r.key }));
        else {
          const note =
            r.attempts === 1
              ? ''
              : r.deduplicated
                ? ` (after ${r.attempts} attempts; the leader already had it and did not append it again)`
                : ` (after ${r.attempts} attempts; an earlier attempt may have been appended too)`;
          console.log(`acked ${r.key} -> partition ${r.partition} offset ${r.offset}${note}`);
        }
      },
    });
    const latencies = result.acknowledged.map((r) => r.latencyMs);
    const summary = {
      acks: acksName(acks),
      sent: result.sent,
      acknowledged: result.acknowledged.length,
      failed: result.failed.length,
      retried: result.acknowledged.filter((r) => r.attempts > 1).length,
      recordsPerSec: Math.round((result.sent / result.elapsedMs) * 1000),
      p50Ms: Number(percentile(latencies, 50).toFixed(2)),
      p99Ms: Number(percentile(latencies, 99).toFixed(2)),
      failures: countByCode(result.failed.map((f) => f.code)),
    };
    // With --json, stdout carries only the acknowledged records.
    (values.json ? console.error : console.log)(`summary ${JSON.stringify(summary)}`);
    if (result.failed.length > 0) process.exitCode = 2;
  } finally {
    await client.close();
  }
}

function countByCode(codes: string[]): string[] {
  const counts = new Map<string, number>();
  for (const c of codes) counts.set(c, (counts.get(c) ?? 0) + 1);
  return [...counts].map(([code, n]) => `${code} x${n}`);
}

async function consume(args: string[]): Promise<void> {
  const { values } = parseArgs({
    args,
    options: {
      bootstrap: { type: 'string' },
      topic: { type: 'string' },
      'from-beginning': { type: 'boolean', default: false },
      max: { type: 'string' },
      json: { type: 'boolean', default: false },
    },
  });
  if (!values['from-beginning'])
    throw new BrokerConfigError('only --from-beginning is supported (offsets are client-side)');
  const max = values.max === undefined ? Number.POSITIVE_INFINITY : int(values.max, 'max');
  const client = new ClusterClient(required(values.bootstrap, 'bootstrap'));
  let consumed = 0;
  try {
    // Streamed batch by batch: a partition of any size is printed in constant memory.
    for await (const batch of consumeTopic(client, required(values.topic, 'topic'))) {
      const lines: string[] = [];
      for (const r of batch.records) {
        if (consumed >= max) break;
        consumed++;
        const key = r.key?.toString('utf8') ?? null;
        lines.push(
          values.json
            ? JSON.stringify({
                partition: batch.partition,
                offset: r.offset,
                key,
                leaderEpoch: r.leaderEpoch,
              })
            : `${batch.topic}-${batch.partition}@${r.offset} epoch ${r.leaderEpoch} key ${key} (${r.value.length} bytes)`,
        );
      }
      if (lines.length > 0 && !process.stdout.write(`${lines.join('\n')}\n`)) {
        await new Promise((resolve) => process.stdout.once('drain', resolve));
      }
      if (consumed >= max) break;
    }
    (values.json ? console.error : console.log)(`consumed ${consumed} committed record(s)`);
  } finally {
    await client.close();
  }
}

async function describe(args: string[]): Promise<void> {
  const { values } = parseArgs({
    args,
    options: {
      bootstrap: { type: 'string' },
      topic: { type: 'string' },
      json: { type: 'boolean', default: false },
    },
  });
  const client = new ClusterClient(required(values.bootstrap, 'bootstrap'));
  try {
    const views = await describeTopic(client, required(values.topic, 'topic'));
    if (values.json) console.log(JSON.stringify(views, null, 2));
    else for (const v of views) console.log(formatPartitionView(v));
  } finally {
    await client.close();
  }
}

function kill(args: string[]): void {
  const { values, positionals } = parseArgs({
    args,
    allowPositionals: true,
    options: { signal: { type: 'string', default: 'KILL' }, dir: { type: 'string' } },
  });
  const id = int(positionals[0], 'BROKER_ID');
  const signal = `SIG${values.signal.replace(/^SIG/, '')}`;
  if (!['SIGKILL', 'SIGSTOP', 'SIGCONT', 'SIGTERM'].includes(signal)) {
    throw new BrokerConfigError(`--signal must be KILL, STOP, CONT or TERM, not ${values.signal}`);
  }
  const state = readClusterState(values.dir);
  const broker = state.brokers.find((b) => b.brokerId === id);
  if (broker === undefined) throw new BrokerConfigError(`no broker ${id} in the cluster state file`);
  process.kill(broker.pid, signal as NodeJS.Signals);
  console.log(`sent ${signal} to broker ${id} (pid ${broker.pid})`);
}

function restart(args: string[]): void {
  const { values } = parseArgs({ args, options: { dir: { type: 'string' } } });
  const state = readClusterState(values.dir);
  process.kill(state.startedBy, 'SIGUSR2');
  console.log(`asked the cluster (pid ${state.startedBy}) to restart its stopped brokers`);
}

async function main(argv: string[]): Promise<void> {
  const [command, ...rest] = argv;
  switch (command) {
    case 'cluster':
      return cluster(rest);
    case 'produce':
      return produce(rest);
    case 'consume':
      return consume(rest);
    case 'describe':
      return describe(rest);
    case 'kill':
      return kill(rest);
    case 'restart':
      return restart(rest);
    default:
      console.log(USAGE);
      if (command !== undefined && command !== 'help' && command !== '--help') process.exitCode = 1;
  }
}

main(process.argv.slice(2)).catch((err: unknown) => {
  const code = (err as { code?: unknown }).code;
  console.error(
    `error${typeof code === 'string' ? ` [${code}]` : ''}: ${err instanceof Error ? err.message : String(err)}`,
  );
  process.exitCode = 1;
});
