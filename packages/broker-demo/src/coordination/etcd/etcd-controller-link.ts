import { randomUUID } from 'node:crypto';
import type { Etcd3 } from 'etcd3';
import type { BrokerEndpoint, ControllerLink } from '../../broker/controller-link.js';
import { changeIsr, type Decision } from '../../controller/partition-rules.js';
import {
  type ClusterSnapshot,
  type CreateTopicRequest,
  type IsrProposal,
  type PartitionState,
  type ResignationRequest,
  unknownTopic,
} from '../../protocol/cluster-state.js';
import { createEtcdClient } from './etcd-client.js';
import { EtcdClusterMirror } from './etcd-cluster-mirror.js';
import { stateKey, toPartitionState, toStateRecord } from './etcd-cluster-state.js';
import { EtcdController } from './etcd-controller.js';
import { EtcdKeyLayout, encodeRecord } from './etcd-records.js';
import { EtcdSession } from './etcd-session.js';
import type { EtcdCoordinates } from './etcd-url.js';
import { createTopic, topicPartitions, topicReady } from './topic-admin.js';

/** The link's timings, named. */
export const ETCD_LINK_TIMINGS = {
  /** A resignation request the controller has not answered by then is withdrawn (leadership stays). */
  resignationTimeoutMs: 3000,
  /**
   * How long a metadata or create-topic request waits for a topic's first
   * leaders to be elected (then it answers with the partitions still
   * leaderless, and the client asks again): within a client's metadata timeout.
   */
  topicReadyTimeoutMs: 2000,
} as const;

export interface EtcdControllerLinkOptions {
  coordinates: EtcdCoordinates;
  brokerId: number;
  /** The session's lease TTL (etcd counts whole seconds). */
  sessionTtlSeconds: number;
  say: (line: string) => void;
}

/**
 * A broker coordinated through etcd, the way Kafka's brokers were through
 * ZooKeeper: a session lease and a registration under it (etcd-session.ts),
 * a copy of the cluster state kept by a watch (etcd-cluster-mirror.ts), a
 * campaign for the controller's office (etcd-controller.ts), and ISR changes
 * written by the leader itself as compare-and-swap on the partition state's
 * mod revision (Kafka's zkVersion).
 */
export class EtcdControllerLink implements ControllerLink {
  readonly description: string;
  private readonly options: EtcdControllerLinkOptions;
  private readonly client: Etcd3;
  private readonly keys: EtcdKeyLayout;
  readonly mirror: EtcdClusterMirror;
  private readonly controller: EtcdController;
  private session: EtcdSession | null = null;
  private self: BrokerEndpoint | null = null;
  private offChange: (() => void) | null = null;
  private stopped = false;

  constructor(options: EtcdControllerLinkOptions) {
    this.options = options;
    this.description = `etcd ${options.coordinates.url}`;
    this.client = createEtcdClient(options.coordinates.endpoints);
    this.keys = new EtcdKeyLayout(options.coordinates.root);
    const say = options.say;
    this.mirror = new EtcdClusterMirror(this.client, this.keys, say);
    this.controller = new EtcdController({
      client: this.client,
      mirror: this.mirror,
      keys: this.keys,
      brokerId: options.brokerId,
      ttlSeconds: options.sessionTtlSeconds,
      say,
    });
  }

  start(self: BrokerEndpoint, onState: (snapshot: ClusterSnapshot) => void): void {
    this.self = self;
    this.session = new EtcdSession({
      client: this.client,
      mirror: this.mirror,
      ttlSeconds: this.options.sessionTtlSeconds,
      registrationKey: this.keys.brokerRegistration(self.brokerId),
      registration: { id: self.brokerId, host: self.host, port: self.port, incarnation: randomUUID() },
      say: this.options.say,
    });
    this.offChange = this.mirror.onChange(() => onState(this.snapshot()));
    void this.mirror.start().then(() => {
      if (this.stopped) return;
      onState(this.snapshot());
      this.session?.start();
      this.controller.start();
    });
  }

  sessionValid(): boolean {
    return this.session?.valid() ?? false;
  }

  /** The controller epoch while this broker is the controller, else null (for logs and the view). */
  get controllerEpoch(): number | null {
    return this.controller.activeEpoch;
  }

  /**
   * Writes the leader's ISR change itself, as a transaction that applies only
   * if the partition state is still the version this proposal was made from
   * (its mod revision), this broker is still registered under its own lease,
   * and every broker added is registered. The rule is the built-in
   * controller's (`changeIsr`), checked against our copy of the state.
   */
  async alterIsr(proposal: IsrProposal): Promise<PartitionState | null> {
    const key = stateKey(proposal.topic, proposal.partition);
    const session = this.session;
    const state = this.mirror.state;
    const current = state.partitionStates.get(key);
    const topic = state.topics.get(proposal.topic);
    const replicas = topic?.record.replicaAssignment[proposal.partition];
    if (session === null || !session.valid() || session.leaseId === null) {
      this.options.say(`[${key}] ISR [${proposal.isr}] not proposed: the session with etcd is not valid`);
      return null;
    }
    if (current === undefined || replicas === undefined) return null;
    const minInsync = topic?.record.minInsyncReplicas;
    let decision: Decision;
    try {
      decision = changeIsr(
        toPartitionState(proposal.topic, proposal.partition, replicas, current.record, minInsync),
        { brokerId: this.options.brokerId, ...proposal },
        { isAlive: (id) => state.brokers.has(id), isPresumed: () => false },
        Date.now(),
      );
    } catch (err) {
      this.options.say(`[${key}] ISR [${proposal.isr}] not proposed: ${(err as Error).message}`);
      return null;
    }
    const isr = decision.state.isr;
    // The same leader in the same epoch: the stamps of its election stay.
    const next = toStateRecord(decision.state, current.record);
    const stateKeyName = this.keys.partitionState(proposal.topic, proposal.partition);
    const txn = this.client
      .if(stateKeyName, 'Mod', '==', current.modRevision)
      .and(this.keys.brokerRegistration(this.options.brokerId), 'Lease', '==', session.leaseId);
    for (const id of isr.filter((b) => !current.record.isr.includes(b)))
      txn.and(this.keys.brokerRegistration(id), 'Create', '>', 0);
    try {
      const result = await txn.then(this.client.put(stateKeyName).value(encodeRecord(next))).commit();
      if (!result.succeeded) {
        this.options.say(
          `[${key}] ISR [${current.record.isr}] -> [${isr}] lost a race in etcd (the state moved past ` +
            `revision ${current.modRevision}, or a registration changed); the leader proposes again later`,
        );
        return null;
      }
      this.options.say(
        `[${key}] ISR [${current.record.isr}] -> [${isr}] written to etcd ` +
          `(partition epoch ${next.partitionEpoch}, revision ${result.header.revision})`,
      );
      await this.mirror.waitForRevision(Number(result.header.revision));
      return decision.state;
    } catch (err) {
      this.options.say(`[${key}] ISR change not written: etcd unreachable (${String(err)})`);
      return null;
    }
  }

  /**
   * Asks the controller to hand the partition to another ISR member: a
   * request key under this broker's lease, which the controller answers by
   * deleting it (with the election in the same transaction when granted).
   */
  async resignLeadership(request: ResignationRequest): Promise<PartitionState | null> {
    const key = stateKey(request.topic, request.partition);
    const requestKey = this.keys.resignation(request.topic, request.partition);
    const session = this.session;
    if (session === null || !session.valid() || session.leaseId === null) return null;
    try {
      const put = await this.client
        .if(requestKey, 'Create', '==', 0)
        .then(
          this.client
            .put(requestKey)
            .value(
              encodeRecord({
                brokerId: this.options.brokerId,
                leaderEpoch: request.leaderEpoch,
                reason: request.reason,
              }),
            )
            .lease(session.leaseId),
        )
        .commit();
      await this.mirror.waitForRevision(Number(put.header.revision));
      const answered = await this.mirror.waitUntil(
        (s) => !s.resignations.has(key),
        ETCD_LINK_TIMINGS.resignationTimeoutMs,
      );
      if (!answered) {
        await this.client
          .delete()
          .key(requestKey)
          .catch(() => undefined);
        this.options.say(`[${key}] no controller answered the request to step down; leadership stays`);
        return null;
      }
    } catch (err) {
      this.options.say(`[${key}] cannot ask the controller to hand leadership over: ${String(err)}`);
      return null;
    }
    const after = this.snapshot().partitions.find(
      (p) => p.topic === request.topic && p.partition === request.partition,
    );
    return after !== undefined && after.leader !== this.options.brokerId ? after : null;
  }

  /**
   * The cluster state from our copy, limited to `topic` when given. A topic
   * the copy does not have yet is looked up in etcd itself (a linearizable
   * read), and a new topic's first leaders are waited for a moment. Reading
   * never creates a topic.
   * @throws BrokerError UNKNOWN_TOPIC_OR_PARTITION when etcd has no such topic
   */
  async readState(topic: string | undefined): Promise<ClusterSnapshot> {
    await this.mirror.start();
    if (topic === undefined) return this.snapshot();
    if (!this.mirror.state.topics.has(topic)) {
      const found = await this.client.get(this.keys.topic(topic)).exec();
      if (found.kvs.length === 0) throw unknownTopic(topic);
      await this.mirror.waitForRevision(Number(found.header.revision));
    }
    return this.topicSnapshot(topic);
  }

  /**
   * Creates a topic in etcd (topic-admin.ts: counts left out come from the
   * cluster's `config` key), over the brokers registered now, and waits a
   * moment for the controller to elect its first leaders.
   * @throws BrokerError TOPIC_ALREADY_EXISTS, INVALID_TOPIC, INVALID_PARTITIONS,
   *   INVALID_REPLICATION_FACTOR or INVALID_CONFIG; an etcd error when etcd cannot be reached
   */
  async createTopic(request: CreateTopicRequest): Promise<ClusterSnapshot> {
    // Replicas are assigned over the brokers registered now, not a moment ago.
    await this.mirror.catchUp();
    const revision = await createTopic(this.client, this.keys, this.mirror.state, request);
    await this.mirror.waitForRevision(revision);
    this.options.say(`created topic ${request.topic} in etcd (revision ${revision})`);
    return this.topicSnapshot(request.topic);
  }

  /** The state limited to `topic`, once its first leaders are elected or after a moment's wait. */
  private async topicSnapshot(topic: string): Promise<ClusterSnapshot> {
    await this.mirror.waitUntil((s) => topicReady(s, topic), ETCD_LINK_TIMINGS.topicReadyTimeoutMs);
    return { ...this.snapshot(), partitions: topicPartitions(this.mirror.state, topic) };
  }

  /** Resigns the controller's office and revokes the session's lease: leaderships move at once. */
  async stop(): Promise<void> {
    this.stopped = true;
    this.offChange?.();
    await this.controller.stop();
    await this.session?.stop();
    await this.mirror.stop();
    this.client.close();
  }

  private snapshot(): ClusterSnapshot {
    return this.mirror.state.snapshot(this.self ?? { host: '127.0.0.1', port: 0 });
  }
}
