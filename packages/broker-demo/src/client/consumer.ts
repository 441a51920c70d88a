import { RemotingCommand, RemotingError, ResponseCode } from '@remoting-ts/remoting';
import { checkBatch, type DecodedRecord, decodeBatches, LogError } from '../log/index.js';
import { CONSUMER_REPLICA_ID, RequestCode, UNDEFINED_EPOCH } from '../protocol/codes.js';
import { BrokerError } from '../protocol/errors.js';
import { FetchRequestHeader, FetchResponseHeader, header } from '../protocol/headers.js';
import { responseError } from '../protocol/responses.js';
import { sleep } from '../util/time.js';
import type { ClusterClient } from './cluster-client.js';

export interface ConsumedRecord extends DecodedRecord {
  topic: string;
  partition: number;
}

/**
 * One fetched log batch (CRC checked). `records` decodes on first use, so a
 * reader that only walks the bytes (forEachValue) pays for no record objects.
 */
export class ConsumedBatch {
  private decoded: DecodedRecord[] | null = null;

  constructor(
    readonly topic: string,
    readonly partition: number,
    /** The whole batch as the leader sent it: a view of the fetch response. */
    readonly bytes: Buffer,
    readonly baseOffset: number,
    readonly lastOffset: number,
    /** Records below this offset (a fetch that started inside the batch) are left out of `records`. */
    readonly fromOffset: number,
    /** The partition's HW in the answer that carried this batch. */
    readonly highWatermark: number,
  ) {}

  /** The records at or past the offset asked for; keys and values are views of the response, not copies. */
  get records(): DecodedRecord[] {
    if (this.decoded === null) {
      const all = decodeBatches(this.bytes)[0]!.records;
      this.decoded =
        this.baseOffset >= this.fromOffset ? all : all.filter((r) => r.offset >= this.fromOffset);
    }
    return this.decoded;
  }
}

/** Kafka's consumer defaults, where this consumer has the same setting. */
export const CONSUMER_DEFAULTS = {
  /** max.partition.fetch.bytes: one fetch carries about this much (at least one whole batch). */
  fetchMaxBytes: 1024 * 1024,
  /** fetch.max.wait.ms: how long the leader may park a fetch that has nothing new. */
  maxWaitMs: 500,
  /** Retries give up after this long without progress. */
  stallTimeoutMs: 15_000,
} as const;

/** Larger fetches would come back in frames above remoting's 16 MiB default limit. */
const MAX_FETCH_BYTES = 15 * 1024 * 1024;
const RETRY_BACKOFF_MS = 200;
/** Client-side margin over the leader's long-poll wait. */
const FETCH_TIMEOUT_MARGIN_MS = 5000;

export interface ConsumeOptions {
  fromOffset?: number;
  /** About this many bytes per fetch, always at least one whole batch (Kafka's max.partition.fetch.bytes). */
  fetchMaxBytes?: number;
  /**
   * true (default): stop once the HW of the last answer is reached, reading
   * what is committed now. false: keep long-polling for new records until
   * `signal` aborts.
   */
  untilHighWatermark?: boolean;
  /** Long-poll wait when following live (Kafka's fetch.max.wait.ms). */
  maxWaitMs?: number;
  /** Give up on retriable errors after this long without a successful fetch. */
  stallTimeoutMs?: number;
  signal?: AbortSignal;
}

function retriable(err: unknown): boolean {
  return (err instanceof BrokerError || err instanceof RemotingError) && err.retriable;
}

/**
 * Streams the committed records of one partition, a fetched batch at a time:
 * consumers read only below the leader's HW. Memory stays at one fetch
 * whatever the partition's size. Offsets are kept by the caller (the demo
 * has no group coordinator); leader changes and lost connections are
 * retried after a metadata refresh.
 */
export async function* consumePartition(
  cluster: ClusterClient,
  topic: string,
  partition: number,
  options: ConsumeOptions = {},
): AsyncGenerator<ConsumedBatch> {
  const untilHw = options.untilHighWatermark ?? true;
  const fetchMaxBytes = Math.min(options.fetchMaxBytes ?? CONSUMER_DEFAULTS.fetchMaxBytes, MAX_FETCH_BYTES);
  const maxWaitMs = untilHw ? 0 : (options.maxWaitMs ?? CONSUMER_DEFAULTS.maxWaitMs);
  const stallTimeoutMs = options.stallTimeoutMs ?? CONSUMER_DEFAULTS.stallTimeoutMs;
  let offset = options.fromOffset ?? 0;
  let progressAt = Date.now();
  if (cluster.partitionState(topic, partition) === undefined) await cluster.refresh(topic);
  while (options.signal?.aborted !== true) {
    let answer: { body: Buffer | null; nextOffset: number; highWatermark: number };
    try {
      answer = await fetchOnce(cluster, topic, partition, offset, fetchMaxBytes, maxWaitMs);
      progressAt = Date.now();
    } catch (err) {
      if (!retriable(err) || Date.now() - progressAt > stallTimeoutMs) throw err;
      await sleep(RETRY_BACKOFF_MS, options.signal);
      await cluster.refresh(topic).catch(() => undefined);
      continue;
    }
    const { body, highWatermark } = answer;
    let pos = 0;
    while (body !== null && pos < body.length) {
      const check = checkBatch(body, pos);
      if (check.status !== 'ok') {
        const why = check.status === 'corrupt' ? check.reason : 'cut short';
        throw new LogError('LOG_CORRUPT_BATCH', `fetch ${topic}-${partition}: batch at byte ${pos}: ${why}`);
      }
      const h = check.header;
      const bytes = body.subarray(pos, pos + h.sizeInBytes);
      pos += h.sizeInBytes;
      if (h.lastOffset < offset) continue;
      yield new ConsumedBatch(topic, partition, bytes, h.baseOffset, h.lastOffset, offset, highWatermark);
    }
    const advanced = answer.nextOffset > offset;
    offset = Math.max(offset, answer.nextOffset);
    if (untilHw && offset >= highWatermark) return;
    // Nothing new below the HW yet (the HW sits inside a batch being committed): ask again shortly.
    if (!advanced && maxWaitMs === 0) await sleep(10, options.signal);
  }
}

async function fetchOnce(
  cluster: ClusterClient,
  topic: string,
  partition: number,
  fetchOffset: number,
  maxBytes: number,
  maxWaitMs: number,
): Promise<{ body: Buffer | null; nextOffset: number; highWatermark: number }> {
  const address = cluster.leaderAddress(topic, partition);
  const request = RemotingCommand.createRequest(
    RequestCode.FETCH,
    header(FetchRequestHeader, {
      topic,
      partition,
      fetchOffset,
      maxBytes,
      maxWaitMs,
      replicaId: CONSUMER_REPLICA_ID,
      currentLeaderEpoch: UNDEFINED_EPOCH,
    }),
  );
  const response = await cluster.rpc.invokeSync(address, request, maxWaitMs + FETCH_TIMEOUT_MARGIN_MS);
  if (response.code !== ResponseCode.SUCCESS) throw responseError(response, `fetch ${topic}-${partition}`);
  const h = response.decodeCustomHeader(FetchResponseHeader);
  return { body: response.body, nextOffset: h.nextOffset, highWatermark: h.highWatermark };
}

/** Every partition of `topic` in turn, each up to its HW (or live, per `options`), as batches. */
export async function* consumeTopic(
  cluster: ClusterClient,
  topic: string,
  options: Omit<ConsumeOptions, 'fromOffset'> = {},
): AsyncGenerator<ConsumedBatch> {
  await cluster.refresh(topic);
  for (const p of cluster.partitions(topic)) {
    yield* consumePartition(cluster, topic, p.partition, options);
  }
}

export interface ReadOptions {
  fromOffset?: number;
  fetchMaxBytes?: number;
  /** Give up after this long without a successful fetch. */
  timeoutMs?: number;
}

/** The committed records of a partition from an offset, collected (for checks on small partitions). */
export async function readPartitionToHighWatermark(
  cluster: ClusterClient,
  topic: string,
  partition: number,
  options: ReadOptions = {},
): Promise<{ records: ConsumedRecord[]; highWatermark: number }> {
  const records: ConsumedRecord[] = [];
  let highWatermark = options.fromOffset ?? 0;
  for await (const batch of consumePartition(cluster, topic, partition, {
    ...(options.fromOffset === undefined ? {} : { fromOffset: options.fromOffset }),
    ...(options.fetchMaxBytes === undefined ? {} : { fetchMaxBytes: options.fetchMaxBytes }),
    ...(options.timeoutMs === undefined ? {} : { stallTimeoutMs: options.timeoutMs }),
  })) {
    // A loop, not push(...spread): spreading a huge array overflows the call stack.
    for (const r of batch.records) records.push({ ...r, topic, partition });
    highWatermark = batch.highWatermark;
  }
  return { records, highWatermark };
}

/** Every committed record of every partition of `topic`, partition by partition, collected. */
export async function readTopic(
  cluster: ClusterClient,
  topic: string,
  options: Omit<ReadOptions, 'fromOffset'> = {},
): Promise<ConsumedRecord[]> {
  const all: ConsumedRecord[] = [];
  for await (const batch of consumeTopic(cluster, topic, {
    ...(options.fetchMaxBytes === undefined ? {} : { fetchMaxBytes: options.fetchMaxBytes }),
    ...(options.timeoutMs === undefined ? {} : { stallTimeoutMs: options.timeoutMs }),
  })) {
    for (const r of batch.records) all.push({ ...r, topic, partition: batch.partition });
  }
  return all;
}
