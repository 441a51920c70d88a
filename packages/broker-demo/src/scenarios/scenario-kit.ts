import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { RemotingCommand, ResponseCode } from '@remoting-ts/remoting';
import { createTopic } from '../client/admin.js';
import { ClusterClient } from '../client/cluster-client.js';
import { readTopic } from '../client/consumer.js';
import { describeTopic, formatPartitionView, type PartitionView } from '../client/describe.js';
import {
  type AckedRecord,
  parseWorkloadKey,
  runProduceWorkload,
  type WorkloadResult,
} from '../client/workload.js';
import { LocalCluster, type LocalClusterOptions } from '../cluster/local-cluster.js';
import type { PartitionState } from '../protocol/cluster-state.js';
import { Acks, RequestCode } from '../protocol/codes.js';
import { FetcherControlRequestHeader, header } from '../protocol/headers.js';
import { responseError } from '../protocol/responses.js';
import { sleep, waitFor } from '../util/time.js';
import { readProcessStat } from '../view/process-state.js';

/**
 * What every scenario reports; the figures are computed from what was read
 * back. A scenario "passes" when what happened is what its rules predict,
 * which for some scenarios is a loss: the verdict says what was expected.
 */
export interface ScenarioResult {
  scenario: string;
  title: string;
  /** What happened is what the rules predict (a loss included, where they predict one). */
  passed: boolean;
  /** What happened, measured, next to what was expected and why. */
  verdict: string;
  acknowledged: number;
  /** Acknowledged records not read back (for acks=0, records sent and not read back). */
  lost: number;
  /** The loss the scenario's rules predict: 0 for every scenario that promises durability. */
  expectedLost: number;
  duplicates: number;
  refused: number;
  [figure: string]: unknown;
}

export interface ScenarioContext {
  say: (line: string) => void;
  /** Where clusters put their directories; each is removed afterwards unless `keepDirs`. */
  baseDir?: string;
  keepDirs?: boolean;
  /** Set by `demo --watch`: each cluster is shown on the live view, and the steps slowed down. */
  watch?: ScenarioWatch;
}

export interface ScenarioWatch {
  /** Called once a scenario's cluster is up, and before it is stopped. */
  attach(cluster: LocalCluster): Promise<void>;
  detach(): Promise<void>;
  /** Pause before every signal a scenario sends and after every state it shows, so a person can follow. */
  paceMs: number;
}

/** Timeouts small enough for the demo to finish in minutes on two cores, large enough to be stable there. */
export const DEMO_TIMINGS = {
  replicaLagTimeMaxMs: 1500,
  sessionTimeoutMs: 2500,
  heartbeatIntervalMs: 250,
  fetchWaitMs: 300,
} as const;

export type ClusterSpec = Omit<LocalClusterOptions, 'dir'>;

/** Runs `body` against a fresh cluster on a temporary directory, and always stops and removes both. */
export async function withCluster<T>(
  ctx: ScenarioContext,
  spec: ClusterSpec,
  body: (cluster: LocalCluster, client: ClusterClient) => Promise<T>,
): Promise<T> {
  const dir = mkdtempSync(path.join(ctx.baseDir ?? os.tmpdir(), 'broker-demo-'));
  let cluster: LocalCluster | null = null;
  let client: ClusterClient | null = null;
  try {
    cluster = await LocalCluster.start({ ...DEMO_TIMINGS, ...spec, dir });
    client = new ClusterClient(cluster.controllerAddress);
    if (ctx.watch !== undefined) await watchCluster(ctx.watch, cluster);
    const result = await body(cluster, client);
    // Let the last state stay on the page a moment.
    if (ctx.watch !== undefined) await sleep(ctx.watch.paceMs);
    return result;
  } catch (err) {
    // The processes' own logs usually say why; they are about to be deleted.
    for (const name of readdirSync(dir).filter((f) => f.endsWith('.log'))) {
      const lines = readFileSync(path.join(dir, name), 'utf8').trimEnd().split('\n');
      ctx.say(`  --- last lines of ${name} ---`);
      for (const line of lines.slice(-15)) ctx.say(`  ${line}`);
    }
    throw err;
  } finally {
    await ctx.watch?.detach();
    await client?.close();
    await cluster?.stop();
    if (ctx.keepDirs !== true) rmSync(dir, { recursive: true, force: true });
    else ctx.say(`  (cluster files kept in ${dir})`);
  }
}

/**
 * The common preamble of a scenario: a fresh cluster (`withCluster`) with
 * `topic` created on it and its partition 0 led, every replica in the ISR;
 * `body` starts from there and gets the partition as it then stands.
 */
export function withTopic<T>(
  ctx: ScenarioContext,
  spec: ClusterSpec,
  topic: string,
  body: (cluster: LocalCluster, client: ClusterClient, start: PartitionView) => Promise<T>,
): Promise<T> {
  return withCluster(ctx, spec, async (cluster, client) =>
    body(cluster, client, await createTopicWithFullIsr(client, topic, spec.replicationFactor)),
  );
}

/**
 * Shows the cluster on the live view, and makes every signal a scenario sends
 * wait `paceMs` first, so the page shows the state before each blow. The
 * scenarios themselves stay unaware of being watched.
 */
async function watchCluster(watch: ScenarioWatch, cluster: LocalCluster): Promise<void> {
  await watch.attach(cluster);
  const signalBroker = cluster.signalBroker.bind(cluster);
  cluster.signalBroker = async (id, signal) => {
    await sleep(watch.paceMs);
    await signalBroker(id, signal);
  };
  await sleep(watch.paceMs);
}

export async function partitionView(
  client: ClusterClient,
  topic: string,
  partition = 0,
): Promise<PartitionView> {
  const views = await describeTopic(client, topic);
  const view = views.find((v) => v.partition === partition);
  if (view === undefined) throw new Error(`${topic}-${partition} not found`);
  return view;
}

/**
 * Prints the partition as `describe` does, a stopped broker shown as paused
 * and an exited one as exited (the scenario's cluster knows its processes).
 */
export async function showPartition(
  ctx: ScenarioContext,
  cluster: LocalCluster,
  client: ClusterClient,
  topic: string,
  label: string,
) {
  const view = await partitionView(client, topic);
  ctx.say(`  ${label}`);
  const processState = (id: number) => {
    const info = cluster.brokerInfo(id);
    if (info === undefined) return undefined;
    if (!cluster.isRunning(id)) return 'exited';
    return readProcessStat(info.pid)?.state ?? 'unknown';
  };
  for (const line of formatPartitionView(view, processState).split('\n')) ctx.say(`    ${line}`);
  if (ctx.watch !== undefined) await sleep(ctx.watch.paceMs);
  return view;
}

/** Waits until the controller's state for partition 0 of `topic` satisfies `ok`. */
export async function waitForPartition(
  client: ClusterClient,
  topic: string,
  what: string,
  ok: (view: PartitionView) => boolean,
  timeoutMs = 20_000,
): Promise<PartitionView> {
  return waitFor(
    what,
    async () => {
      const view = await partitionView(client, topic);
      return ok(view) ? view : undefined;
    },
    timeoutMs,
    100,
  );
}

/** A producer running in the background until `stop()`; `result` resolves with what it did, once it has wound down. */
export interface RunningProducer {
  stop(): void;
  readonly result: Promise<WorkloadResult>;
}

/**
 * acks=all records, one in flight at a time (so acknowledgement order is log
 * order), keys `{keyPrefix}-N`, sent until `stop()`: the traffic the failure
 * scenarios inflict their failures on. `retries` rides out what they do.
 */
export function produceUntilStopped(
  client: ClusterClient,
  topic: string,
  keyPrefix: string,
  options: { retries: number; requestTimeoutMs?: number; onAck?: (record: AckedRecord) => void },
): RunningProducer {
  const stopping = new AbortController();
  const result = runProduceWorkload(client, {
    topic,
    acks: Acks.ALL,
    count: Number.MAX_SAFE_INTEGER,
    keyPrefix,
    inFlight: 1,
    signal: stopping.signal,
    ...options,
  });
  return { stop: () => stopping.abort(), result };
}

/** Waits until a broker other than `previous` leads `topic`-0 and says so itself (it took the role). */
export function waitForNewLeader(
  client: ClusterClient,
  topic: string,
  previous: number,
  timeoutMs = 30_000,
): Promise<PartitionView> {
  return waitForPartition(
    client,
    topic,
    `a leader of ${topic} other than broker ${previous}`,
    (v) =>
      v.leader >= 0 &&
      v.leader !== previous &&
      v.replicas.some((r) => r.brokerId === v.leader && r.status?.role === 'leader'),
    timeoutMs,
  );
}

/**
 * Waits on the controller's metadata alone (one quick request per poll), for
 * timing ISR changes precisely; `waitForPartition` also asks every replica and
 * a stopped one costs it a timeout per poll.
 */
export async function waitForMetadata(
  client: ClusterClient,
  topic: string,
  what: string,
  ok: (state: PartitionState) => boolean,
  timeoutMs = 20_000,
): Promise<PartitionState> {
  return waitFor(
    what,
    async () => {
      await client.refresh(topic);
      const state = client.partitionState(topic, 0);
      return state !== undefined && ok(state) ? state : undefined;
    },
    timeoutMs,
    50,
  );
}

/**
 * Creates `topic` (the cluster's partition count and replication factor)
 * and waits until its partition 0 has a serving leader with all `replicas`
 * in the ISR: the common first step of a scenario, and of many tests.
 */
export async function createTopicWithFullIsr(
  client: ClusterClient,
  topic: string,
  replicas: number,
  timeoutMs = 20_000,
): Promise<PartitionView> {
  await createTopic(client, { topic }, { timeoutMs });
  return waitForFullIsr(client, topic, replicas, timeoutMs);
}

/** Waits for a leader whose ISR holds every replica and whose replicas agree on the LEO. */
export function waitForFullIsr(client: ClusterClient, topic: string, replicas: number, timeoutMs = 20_000) {
  return waitForPartition(
    client,
    topic,
    `${topic}: a leader and all ${replicas} replicas in the ISR`,
    (v) => {
      if (v.leader < 0 || v.isr.length !== replicas) return false;
      const leader = v.replicas.find((r) => r.brokerId === v.leader)?.status;
      return leader?.role === 'leader' && leader.isr.length === replicas;
    },
    timeoutMs,
  );
}

/** Pauses or resumes a broker's replica fetchers: it stays alive (heartbeats) but stops replicating. */
export async function setFetchersPaused(
  client: ClusterClient,
  brokerId: number,
  paused: boolean,
): Promise<void> {
  const address = client.brokerAddress(brokerId);
  if (address === undefined) throw new Error(`broker ${brokerId} not in metadata`);
  const request = RemotingCommand.createRequest(
    RequestCode.FETCHER_CONTROL,
    header(FetcherControlRequestHeader, { paused }),
  );
  const response = await client.rpc.invokeSync(address, request, 3000);
  if (response.code !== ResponseCode.SUCCESS) throw responseError(response, `pause fetchers of ${brokerId}`);
}

export interface ReadBackCheck {
  /** Acknowledged records found in the log. */
  present: number;
  /** Acknowledged records not found. */
  lost: number;
  lostKeys: string[];
  /** Extra copies of records (a retry appended what an earlier attempt had already appended). */
  duplicates: number;
  /** Acknowledged records whose first copy comes before that of a record acknowledged earlier. */
  outOfOrder: number;
  /** Records in the log that were never acknowledged (sent, fate unknown to the producer). */
  unacknowledgedPresent: number;
  totalRead: number;
}

/**
 * Compares what producers were told with what a consumer reads back (up to
 * the HW): every acknowledged key must be there; order is checked per
 * partition by the acknowledgement order of single-in-flight producers.
 */
export async function checkReadBack(
  client: ClusterClient,
  topic: string,
  keyPrefix: string,
  acked: readonly AckedRecord[],
): Promise<ReadBackCheck> {
  const records = await readTopic(client, topic);
  const copies = new Map<number, number>();
  const firstPosition = new Map<number, number>();
  records.forEach((r, i) => {
    const seq = parseWorkloadKey(r.key, keyPrefix);
    if (seq === undefined) return;
    copies.set(seq, (copies.get(seq) ?? 0) + 1);
    if (!firstPosition.has(seq)) firstPosition.set(seq, r.partition * 1e9 + i);
  });
  const ackedSeqs = new Set(acked.map((a) => a.seq));
  const lostKeys = acked.filter((a) => !copies.has(a.seq)).map((a) => a.key);
  let duplicates = 0;
  for (const n of copies.values()) duplicates += n - 1;
  let outOfOrder = 0;
  const lastByPartition = new Map<number, number>();
  for (const a of acked) {
    const pos = firstPosition.get(a.seq);
    if (pos === undefined) continue;
    const last = lastByPartition.get(a.partition) ?? -1;
    if (pos < last) outOfOrder++;
    lastByPartition.set(a.partition, Math.max(last, pos));
  }
  let unacknowledgedPresent = 0;
  for (const seq of copies.keys()) if (!ackedSeqs.has(seq)) unacknowledgedPresent++;
  return {
    present: acked.length - lostKeys.length,
    lost: lostKeys.length,
    lostKeys,
    duplicates,
    outOfOrder,
    unacknowledgedPresent,
    totalRead: records.length,
  };
}

export function round(value: number, digits = 1): number {
  const f = 10 ** digits;
  return Math.round(value * f) / f;
}
