import path from 'node:path';
import { Mutex } from 'async-mutex';
import { type CorruptBatchReport, PartitionLog } from '../log/index.js';
import { createRpcClient, createRpcServer, type RpcClient, type RpcServer } from '../net/rpc.js';
import {
  addressOf,
  type ClusterSnapshot,
  encodeJson,
  type PartitionState,
  partitionKey,
} from '../protocol/cluster-state.js';
import { DelayedOperationTimer } from '../replication/delayed-operations.js';
import { Partition } from '../replication/partition.js';
import { ReplicaFetcher } from '../replication/replica-fetcher.js';
import { BROKER_TIMINGS, type BrokerConfig } from './broker-config.js';
import type { ControllerLink } from './controller-link.js';
import { type BrokerHandlerContext, registerBrokerHandlers } from './handlers.js';
import { RemotingControllerLink } from './remoting-controller-link.js';

/** How often a leader that could not step down from a corrupt log asks again. */
const REPAIR_RETRY_MS = 1000;

/** Builds the broker's link to the cluster's coordination, given the broker's RPC client and log. */
export type ControllerLinkFactory = (client: RpcClient, say: (line: string) => void) => ControllerLink;

/**
 * One broker process: hosts partition replicas, leads or follows each as the
 * controller decides (learned through its ControllerLink), and serves
 * produce, fetch and metadata over remoting-ts.
 */
export class Broker implements BrokerHandlerContext {
  readonly config: BrokerConfig;
  readonly client: RpcClient;
  private readonly server: RpcServer;
  private readonly partitions = new Map<string, Partition>();
  private readonly fetchers = new Map<string, ReplicaFetcher>();
  readonly link: ControllerLink;
  private readonly applyQueue = new Mutex();
  private readonly stopping = new AbortController();
  private snapshot: ClusterSnapshot | null = null;
  private bound: { host: string; port: number } | null = null;
  private isrTimer: NodeJS.Timeout | null = null;
  /** One timer for every parked acks=all wait and fetch long-poll of every partition here. */
  private readonly delayedOperationTimer = new DelayedOperationTimer();
  /** Partitions being repaired after a corrupt batch, and since when. */
  private readonly repairing = new Map<string, number>();
  fetchersPaused = false;

  /** `linkTo` defaults to the built-in controller process at `config.controllerAddress`. */
  constructor(config: BrokerConfig, linkTo?: ControllerLinkFactory) {
    this.config = config;
    this.server = createRpcServer({ host: config.host, port: config.port });
    this.client = createRpcClient({ connectTimeoutMs: BROKER_TIMINGS.connectTimeoutMs });
    const say = (line: string) => this.say(line);
    this.link =
      linkTo?.(this.client, say) ??
      new RemotingControllerLink({
        controllerAddress: config.controllerAddress,
        client: this.client,
        heartbeatIntervalMs: config.heartbeatIntervalMs,
        brokerId: config.brokerId,
        say,
      });
  }

  get brokerId(): number {
    return this.config.brokerId;
  }

  get clusterSnapshot(): ClusterSnapshot | null {
    return this.snapshot;
  }

  async start(): Promise<{ host: string; port: number }> {
    registerBrokerHandlers(this.server, this);
    this.bound = await this.server.start();
    this.link.start(
      { brokerId: this.brokerId, ...(this.config.advertise ?? this.bound) },
      (snapshot) => void this.applySnapshot(snapshot),
    );
    this.isrTimer = setInterval(
      () => {
        for (const p of this.partitions.values()) p.checkIsr();
        this.retryRepairs();
      },
      Math.max(50, Math.floor(this.config.replicaLagTimeMaxMs / 4)),
    );
    return this.bound;
  }

  partition(topic: string, partition: number): Partition | undefined {
    return this.partitions.get(partitionKey(topic, partition));
  }

  allPartitions(): Partition[] {
    return [...this.partitions.values()];
  }

  /** What the latest cluster state says about a partition, hosted here or not. */
  partitionState(topic: string, partition: number): PartitionState | undefined {
    return this.snapshot?.partitions.find((p) => p.topic === topic && p.partition === partition);
  }

  brokerAddress(brokerId: number): string | undefined {
    const b = this.snapshot?.brokers.find((x) => x.id === brokerId);
    return b === undefined ? undefined : addressOf(b);
  }

  /**
   * Applies the controller's state if it is newer than ours. Serialized: role
   * changes never overlap. Never rejects: a partition that cannot follow the
   * state (its log failed to open, say) is logged and the others go on.
   */
  applySnapshot(snapshot: ClusterSnapshot): Promise<void> {
    return this.applyQueue.runExclusive(async () => {
      if (this.stopping.signal.aborted) return;
      if (this.snapshot !== null && snapshot.version <= this.snapshot.version) return;
      this.snapshot = snapshot;
      for (const state of snapshot.partitions) {
        if (!state.replicas.includes(this.brokerId)) continue;
        try {
          const partition = await this.openPartition(state.topic, state.partition);
          await partition.applyState(state, this.minInsyncOf(state));
          // Damage found while opening (or earlier) is repaired once the replica has a role.
          this.repairIfCorrupt(partition);
        } catch (err) {
          this.say(
            `[${partitionKey(state.topic, state.partition)}] cannot apply the controller's state: ${String(err)}`,
          );
        }
      }
    });
  }

  private async openPartition(topic: string, partition: number): Promise<Partition> {
    const key = partitionKey(topic, partition);
    const existing = this.partitions.get(key);
    if (existing !== undefined) return existing;
    const log = await PartitionLog.open({
      dir: path.join(this.config.dataDir, key),
      flush: this.config.flush,
      ...(this.config.segmentBytes === undefined ? {} : { segmentBytes: this.config.segmentBytes }),
      verifyAllSegments: this.config.verifySegmentsOnStart === true,
      onCorruptBatch: (report) => this.onCorruptBatch(key, report),
    });
    for (const e of log.recovery) {
      const dropped = e.droppedSegments.map((d) => `${path.basename(d.file)} (${d.bytes} bytes)`).join(', ');
      this.say(
        `[${key}] recovery cut ${e.truncatedBytes} bytes off ${path.basename(e.segmentFile)} at byte ${e.keptBytes} ` +
          `(log now ends at offset ${e.nextOffset}): ${e.reason}` +
          (dropped === '' ? '' : `; dropped the segments after it: ${dropped}`),
      );
    }
    const created = new Partition({
      topic,
      partition,
      brokerId: this.brokerId,
      log,
      replicaLagTimeMaxMs: this.config.replicaLagTimeMaxMs,
      delayedOperationTimer: this.delayedOperationTimer,
      proposeIsr: (proposal) => this.link.alterIsr(proposal),
      sessionValid: () => this.link.sessionValid(),
      startFollowing: (p, state) => this.follow(p, state),
      stopFollowing: (p) => this.follow(p, null),
      say: (line) => this.say(line),
    });
    // Before the replica takes a role: as leader it must already know the
    // batches its log holds, or it would append a producer's retry twice.
    const loaded = await created.loadProducerState();
    if (loaded.error !== undefined) {
      this.say(
        `[${key}] idempotent-producer state rebuilt from part of the log only (${loaded.batches} batches): ` +
          String(loaded.error),
      );
    }
    this.partitions.set(key, created);
    return created;
  }

  /** Starts, restarts or stops the fetcher of a partition to match its role. */
  private async follow(partition: Partition, state: PartitionState | null): Promise<void> {
    const key = partitionKey(partition.topic, partition.partition);
    const existing = this.fetchers.get(key);
    if (state !== null && existing?.leaderId === state.leader && existing.leaderEpoch === state.leaderEpoch) {
      return;
    }
    if (existing !== undefined) {
      this.fetchers.delete(key);
      await existing.stop();
    }
    if (state === null || this.stopping.signal.aborted) return;
    const leaderId = state.leader;
    // A log with a known corrupt batch is cut before it here, while no fetcher runs: the first
    // fetch then says the LEO this replica can stand behind, and the batch is fetched again.
    const corrupt = partition.log.corruptBatch;
    if (corrupt !== null) {
      this.say(
        `[${key}] truncating to offset ${corrupt.offset} (before the corrupt batch) to fetch it again from the leader`,
      );
      await partition.truncateTo(corrupt.offset);
    }
    this.say(`[${key}] following broker ${leaderId} in epoch ${state.leaderEpoch}`);
    const fetcher = new ReplicaFetcher({
      client: this.client,
      brokerId: this.brokerId,
      partition,
      leaderId,
      leaderEpoch: state.leaderEpoch,
      leaderAddress: () => this.brokerAddress(leaderId),
      maxWaitMs: this.config.replicaFetchWaitMaxMs,
      maxBytes: this.config.replicaFetchMaxBytes,
      paused: () => this.fetchersPaused,
      say: (line) => this.say(line),
    });
    this.fetchers.set(key, fetcher);
    fetcher.start();
  }

  /**
   * A read of this replica's log found a corrupt batch: while it opened
   * (the producer-state scan reads the whole log), or serving a fetch.
   * Nothing at or past it is served any more (the log refuses). The repair is
   * the same wherever it was found: see `repairIfCorrupt`.
   */
  private onCorruptBatch(key: string, report: CorruptBatchReport): void {
    this.say(
      `[${key}] CORRUPT batch at offset ${report.offset}: ${path.basename(report.segmentFile)} byte ${report.position}, ` +
        `${report.bytesToSegmentEnd} bytes from there to the segment end (${report.reason}); ` +
        `serving stops before offset ${report.offset}`,
    );
    // Found while opening: the partition is not registered yet; applySnapshot repairs it once it has a role.
    const partition = this.partitions.get(key);
    if (partition !== undefined) this.repairIfCorrupt(partition);
  }

  /**
   * Repairs a replica whose log holds a known corrupt batch, by its role: a
   * leader asks the controller to hand leadership to another ISR member (it
   * must not lead past the damage), then, as a follower, cuts its log before
   * the batch and fetches it again from the new leader; a follower does the
   * cut inside its fetch loop (no fetch carries the old LEO); an offline
   * replica cuts at once. A leader that cannot step down (no other ISR
   * member) keeps serving below the damage and tries again on later ISR
   * checks. One repair at a time per partition.
   */
  private repairIfCorrupt(partition: Partition): void {
    const key = partitionKey(partition.topic, partition.partition);
    const report = partition.log.corruptBatch;
    if (report === null || this.repairing.has(key) || this.stopping.signal.aborted) return;
    this.repairing.set(key, Date.now());
    this.repair(partition, report)
      .catch((err: unknown) => this.say(`[${key}] repairing the corrupt log failed: ${String(err)}`))
      .finally(() => {
        // A leader that could not step down is retried later (retryRepairs), not at once.
        if (partition.currentRole !== 'leader' || partition.log.corruptBatch === null)
          this.repairing.delete(key);
      });
  }

  /** Leaders still holding a corrupt batch try again to step down, at most once per REPAIR_RETRY_MS. */
  private retryRepairs(): void {
    const now = Date.now();
    for (const [key, since] of this.repairing) {
      const partition = this.partitions.get(key);
      if (partition === undefined || now - since < REPAIR_RETRY_MS) continue;
      this.repairing.delete(key);
      this.repairIfCorrupt(partition);
    }
  }

  private async repair(partition: Partition, report: CorruptBatchReport): Promise<void> {
    const key = partitionKey(partition.topic, partition.partition);
    if (partition.currentRole === 'leader') {
      const decided = await this.resignLeadership(partition, `corrupt batch at offset ${report.offset}`);
      if (decided === null) {
        this.say(`[${key}] still leading: serving stays below the corrupt batch`);
        return;
      }
      this.say(`[${key}] handed leadership to broker ${decided.leader} (epoch ${decided.leaderEpoch})`);
      // As a follower now: `follow` cuts the log before the fetcher starts.
      await partition.applyState(decided, this.minInsyncOf(decided));
      return;
    }
    const reason = `before the corrupt batch at offset ${report.offset}, to fetch it again from the leader`;
    const fetcher = this.fetchers.get(key);
    if (partition.currentRole === 'follower' && fetcher !== undefined) {
      await fetcher.truncateTo(report.offset, reason);
      return;
    }
    if (partition.currentRole === 'offline') {
      // No fetcher runs and none starts meanwhile: role changes wait for this turn.
      await this.applyQueue.runExclusive(async () => {
        if (partition.currentRole === 'offline' && partition.log.corruptBatch !== null) {
          this.say(`[${key}] truncating to offset ${report.offset} (${reason})`);
          await partition.truncateTo(report.offset);
        }
      });
    }
  }

  /** A partition's min.insync.replicas: its topic's own, else the cluster's. */
  private minInsyncOf(state: PartitionState): number {
    return state.minInsyncReplicas ?? this.snapshot?.config.minInsyncReplicas ?? 1;
  }

  private resignLeadership(partition: Partition, reason: string): Promise<PartitionState | null> {
    return this.link.resignLeadership({
      topic: partition.topic,
      partition: partition.partition,
      leaderEpoch: partition.leaderEpoch,
      reason,
    });
  }

  /** Encodes the state for a metadata answer, limited to one topic when asked. */
  metadataBody(topic: string | undefined): Buffer | null {
    const snapshot = this.snapshot;
    if (snapshot === null) return null;
    if (topic === undefined || topic === '') return encodeJson(snapshot);
    return encodeJson({ ...snapshot, partitions: snapshot.partitions.filter((p) => p.topic === topic) });
  }

  say(line: string): void {
    const time = new Date().toISOString().slice(11, 23);
    process.stdout.write(`${time} [broker ${this.brokerId}] ${line}\n`);
  }

  async shutdown(): Promise<void> {
    this.stopping.abort();
    if (this.isrTimer !== null) clearInterval(this.isrTimer);
    await this.link.stop();
    await Promise.all([...this.fetchers.values()].map((f) => f.stop()));
    this.fetchers.clear();
    for (const p of this.partitions.values()) p.abandon();
    await this.server.shutdown();
    for (const p of this.partitions.values()) await p.log.close().catch(() => undefined);
    await this.client.shutdown();
  }
}
