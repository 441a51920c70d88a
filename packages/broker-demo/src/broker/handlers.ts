import type { RemotingCommand } from '@remoting-ts/remoting';
import { type BatchHeader, NO_PRODUCER_ID, NO_SEQUENCE } from '../log/index.js';
import type { HandlerContext, RpcServer } from '../net/rpc.js';
import {
  type ClusterSnapshot,
  decodeJson,
  encodeJson,
  type PartitionState,
} from '../protocol/cluster-state.js';
import { Acks, BrokerResponseCode, RequestCode } from '../protocol/codes.js';
import { BrokerError } from '../protocol/errors.js';
import {
  CreateTopicRequestHeader,
  FetcherControlRequestHeader,
  FetchRequestHeader,
  FetchResponseHeader,
  header,
  MetadataRequestHeader,
  OffsetsForLeaderEpochRequestHeader,
  OffsetsForLeaderEpochResponseHeader,
  ProduceRequestHeader,
  ProduceResponseHeader,
  ReplicaStatusRequestHeader,
} from '../protocol/headers.js';
import { RecordsFormatError, validateProducedBatch } from '../protocol/records-codec.js';
import type { ReplicaStatusBody } from '../protocol/replica-status.js';
import { errorResponse, successResponse } from '../protocol/responses.js';
import type { Partition } from '../replication/partition.js';
import type { ControllerLink } from './controller-link.js';
import { PartitionTraffic } from './partition-traffic.js';

/**
 * What the request handlers need from the broker that hosts them, and nothing
 * more. The broker implements it; handlers never see the broker's fetchers,
 * heartbeats or timers, and this module does not import broker.ts, so the two
 * do not depend on each other's insides (tests can serve handlers from a stub
 * host with real partitions).
 */
export interface BrokerHandlerContext {
  readonly brokerId: number;
  /**
   * Where metadata requests for topics unknown here are answered from, where
   * topics are created, and whether this broker's session is valid: a fenced
   * broker answers no metadata, so clients ask another broker.
   */
  readonly link: Pick<ControllerLink, 'readState' | 'createTopic' | 'sessionValid'>;
  /** The latest cluster state this broker applied, or null before the first. */
  readonly clusterSnapshot: ClusterSnapshot | null;
  /** Set by FETCHER_CONTROL: the scenarios hold followers behind with it. */
  fetchersPaused: boolean;
  /** The replica hosted here, if any. */
  partition(topic: string, partition: number): Partition | undefined;
  /** What the latest cluster state says about a partition, hosted here or not. */
  partitionState(topic: string, partition: number): PartitionState | undefined;
  allPartitions(): Partition[];
  /** Applies a newer cluster state (a LeaderAndIsr push or a forwarded metadata answer); never rejects. */
  applySnapshot(snapshot: ClusterSnapshot): Promise<void>;
  /** The cluster state encoded for a metadata answer, limited to one topic when given. */
  metadataBody(topic: string | undefined): Buffer | null;
  say(line: string): void;
}

/** The longest a fetch may be parked, whatever it asks: a client's timeout must stay above it. */
const MAX_FETCH_WAIT_MS = 10_000;

/** Wires the broker's request codes to what they do. Each handler turns failures into typed error answers. */
export function registerBrokerHandlers(server: RpcServer, broker: BrokerHandlerContext): void {
  // Read-only counters for the live cluster view (REPLICA_STATUS `traffic`).
  const traffic = new PartitionTraffic();
  const guarded =
    (
      fn: (
        request: RemotingCommand,
        ctx: HandlerContext,
      ) => Promise<RemotingCommand | null> | RemotingCommand | null,
    ) =>
    async (ctx: HandlerContext, request: RemotingCommand) => {
      try {
        return await fn(request, ctx);
      } catch (err) {
        return errorResponse(err);
      }
    };

  function hosted(topic: string, partition: number): Partition {
    const p = broker.partition(topic, partition);
    if (p !== undefined) return p;
    const state = broker.partitionState(topic, partition);
    if (state === undefined) {
      throw new BrokerError(
        BrokerResponseCode.UNKNOWN_TOPIC_OR_PARTITION,
        `${topic}-${partition} is not known here`,
      );
    }
    throw BrokerError.notLeader(topic, partition, state.leader);
  }

  server.handle(
    RequestCode.PRODUCE,
    guarded(async (request) => {
      const h = request.decodeCustomHeader(ProduceRequestHeader);
      const batch = validateBatchOrRefuse(request.body, h);
      if (request.isOneway() || h.acks === Acks.NONE) {
        // acks=0: nobody listens for the answer, so failures are only logged.
        hosted(h.topic, h.partition)
          .produce(batch, h.acks, h.timeoutMs)
          .catch((err: unknown) =>
            broker.say(`acks=0 produce to ${h.topic}-${h.partition} failed: ${String(err)}`),
          );
        return null;
      }
      const target = hosted(h.topic, h.partition);
      const waited = h.acks === Acks.ALL ? traffic.acksAllStarted(h.topic, h.partition) : undefined;
      const outcome = await target.produce(batch, h.acks, h.timeoutMs).finally(waited);
      return successResponse().writeCustomHeader(header(ProduceResponseHeader, outcome));
    }),
    { concurrency: 256 },
  );

  server.handle(
    RequestCode.FETCH,
    guarded(async (request, ctx) => {
      const h = request.decodeCustomHeader(FetchRequestHeader);
      const outcome = await hosted(h.topic, h.partition).fetch({
        fetchOffset: h.fetchOffset,
        maxBytes: h.maxBytes,
        maxWaitMs: Math.min(h.maxWaitMs, MAX_FETCH_WAIT_MS),
        replicaId: h.replicaId,
        currentLeaderEpoch: h.currentLeaderEpoch,
        replicaHighWatermark: h.replicaHighWatermark ?? -1,
      });
      if (h.replicaId < 0) traffic.consumerServed(h.topic, h.partition, outcome.nextOffset - h.fetchOffset);
      // The body is a view of a pooled read buffer, written without a copy: it goes back once sent.
      ctx.onResponseWritten(outcome.release);
      return successResponse()
        .writeCustomHeader(
          header(FetchResponseHeader, {
            highWatermark: outcome.highWatermark,
            logEndOffset: outcome.logEndOffset,
            logStartOffset: outcome.logStartOffset,
            nextOffset: outcome.nextOffset,
            leaderEpoch: outcome.leaderEpoch,
          }),
        )
        .setBody(outcome.bytes.length > 0 ? outcome.bytes : null);
    }),
    // Long-polls park here; they must not starve produce requests.
    { concurrency: 256 },
  );

  server.handle(
    RequestCode.OFFSETS_FOR_LEADER_EPOCH,
    guarded((request) => {
      const h = request.decodeCustomHeader(OffsetsForLeaderEpochRequestHeader);
      const answer = hosted(h.topic, h.partition).offsetsForLeaderEpoch(h.leaderEpoch, h.currentLeaderEpoch);
      return successResponse().writeCustomHeader(
        header(OffsetsForLeaderEpochResponseHeader, {
          leaderEpoch: answer.epoch,
          endOffset: answer.endOffset,
        }),
      );
    }),
  );

  server.handle(
    RequestCode.METADATA,
    guarded(async (request) => {
      const h = request.decodeCustomHeader(MetadataRequestHeader);
      // Its state may be stale (it may have been declared dead and its partitions led
      // elsewhere): a client told "ask another broker" finds the current leaders.
      if (!broker.link.sessionValid()) throw BrokerError.brokerFenced('metadata');
      const topic = h.topic === '' ? undefined : h.topic;
      const known =
        topic === undefined || (broker.clusterSnapshot?.partitions.some((p) => p.topic === topic) ?? false);
      if (!known || broker.clusterSnapshot === null) {
        // Maybe created since our last state: ask the coordination and pass its answer on
        // (its UNKNOWN_TOPIC_OR_PARTITION included).
        const state = await broker.link.readState(topic);
        // Only a whole state is ours to apply: one limited to a topic carries the version of
        // the whole, and applying it would make us skip the rest of that version.
        if (topic === undefined) void broker.applySnapshot(state);
        return successResponse().setBody(encodeJson(state));
      }
      return successResponse().setBody(broker.metadataBody(topic));
    }),
  );

  server.handle(
    RequestCode.CREATE_TOPIC,
    guarded(async (request) => {
      const h = request.decodeCustomHeader(CreateTopicRequestHeader);
      // Kafka forwards CreateTopics to the controller; so does any broker here.
      const state = await broker.link.createTopic({
        topic: h.topic,
        ...(h.partitions === undefined ? {} : { partitions: h.partitions }),
        ...(h.replicationFactor === undefined ? {} : { replicationFactor: h.replicationFactor }),
        ...(h.minInsyncReplicas === undefined ? {} : { minInsyncReplicas: h.minInsyncReplicas }),
      });
      // Limited to the new topic: the controller's push (or our next heartbeat) brings the whole state.
      return successResponse().setBody(encodeJson(state));
    }),
  );

  server.handle(
    RequestCode.REPLICA_STATUS,
    guarded((request) => {
      const h = request.decodeCustomHeader(ReplicaStatusRequestHeader);
      const statuses = broker
        .allPartitions()
        .filter((p) => h.topic === undefined || h.topic === '' || p.topic === h.topic)
        .map((p) => p.status());
      const body: ReplicaStatusBody = {
        brokerId: broker.brokerId,
        fetchersPaused: broker.fetchersPaused,
        sessionValid: broker.link.sessionValid(),
        replicas: statuses,
        traffic: traffic.snapshot(h.topic),
      };
      return successResponse().setBody(encodeJson(body));
    }),
  );

  server.handle(
    RequestCode.FETCHER_CONTROL,
    guarded((request) => {
      const h = request.decodeCustomHeader(FetcherControlRequestHeader);
      broker.fetchersPaused = h.paused;
      broker.say(h.paused ? 'replica fetchers paused by admin' : 'replica fetchers resumed by admin');
      return successResponse();
    }),
  );

  server.handle(
    RequestCode.LEADER_AND_ISR,
    guarded((request) => {
      void broker.applySnapshot(decodeJson<ClusterSnapshot>(request.body, 'LeaderAndIsr'));
      return successResponse();
    }),
  );
}

/** The produce body as one checked batch, or INVALID_REQUEST naming what is wrong with it. */
/**
 * The produce body's batch, checked; the producer id and sequence in the
 * request header, when it has them, must be the batch's own (the batch's are
 * the ones every replica keeps).
 */
function validateBatchOrRefuse(body: Buffer | null, h: ProduceRequestHeader): Buffer {
  if (body === null || body.length === 0) {
    throw new BrokerError(BrokerResponseCode.INVALID_REQUEST, 'produce request without a record batch');
  }
  let batch: BatchHeader;
  try {
    batch = validateProducedBatch(body);
  } catch (err) {
    if (!(err instanceof RecordsFormatError)) throw err;
    throw new BrokerError(BrokerResponseCode.INVALID_REQUEST, err.message, { cause: err });
  }
  const headerProducer = h.producerId ?? NO_PRODUCER_ID;
  const headerSequence = h.sequence ?? NO_SEQUENCE;
  if (headerProducer !== batch.producerId || headerSequence !== batch.baseSequence) {
    throw new BrokerError(
      BrokerResponseCode.INVALID_REQUEST,
      `produce request names producer ${headerProducer} sequence ${headerSequence}, its batch producer ` +
        `${batch.producerId} sequence ${batch.baseSequence}; nothing appended`,
    );
  }
  return body;
}
