import { crc32 } from 'node:zlib';
import { BrokerResponseCode } from '../../protocol/codes.js';
import { BrokerError } from '../../protocol/errors.js';
import type { ClusterClient } from '../cluster-client.js';

/**
 * Picks a record's partition as Kafka's default partitioner does: the one
 * named, else crc32(key) modulo the partition count, else (a null key) the
 * partition being filled, moving on each time one of its batches closes (the
 * sticky partitioner, KIP-480), so null-key records fill whole batches.
 */
export class Partitioner {
  private readonly sticky = new Map<string, number>();
  /** Per topic, its partition numbers, recomputed when the metadata object changes (this runs per record). */
  private cache = new Map<string, number[]>();
  private cacheOf: unknown = null;

  constructor(private readonly cluster: ClusterClient) {}

  /** The topic's partitions as the metadata has them; empty when it does not know the topic. */
  partitionsOf(topic: string): number[] {
    const snapshot = this.cluster.metadata;
    if (snapshot !== this.cacheOf) {
      this.cache = new Map();
      this.cacheOf = snapshot;
    }
    let partitions = this.cache.get(topic);
    if (partitions === undefined) {
      partitions = this.cluster.partitions(topic).map((p) => p.partition);
      this.cache.set(topic, partitions);
    }
    return partitions;
  }

  /** @throws BrokerError UNKNOWN_TOPIC_OR_PARTITION when the metadata lacks the topic or the partition named */
  partition(record: { topic: string; partition?: number; key?: Buffer | null }): number {
    const partitions = this.partitionsOf(record.topic);
    if (record.partition !== undefined) {
      if (!partitions.includes(record.partition)) {
        throw new BrokerError(
          BrokerResponseCode.UNKNOWN_TOPIC_OR_PARTITION,
          `${record.topic}-${record.partition} is not in the metadata`,
        );
      }
      return record.partition;
    }
    if (partitions.length === 0) {
      throw new BrokerError(
        BrokerResponseCode.UNKNOWN_TOPIC_OR_PARTITION,
        `${record.topic} has no partitions`,
      );
    }
    if (record.key != null) return partitions[crc32(record.key) % partitions.length]!;
    return partitions[(this.sticky.get(record.topic) ?? 0) % partitions.length]!;
  }

  /** A batch of `topic` closed: null-key records go to the next partition from now on. */
  batchClosed(topic: string): void {
    this.sticky.set(topic, (this.sticky.get(topic) ?? 0) + 1);
  }
}
