import { RemotingCommand, ResponseCode } from '@remoting-ts/remoting';
import { ClusterClient } from '../client/cluster-client.js';
import type { LocalCluster, ProcessTimes } from '../cluster/local-cluster.js';
import { type ClusterSnapshot, decodeJson, partitionKey } from '../protocol/cluster-state.js';
import { RequestCode } from '../protocol/codes.js';
import { header, ReplicaStatusRequestHeader } from '../protocol/headers.js';
import type { ReplicaStatusBody } from '../protocol/replica-status.js';
import { sleep } from '../util/time.js';
import type { EtcdStateReader } from './etcd-state-reader.js';
import { readProcessStat } from './process-state.js';
import type {
  BrokerView,
  ClusterViewSnapshot,
  PartitionPanel,
  ProcessState,
  ReplicaBar,
} from './view-model.js';

/** The parts of a LocalCluster the view reads and drives: only processes it started. */
export type ViewedCluster = Pick<
  LocalCluster,
  | 'options'
  | 'controllerAddress'
  | 'brokerIds'
  | 'processes'
  | 'processTimes'
  | 'isRunning'
  | 'signalBroker'
  | 'startBroker'
>;

/** Brokers built before the view existed answer without `traffic`, and before etcd coordination without `sessionValid`. */
type StatusBody = Omit<ReplicaStatusBody, 'traffic' | 'sessionValid'> &
  Partial<Pick<ReplicaStatusBody, 'traffic' | 'sessionValid'>>;

/** How long one status request may take; a stopped broker keeps its one request in flight, never more. */
const STATUS_TIMEOUT_MS = 1000;
/** How long a sample waits for status answers before it goes with what it has. */
const SAMPLE_WAIT_MS = 60;
/** A status answer older than this is shown as stale. */
const STALE_AFTER_MS = 400;
/** Rates are measured over about this window. */
const RATE_WINDOW_MS = 1000;

interface Counts {
  atMs: number;
  /** Per partition: the leader's LEO. */
  leaderLeo: Map<string, number>;
  /** Per partition and broker: records served to consumers (a counter per broker process). */
  consumed: Map<string, number>;
}

/**
 * Samples a cluster for the view over remoting-ts: the controller's metadata
 * (leaders, epochs, ISRs, liveness) and each broker's REPLICA_STATUS (LEO, HW,
 * follower lag, traffic counters). Each broker has at most one status request
 * in flight, so a SIGSTOPped broker slows nothing down: it just goes stale.
 */
export class ClusterSampler {
  private readonly client: ClusterClient;
  /** An etcd-coordinated cluster's state, read from etcd itself (a watch): no request per sample. */
  private etcd: EtcdStateReader | null = null;
  /** Loads the etcd client only for an etcd cluster (it costs the view's process about 0.4 s otherwise). */
  private readonly etcdLoading: Promise<EtcdStateReader> | null;
  private metadata: ClusterSnapshot | null = null;
  private readonly answers = new Map<number, { atMs: number; body: StatusBody }>();
  private readonly inFlight = new Map<number, Promise<void>>();
  private readonly history: Counts[] = [];
  private closed = false;

  constructor(private readonly cluster: ViewedCluster) {
    this.client = new ClusterClient(cluster.controllerAddress);
    const url = cluster.options.coordinator;
    this.etcdLoading =
      url === null ? null : import('./etcd-state-reader.js').then((m) => new m.EtcdStateReader(url));
  }

  async sample(): Promise<Omit<ClusterViewSnapshot, 'seq' | 'label' | 'producer'>> {
    if (this.etcdLoading !== null) this.etcd ??= await this.etcdLoading;
    const brokers = this.cluster.processes().filter((p) => p.role === 'broker');
    const pending: Promise<void>[] = [];
    for (const b of brokers) {
      const id = b.brokerId!;
      if (!this.cluster.isRunning(id)) continue;
      let request = this.inFlight.get(id);
      if (request === undefined) {
        request = this.askStatus(id, b.address).finally(() => this.inFlight.delete(id));
        this.inFlight.set(id, request);
      }
      pending.push(request);
    }
    const metadata = (this.etcd?.read() ?? this.client.refresh()).then(
      (m) => {
        this.metadata = m;
      },
      () => {
        // The controller did not answer: keep showing its last metadata.
      },
    );
    await Promise.race([Promise.all([metadata, ...pending]), sleep(SAMPLE_WAIT_MS)]);
    await metadata;
    return this.build(Date.now());
  }

  private async askStatus(id: number, address: string): Promise<void> {
    try {
      const request = RemotingCommand.createRequest(
        RequestCode.REPLICA_STATUS,
        header(ReplicaStatusRequestHeader, { topic: '' }),
      );
      const response = await this.client.rpc.invokeSync(address, request, STATUS_TIMEOUT_MS);
      if (response.code !== ResponseCode.SUCCESS || this.closed) return;
      this.answers.set(id, { atMs: Date.now(), body: decodeJson<StatusBody>(response.body, 'status') });
    } catch {
      // Stopped, killed or restarting: its bars go stale until it answers again.
    }
  }

  private build(now: number): Omit<ClusterViewSnapshot, 'seq' | 'label' | 'producer'> {
    const o = this.cluster.options;
    const meta = this.metadata;
    const controller = this.cluster.processes().find((p) => p.role === 'controller');
    const elected = this.etcd?.controller() ?? null;
    const brokers: BrokerView[] = this.cluster.processes().flatMap((p) => {
      if (p.role !== 'broker' || p.brokerId === null) return [];
      const id = p.brokerId;
      const answer = this.answers.get(id);
      const running = this.cluster.isRunning(id);
      const stat = running ? readProcessStat(p.pid) : null;
      const process = !running ? 'exited' : (stat?.state ?? 'unknown');
      const registration = meta?.brokers.find((b) => b.id === id);
      const registered = registration?.alive ?? false;
      const answering = answer !== undefined && now - answer.atMs < STALE_AFTER_MS;
      return [
        {
          id,
          address: p.address,
          pid: p.pid,
          process,
          processSinceMs: processSince(process, this.cluster.processTimes(id)),
          registered,
          registeredSinceMs: registration?.changedAtMs ?? null,
          answering,
          fenced:
            this.etcd !== null &&
            running &&
            (!registered || (answering && answer.body.sessionValid === false)),
          controller: elected?.brokerId === id,
        },
      ];
    });

    const counts: Counts = { atMs: now, leaderLeo: new Map(), consumed: new Map() };
    for (const [id, answer] of this.answers)
      for (const t of answer.body.traffic ?? [])
        counts.consumed.set(`${partitionKey(t.topic, t.partition)}/${id}`, t.consumerRecordsServed);
    const partitions: PartitionPanel[] = (meta?.partitions ?? [])
      .slice()
      .sort((a, b) => (a.topic === b.topic ? a.partition - b.partition : a.topic < b.topic ? -1 : 1))
      .map((p) => {
        const key = partitionKey(p.topic, p.partition);
        const statusOf = (id: number) => {
          const answer = this.answers.get(id);
          const status = answer?.body.replicas.find(
            (r) => r.topic === p.topic && r.partition === p.partition,
          );
          return status === undefined ? undefined : { status, answer: answer! };
        };
        const leader = p.leader >= 0 ? statusOf(p.leader) : undefined;
        const leaderStatus = leader?.status.role === 'leader' ? leader.status : undefined;
        if (leaderStatus !== undefined) counts.leaderLeo.set(key, leaderStatus.logEndOffset);
        const replicas: ReplicaBar[] = p.replicas.map((id) => {
          const own = statusOf(id);
          const seenByLeader = leaderStatus?.followers.find((f) => f.brokerId === id);
          const isLeader = id === p.leader;
          return {
            brokerId: id,
            leo: own?.status.logEndOffset ?? null,
            hw: own?.status.highWatermark ?? null,
            role: own?.status.role ?? null,
            stale:
              own === undefined || now - own.answer.atMs >= STALE_AFTER_MS || !this.cluster.isRunning(id),
            inIsr: p.isr.includes(id),
            lagRecords:
              isLeader || seenByLeader === undefined || leaderStatus === undefined || seenByLeader.leo < 0
                ? null
                : Math.max(0, leaderStatus.logEndOffset - seenByLeader.leo),
            lastCaughtUpMsAgo:
              isLeader || seenByLeader === undefined || seenByLeader.lastCaughtUpMsAgo < 0
                ? null
                : seenByLeader.lastCaughtUpMsAgo,
            lastTruncation: own?.status.lastTruncation ?? null,
          };
        });
        let acksAllWaiting = 0;
        if (p.leader >= 0)
          acksAllWaiting =
            this.answers
              .get(p.leader)
              ?.body.traffic?.find((t) => t.topic === p.topic && t.partition === p.partition)
              ?.acksAllWaiting ?? 0;
        return {
          topic: p.topic,
          partition: p.partition,
          leader: p.leader,
          leaderEpoch: p.leaderEpoch,
          isr: [...p.isr],
          changedAtMs: p.changedAtMs ?? null,
          highWatermark: leaderStatus?.highWatermark ?? null,
          replicas,
          produceRate: 0,
          consumeRate: 0,
          acksAllWaiting,
        };
      });
    this.history.push(counts);
    while (this.history.length > 2 && now - this.history[1]!.atMs >= RATE_WINDOW_MS) this.history.shift();
    const base = this.history[0]!;
    const seconds = (now - base.atMs) / 1000;
    if (seconds > 0)
      for (const p of partitions) {
        const key = partitionKey(p.topic, p.partition);
        const leoNow = counts.leaderLeo.get(key);
        const leoThen = base.leaderLeo.get(key);
        if (leoNow !== undefined && leoThen !== undefined)
          p.produceRate = Math.max(0, leoNow - leoThen) / seconds;
        let consumed = 0;
        for (const [k, n] of counts.consumed) {
          if (!k.startsWith(`${key}/`)) continue;
          // A restarted broker counts from zero again: only rises count.
          consumed += Math.max(0, n - (base.consumed.get(k) ?? n));
        }
        p.consumeRate = consumed / seconds;
      }
    return {
      atMs: now,
      replicaLagTimeMaxMs: o.replicaLagTimeMaxMs,
      minInsync: o.minInsync,
      unclean: o.unclean,
      controller: controller === undefined ? null : { address: controller.address, pid: controller.pid },
      coordination:
        this.etcd === null
          ? { kind: 'controller' }
          : {
              kind: 'etcd',
              url: this.etcd.url,
              controllerBrokerId: elected?.brokerId ?? null,
              controllerEpoch: elected?.epoch ?? null,
            },
      brokers,
      partitions,
    };
  }

  async close(): Promise<void> {
    this.closed = true;
    await (await this.etcdLoading)?.close();
    await this.client.close();
  }
}

/** When a process's state as shown began: its exit, its last SIGSTOP or SIGCONT, or its start. */
function processSince(state: ProcessState, times: ProcessTimes | undefined): number | null {
  if (times === undefined) return null;
  if (state === 'exited') return times.exitedAtMs;
  const pause = times.lastPause;
  if (state === 'stopped') return pause?.signal === 'SIGSTOP' ? pause.atMs : null;
  // Running: since it continued, if that came after it started; else since it started.
  return pause?.signal === 'SIGCONT' && pause.atMs > times.startedAtMs ? pause.atMs : times.startedAtMs;
}
