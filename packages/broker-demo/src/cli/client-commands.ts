import { parseArgs } from 'node:util';
import { createTopic } from '../client/admin.js';
import { ClusterClient } from '../client/cluster-client.js';
import { consumePartition } from '../client/consumer.js';
import { describeTopic, formatPartitionView } from '../client/describe.js';
import type { AckedRecord } from '../client/workload.js';
import { percentile, runProduceWorkload } from '../client/workload.js';
import type { CreateTopicRequest, PartitionState } from '../protocol/cluster-state.js';
import { acksName, BrokerResponseCode, parseAcks } from '../protocol/codes.js';
import { BrokerError } from '../protocol/errors.js';
import {
  bootstrapOption,
  type CliCommand,
  COORDINATOR_USAGE,
  coordinatorOption,
  intOption,
  PNPM,
  requiredOption,
  UsageError,
} from './command.js';

/*
 * The commands that talk to a running cluster as its clients do: through
 * any broker (or the controller) given with --bootstrap.
 */

/** How long `create-topic` waits for the new topic's leaders unless --wait-ms says otherwise. */
const CREATE_TOPIC_WAIT_MS = 30_000;

/** Runs `body` with a client of the cluster, closed afterwards; an unknown topic gets the command that creates it. */
async function withClient(
  bootstrap: string[],
  body: (client: ClusterClient) => Promise<void>,
): Promise<void> {
  const client = new ClusterClient(bootstrap);
  try {
    await body(client);
  } catch (err) {
    if (err instanceof BrokerError && err.responseCode === BrokerResponseCode.UNKNOWN_TOPIC_OR_PARTITION) {
      const topic = err.details.unknownTopic;
      if (topic !== undefined) {
        throw new BrokerError(
          err.responseCode,
          `topic ${topic} does not exist; create it with: ` +
            `${PNPM} broker create-topic --bootstrap ${bootstrap.join(',')} --topic ${topic}`,
          { cause: err },
        );
      }
    }
    throw err;
  } finally {
    await client.close();
  }
}

export const createTopicCommand: CliCommand = {
  name: 'create-topic',
  summary: 'create a topic (reading or producing never creates one)',
  help: `usage: ${PNPM} broker create-topic (--bootstrap ADDR[,ADDR...] | --coordinator ${COORDINATOR_USAGE})
                       --topic T [--partitions P] [--replication-factor R] [--min-insync M]
                       [--if-not-exists] [--wait-ms 30000] [--json]
  Creates topic T and waits (up to --wait-ms) until every partition has its leader.
  With --bootstrap: through any broker (which forwards it to the cluster's coordination, the
  built-in controller or etcd) or the built-in controller itself, waiting until each leader
  serves. With --coordinator: written to etcd directly, as on a cluster of \`broker start\`
  brokers, waiting until the elected controller gives each partition its leader.
  What is left out takes the cluster's defaults (\`cluster\`'s --partitions, --replication-factor
  and --min-insync; on etcd without them, 1 partition, 1 replica, min.insync.replicas 1).
  --min-insync is the topic's own min.insync.replicas. An existing topic is an error (exit 1)
  unless --if-not-exists. --json prints the partitions as JSON.`,
  async run(args) {
    const { values } = parseArgs({
      args,
      options: {
        bootstrap: { type: 'string' },
        coordinator: { type: 'string' },
        topic: { type: 'string' },
        partitions: { type: 'string' },
        'replication-factor': { type: 'string' },
        'min-insync': { type: 'string' },
        'if-not-exists': { type: 'boolean', default: false },
        'wait-ms': { type: 'string' },
        json: { type: 'boolean', default: false },
      },
    });
    if ((values.bootstrap === undefined) === (values.coordinator === undefined)) {
      throw new UsageError(
        'create-topic needs --bootstrap ADDR (any broker, or the built-in controller) or ' +
          `--coordinator ${COORDINATOR_USAGE} (etcd), one of them`,
      );
    }
    const request: CreateTopicRequest = { topic: requiredOption(values.topic, 'topic') };
    if (values.partitions !== undefined) request.partitions = intOption(values.partitions, 'partitions');
    if (values['replication-factor'] !== undefined)
      request.replicationFactor = intOption(values['replication-factor'], 'replication-factor');
    if (values['min-insync'] !== undefined)
      request.minInsyncReplicas = intOption(values['min-insync'], 'min-insync');
    const timeoutMs = intOption(values['wait-ms'], 'wait-ms', CREATE_TOPIC_WAIT_MS);
    const ifNotExists = values['if-not-exists'];
    const report = (partitions: readonly PartitionState[], where: string) => {
      if (values.json) {
        console.log(JSON.stringify(partitions, null, 2));
        return;
      }
      const minInsync = partitions[0]?.minInsyncReplicas;
      console.log(
        `topic ${request.topic}: ${partitions.length} partition(s), replication factor ` +
          `${partitions[0]?.replicas.length ?? '?'}` +
          `${minInsync === undefined ? '' : `, min.insync.replicas ${minInsync}`} (${where})`,
      );
      for (const p of partitions) {
        const leader = p.leader < 0 ? 'no leader yet' : `leader ${p.leader}`;
        console.log(`  ${request.topic}-${p.partition}: ${leader}, replicas [${p.replicas}], ISR [${p.isr}]`);
      }
    };
    if (values.coordinator !== undefined) {
      const coordinates = coordinatorOption(values.coordinator);
      // Loaded here only: no other client command needs the etcd client.
      const { createTopicThroughEtcd } = await import('../coordination/etcd/topic-admin.js');
      const created = await createTopicThroughEtcd(coordinates.url, request, timeoutMs, { ifNotExists });
      report(created.partitions, `in ${coordinates.url}`);
      if (!created.leadersElected) {
        console.error(
          `topic ${request.topic} was created, but no controller elected its leaders within ${timeoutMs} ms: ` +
            'are the brokers running? (the elected one will, once one is)',
        );
        process.exitCode = 1;
      }
      return;
    }
    const bootstrap = bootstrapOption(values.bootstrap);
    await withClient(bootstrap, async (client) => {
      const created = await createTopic(client, request, { ifNotExists, timeoutMs });
      report(created, `through ${bootstrap.join(',')}`);
    });
  },
};

export const produceCommand: CliCommand = {
  name: 'produce',
  summary: 'send numbered records and report what was acknowledged',
  help: `usage: ${PNPM} broker produce --bootstrap ADDR[,ADDR...] --topic T [--acks 0|1|all] [--count N] [--size B]
                       [--in-flight K] [--batch-size 16384] [--linger-ms 5] [--create-topic] [--json]
  Sends N records (default 10) of B bytes (default 100) with acks 0, 1 or all (default all),
  at most K (default 1) awaiting an answer; the producer batches from them (batch.size,
  linger.ms). The topic must exist: --create-topic creates it first if it does not.
  --json prints one line per acknowledged record (partition, offset, key) on stdout and the
  summary on stderr. Exits 1 if any record was not acknowledged.`,
  async run(args) {
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
        'create-topic': { type: 'boolean', default: false },
        json: { type: 'boolean', default: false },
      },
    });
    let acks: ReturnType<typeof parseAcks>;
    try {
      acks = parseAcks(values.acks);
    } catch (err) {
      throw new UsageError((err as Error).message);
    }
    const bootstrap = bootstrapOption(values.bootstrap);
    const topic = requiredOption(values.topic, 'topic');
    const count = intOption(values.count, 'count');
    const valueBytes = intOption(values.size, 'size');
    const inFlight = intOption(values['in-flight'], 'in-flight');
    const batchSize =
      values['batch-size'] === undefined ? undefined : intOption(values['batch-size'], 'batch-size');
    const lingerMs =
      values['linger-ms'] === undefined ? undefined : intOption(values['linger-ms'], 'linger-ms');
    await withClient(bootstrap, async (client) => {
      if (values['create-topic']) await createTopic(client, { topic }, { ifNotExists: true });
      const result = await runProduceWorkload(client, {
        topic,
        acks,
        count,
        valueBytes,
        inFlight,
        ...(batchSize === undefined ? {} : { batchSizeBytes: batchSize }),
        ...(lingerMs === undefined ? {} : { lingerMs }),
        keyPrefix: `p${process.pid}`,
        onAck: (r) => {
          if (values.json)
            console.log(JSON.stringify({ partition: r.partition, offset: r.offset, key: r.key }));
          else console.log(`acked ${r.key} -> partition ${r.partition} offset ${r.offset}${retryNote(r)}`);
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
      if (result.failed.length > 0) process.exitCode = 1;
    });
  },
};

/**
 * What a person should know of a record that took more than one attempt:
 * whether the log may hold it twice, or not (idempotence recognised the
 * retry, or every earlier attempt was refused before the append).
 */
function retryNote(r: AckedRecord): string {
  if (r.attempts <= 1) return '';
  const after = r.retriedAfter.length === 0 ? '' : ` after ${[...new Set(r.retriedAfter)].join(', ')}`;
  if (r.deduplicated)
    return ` (sent ${r.attempts} times${after}; the leader already had it and did not append it again)`;
  if (r.maybeDuplicated)
    return ` (sent ${r.attempts} times${after}; an earlier attempt may have been appended too)`;
  return ` (sent ${r.attempts} times${after}; appended once)`;
}

function countByCode(codes: string[]): string[] {
  const counts = new Map<string, number>();
  for (const c of codes) counts.set(c, (counts.get(c) ?? 0) + 1);
  return [...counts].map(([code, n]) => `${code} x${n}`);
}

export const consumeCommand: CliCommand = {
  name: 'consume',
  summary: 'print the committed records of a topic (up to the HW)',
  help: `usage: ${PNPM} broker consume --bootstrap ADDR[,ADDR...] --topic T [--from-beginning | --offset N]
                       [--partition P] [--max N] [--json]
  Prints the committed records (below each partition's high watermark) of every partition
  of T, or of partition P, streamed, then how many. From the beginning of each partition
  unless --offset N (the demo keeps no committed consumer offsets: where to start is yours
  to say). Stops after --max records.`,
  async run(args) {
    const { values } = parseArgs({
      args,
      options: {
        bootstrap: { type: 'string' },
        topic: { type: 'string' },
        'from-beginning': { type: 'boolean', default: false },
        offset: { type: 'string' },
        partition: { type: 'string' },
        max: { type: 'string' },
        json: { type: 'boolean', default: false },
      },
    });
    if (values['from-beginning'] && values.offset !== undefined) {
      throw new UsageError('--from-beginning and --offset say two different places to start: give one');
    }
    const bootstrap = bootstrapOption(values.bootstrap);
    const topic = requiredOption(values.topic, 'topic');
    const fromOffset = values.offset === undefined ? 0 : intOption(values.offset, 'offset');
    const only = values.partition === undefined ? undefined : intOption(values.partition, 'partition');
    const max = values.max === undefined ? Number.POSITIVE_INFINITY : intOption(values.max, 'max');
    const say = values.json ? console.error : console.log;
    await withClient(bootstrap, async (client) => {
      await client.refresh(topic);
      const partitions = client.partitions(topic).map((p) => p.partition);
      if (only !== undefined && !partitions.includes(only)) {
        throw new BrokerError(
          BrokerResponseCode.UNKNOWN_TOPIC_OR_PARTITION,
          `${topic} has partitions [${partitions}], not ${only}`,
        );
      }
      let consumed = 0;
      for (const partition of only === undefined ? partitions : [only]) {
        if (consumed >= max) break;
        // Streamed batch by batch: a partition of any size is printed in constant memory.
        for await (const batch of consumePartition(client, topic, partition, { fromOffset })) {
          const lines: string[] = [];
          for (const r of batch.records) {
            if (consumed >= max) break;
            consumed++;
            const key = r.key?.toString('utf8') ?? null;
            lines.push(
              values.json
                ? JSON.stringify({ partition, offset: r.offset, key, leaderEpoch: r.leaderEpoch })
                : `${topic}-${partition}@${r.offset} epoch ${r.leaderEpoch} key ${key} (${r.value.length} bytes)`,
            );
          }
          if (lines.length > 0 && !process.stdout.write(`${lines.join('\n')}\n`)) {
            await new Promise((resolve) => process.stdout.once('drain', resolve));
          }
          if (consumed >= max) break;
        }
      }
      say(`consumed ${consumed} committed record(s)`);
    });
  },
};

export const describeCommand: CliCommand = {
  name: 'describe',
  summary: "each partition's leader, epoch and ISR, and every replica's LEO and HW",
  help: `usage: ${PNPM} broker describe --bootstrap ADDR[,ADDR...] --topic T [--json]
  Per partition of T: the leader, leader epoch and ISR the controller decided, and each
  replica's own role, log end offset (LEO) and high watermark (HW), as it answers.`,
  async run(args) {
    const { values } = parseArgs({
      args,
      options: {
        bootstrap: { type: 'string' },
        topic: { type: 'string' },
        json: { type: 'boolean', default: false },
      },
    });
    const bootstrap = bootstrapOption(values.bootstrap);
    const topic = requiredOption(values.topic, 'topic');
    await withClient(bootstrap, async (client) => {
      const views = await describeTopic(client, topic);
      if (values.json) console.log(JSON.stringify(views, null, 2));
      else for (const v of views) console.log(formatPartitionView(v));
    });
  },
};
