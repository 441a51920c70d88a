import { partitionKey } from '../protocol/cluster-state.js';
import type { PartitionTrafficCounters } from '../protocol/replica-status.js';

/**
 * Counters a broker's request handlers keep for the live view. They sit at
 * the handler level, outside the partition's replication logic, so watching
 * the cluster never changes what it does.
 */
export class PartitionTraffic {
  private readonly counters = new Map<string, PartitionTrafficCounters>();

  private entry(topic: string, partition: number): PartitionTrafficCounters {
    const key = partitionKey(topic, partition);
    let c = this.counters.get(key);
    if (c === undefined) {
      c = { topic, partition, acksAllWaiting: 0, consumerRecordsServed: 0 };
      this.counters.set(key, c);
    }
    return c;
  }

  /** Counts an acks=all produce as waiting until the returned function is called (exactly once). */
  acksAllStarted(topic: string, partition: number): () => void {
    const c = this.entry(topic, partition);
    c.acksAllWaiting++;
    let done = false;
    return () => {
      if (done) return;
      done = true;
      c.acksAllWaiting--;
    };
  }

  consumerServed(topic: string, partition: number, records: number): void {
    if (records > 0) this.entry(topic, partition).consumerRecordsServed += records;
  }

  snapshot(topic?: string): PartitionTrafficCounters[] {
    return [...this.counters.values()]
      .filter((c) => topic === undefined || topic === '' || c.topic === topic)
      .map((c) => ({ ...c }));
  }
}
