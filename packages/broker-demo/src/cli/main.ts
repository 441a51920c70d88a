import { parseArgs } from 'node:util';
import { DEFAULT_ETCD_SESSION_TIMEOUT_MS, runBrokerProcess } from '../broker/broker-command.js';
import { ClusterClient } from '../client/cluster-client.js';
import { consumeTopic } from '../client/consumer.js';
import { describeTopic, formatPartitionView } from '../client/describe.js';
import { percentile, runProduceWorkload } from '../client/workload.js';
import { LocalCluster } from '../cluster/local-cluster.js';
import { checkProcessIdentity } from '../cluster/process-identity.js';
import { parseCoordinatorUrl } from '../coordination/etcd/etcd-url.js';
import { acksName, parseAcks } from '../protocol/codes.js';
import { BrokerConfigError } from '../protocol/errors.js';
import { ViewServer } from '../view/view-server.js';
import { checkClusterOwner, registerCluster, resolveCluster, unregisterCluster, userPath } from './paths.js';

/** How long the `cluster` command waits before restarting a controller that died. */
const CONTROLLER_RESTART_DELAY_MS = 1000;

const USAGE = `usage: pnpm broker <command> [options]
  cluster  --brokers 3 --partitions P --replication-factor 3 --min-insync R --dir D [--unclean]
           [--lag-time-ms 1500] [--session-timeout-ms 3000] [--verify-segments] [--no-view]
           (serves a live view of the cluster on 127.0.0.1 unless --no-view)
           [--controller-restart-ms ${CONTROLLER_RESTART_DELAY_MS}]  (never: only \`restart\` restarts it)
           [--coordinator etcd://HOST:PORT[,HOST:PORT...][/ROOT]]  (coordinate through etcd: no controller process)
  start    --id N --listen HOST:PORT [--advertise HOST:PORT] --dir D --coordinator etcd://HOST:PORT[,...][/ROOT]
           [--session-timeout-ms ${DEFAULT_ETCD_SESSION_TIMEOUT_MS}] [--lag-time-ms 1500]   (one broker, in the foreground)
  create-topic --coordinator etcd://… --topic T --partitions P --replication-factor R --min-insync M [--json]
  produce  --bootstrap ADDR[,ADDR...] --topic T --acks 0|1|all --count N [--size B] [--in-flight K] [--json]
           [--batch-size 16384] [--linger-ms 5]   (K: records awaiting an answer; batches fill from them)
  consume  --bootstrap ADDR[,ADDR...] --topic T --from-beginning [--max N] [--json]
  describe --bootstrap ADDR[,ADDR...] --topic T [--json]
  kill     BROKER_ID|controller [--signal KILL|STOP|CONT|TERM] [--dir D]
  restart  [--dir D]    (starts again the controller and every broker of the cluster that has exited)
  Without --dir, kill and restart act only when exactly one cluster of yours is running.`;

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
      'verify-segments': { type: 'boolean', default: false },
      'controller-restart-ms': { type: 'string', default: String(CONTROLLER_RESTART_DELAY_MS) },
      'no-view': { type: 'boolean', default: false },
      coordinator: { type: 'string' },
    },
  });
  if (values.coordinator !== undefined) parseCoordinatorUrl(values.coordinator);
  const dir = userPath(required(values.dir, 'dir'));
  const restartText = values['controller-restart-ms'];
  const restartMs = restartText === 'never' ? null : int(restartText, 'controller-restart-ms');
  const c = await LocalCluster.start({
    brokers: int(values.brokers, 'brokers'),
    partitions: int(values.partitions, 'partitions'),
    replicationFactor: int(values['replication-factor'], 'replication-factor'),
    minInsync: int(values['min-insync'], 'min-insync'),
    dir,
    unclean: values.unclean,
    replicaLagTimeMaxMs: int(values['lag-time-ms'], 'lag-time-ms', 1500),
    sessionTimeoutMs: int(values['session-timeout-ms'], 'session-timeout-ms', 3000),
    verifySegmentsOnStart: values['verify-segments'],
    controllerRestartDelayMs: restartMs,
    coordinator: values.coordinator ?? null,
  });
  registerCluster(dir);
  const view = values['no-view'] ? null : new ViewServer();
  const viewUrl = await view?.start();
  await view?.attach(c, `cluster in ${dir}`);
  for (const p of c.processes()) {
    const name = p.role === 'controller' ? 'controller' : `broker ${p.brokerId}`;
    console.log(`${name.padEnd(10)} ${p.address.padEnd(16)} pid ${p.pid}  log ${p.logFile}`);
  }
  if (values.coordinator !== undefined)
    console.log(`etcd       ${values.coordinator}  (one of the brokers is elected controller there)`);
  if (viewUrl !== undefined)
    console.log(`view       ${viewUrl}  (live ISR, HW and LEO, with controls for every broker)`);
  console.log(`state file ${dir}/cluster.json; bootstrap with --bootstrap ${c.controllerAddress}`);
  console.log('Ctrl-C stops every process; `pnpm broker restart` starts brokers that were killed.');
  // `pnpm broker restart` signals this process: only the process that owns the
  // children can start one again under the same state file.
  process.on('SIGUSR2', () => {
    if (values.coordinator === undefined && !c.isControllerRunning()) {
      c.restartController().then(
        () => console.log(`controller restarted: ${c.controllerAddress}`),
        (err: unknown) => console.error(`controller failed to restart: ${String(err)}`),
      );
    }
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
  await view?.close();
  await c.stop();
  unregisterCluster(dir);
  console.log('cluster stopped');
}

/**
 * `create-topic`: with --coordinator, the topic is written to etcd and the
 * command waits for the controller (one of the brokers) to elect its leaders.
 */
async function createTopicCommand(args: string[]): Promise<void> {
  const { values } = parseArgs({
    args,
    options: {
      coordinator: { type: 'string' },
      topic: { type: 'string' },
      partitions: { type: 'string', default: '1' },
      'replication-factor': { type: 'string', default: '3' },
      'min-insync': { type: 'string', default: '2' },
      'wait-ms': { type: 'string', default: '30000' },
      json: { type: 'boolean', default: false },
    },
  });
  if (values.coordinator === undefined) {
    throw new BrokerConfigError(
      'create-topic needs --coordinator etcd://…; a cluster with the built-in controller creates a topic on ' +
        "first use with the cluster's --partitions and --replication-factor",
    );
  }
  const topic = required(values.topic, 'topic');
  // Loaded here only: the etcd client is not needed by any other command.
  const { createTopicThroughEtcd } = await import('../coordination/etcd/topic-admin.js');
  const created = await createTopicThroughEtcd(
    values.coordinator,
    {
      topic,
      partitions: int(values.partitions, 'partitions'),
      replicationFactor: int(values['replication-factor'], 'replication-factor'),
      minInsyncReplicas: int(values['min-insync'], 'min-insync'),
    },
    int(values['wait-ms'], 'wait-ms'),
  );
  if (values.json) console.log(JSON.stringify(created, null, 2));
  else {
    console.log(`created ${topic} in ${values.coordinator}`);
    for (const p of created.partitions)
      console.log(
        `  ${topic}-${p.partition}: replicas [${p.replicas}], ` +
          (p.leader >= 0 ? `leader ${p.leader} (epoch ${p.leaderEpoch}), ISR [${p.isr}]` : 'no leader yet'),
      );
    if (!created.leadersElected)
      console.log(
        '  no controller elected its leaders in time: are the brokers running? (they will once one is)',
      );
  }
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
  const target = positionals[0] === 'controller' ? 'controller' : int(positionals[0], 'BROKER_ID');
  const signal = `SIG${values.signal.replace(/^SIG/, '')}`;
  if (!['SIGKILL', 'SIGSTOP', 'SIGCONT', 'SIGTERM'].includes(signal)) {
    throw new BrokerConfigError(`--signal must be KILL, STOP, CONT or TERM, not ${values.signal}`);
  }
  const cluster = resolveCluster(values.dir);
  const info =
    target === 'controller'
      ? cluster.state.controller
      : cluster.state.brokers.find((b) => b.brokerId === target);
  const name = target === 'controller' ? 'the controller' : `broker ${target}`;
  if (info === null)
    throw new BrokerConfigError(
      `the cluster in ${cluster.dir} has no controller process: it is coordinated through etcd ` +
        `(${cluster.state.coordinator}), where one of its brokers is elected controller`,
    );
  if (info === undefined) throw new BrokerConfigError(`no broker ${target} in ${cluster.dir}/cluster.json`);
  // PIDs are reused: signal only if the PID still is that process of that cluster.
  const identity = checkProcessIdentity({
    pid: info.pid,
    startTime: info.startTime ?? null,
    arguments:
      target === 'controller'
        ? [['--dir', info.dir]]
        : [
            ['--id', String(target)],
            ['--dir', info.dir],
          ],
  });
  if (!identity.ok) {
    throw new BrokerConfigError(
      `not signalling ${name} of ${cluster.dir}: ${identity.reason} (stale state file?)`,
    );
  }
  process.kill(info.pid, signal as NodeJS.Signals);
  console.log(
    `sent ${signal} to ${name} (pid ${info.pid}) of the cluster in ${cluster.dir} (${cluster.chosen})`,
  );
}

function restart(args: string[]): void {
  const { values } = parseArgs({ args, options: { dir: { type: 'string' } } });
  const cluster = resolveCluster(values.dir);
  const owner = checkClusterOwner(cluster.state);
  if (!owner.ok) {
    throw new BrokerConfigError(`the cluster process of ${cluster.dir} is not running: ${owner.reason}`);
  }
  process.kill(cluster.state.startedBy, 'SIGUSR2');
  console.log(
    `asked the cluster in ${cluster.dir} (pid ${cluster.state.startedBy}, ${cluster.chosen}) ` +
      'to restart its controller and brokers that exited',
  );
}

async function main(argv: string[]): Promise<void> {
  const [command, ...rest] = argv;
  if (argv.some((arg) => arg === '--help' || arg === '-h')) {
    console.log(USAGE);
    return;
  }
  switch (command) {
    case 'cluster':
      return cluster(rest);
    case 'start':
      return runBrokerProcess(rest);
    case 'create-topic':
      return createTopicCommand(rest);
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
    case undefined:
    case 'help':
      console.log(USAGE);
      return;
    default:
      console.error(`broker: unknown command ${command}\n${USAGE}`);
      process.exitCode = 2;
  }
}

main(process.argv.slice(2)).catch((err: unknown) => {
  const code = (err as { code?: unknown }).code;
  if (typeof code === 'string' && code.startsWith('ERR_PARSE_ARGS')) {
    // A bad option is a usage error: say which, show the usage, exit 2.
    console.error(`broker: ${(err as Error).message}\n${USAGE}`);
    process.exitCode = 2;
    return;
  }
  console.error(
    `error${typeof code === 'string' ? ` [${code}]` : ''}: ${err instanceof Error ? err.message : String(err)}`,
  );
  process.exitCode = 1;
});
