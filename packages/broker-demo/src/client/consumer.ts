import { RemotingCommand, ResponseCode } from '@remoting-ts/remoting';
import { type DecodedRecord, decodeBatches } from '../log/index.js';
import { isTransportError } from '../net/rpc.js';
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

export interface ReadOptions {
  fromOffset?: number;
  maxBytes?: number;
  /** Give up after this long without reaching the HW. */
  timeoutMs?: number;
}

/**
 * Reads a partition from an offset up to the leader's HW as of the last
 * answer: consumers see committed records only. Offsets are kept by the
 * caller (the demo has no group coordinator).
 */
export async function readPartitionToHighWatermark(
  cluster: ClusterClient,
  topic: string,
  partition: number,
  options: ReadOptions = {},
): Promise<{ records: ConsumedRecord[]; highWatermark: number }> {
  const deadline = Date.now() + (options.timeoutMs ?? 15_000);
  const records: ConsumedRecord[] = [];
  let offset = options.fromOffset ?? 0;
  if (cluster.partitionState(topic, partition) === undefined) await cluster.refresh(topic);
  for (;;) {
    try {
      const address = cluster.leaderAddress(topic, partition);
      const request = RemotingCommand.createRequest(
        RequestCode.FETCH,
        header(FetchRequestHeader, {
          topic,
          partition,
          fetchOffset: offset,
          maxBytes: options.maxBytes ?? 1024 * 1024,
          maxWaitMs: 0,
          replicaId: CONSUMER_REPLICA_ID,
          currentLeaderEpoch: UNDEFINED_EPOCH,
        }),
      );
      const response = await cluster.rpc.invokeSync(address, request, 5000);
      if (response.code !== ResponseCode.SUCCESS)
        throw responseError(response, `fetch ${topic}-${partition}`);
      const h = response.decodeCustomHeader(FetchResponseHeader);
      if (response.body !== null && response.body.length > 0) {
        for (const batch of decodeBatches(response.body)) {
          for (const r of batch.records) if (r.offset >= offset) records.push({ ...r, topic, partition });
        }
      }
      offset = Math.max(offset, h.nextOffset);
      if (offset >= h.highWatermark) return { records, highWatermark: h.highWatermark };
    } catch (err) {
      const retriable = (err instanceof BrokerError && err.retriable) || isTransportError(err);
      if (!retriable || Date.now() > deadline) throw err;
      await sleep(200);
      await cluster.refresh(topic).catch(() => undefined);
    }
  }
}

/** Every committed record of every partition of `topic`, partition by partition. */
export async function readTopic(
  cluster: ClusterClient,
  topic: string,
  options: ReadOptions = {},
): Promise<ConsumedRecord[]> {
  await cluster.refresh(topic);
  const all: ConsumedRecord[] = [];
  for (const p of cluster.partitions(topic)) {
    const { records } = await readPartitionToHighWatermark(cluster, topic, p.partition, options);
    all.push(...records);
  }
  return all;
}
