import { createTopic } from '../client/admin.js';
import { ClusterClient } from '../client/cluster-client.js';
import { ProduceFailedError, Producer } from '../client/producer/producer.js';
import { type Acks, acksName } from '../protocol/codes.js';
import { sleep } from '../util/time.js';
import type { ProducerView } from './view-model.js';

/** Pause between two sends: about 50 records/s, enough to see the bars move without loading two cores. */
const SEND_PAUSE_MS = 20;
/** After a failed send, so a partition without a leader is not hammered. */
const FAILURE_PAUSE_MS = 250;
const VALUE = Buffer.alloc(100, 0x2e);

/**
 * The page's "small producer": one record per request, one in flight, round
 * robin over the topic's partitions, at the acks setting the page chose. It
 * runs until stopped; its counts are shown on the page.
 */
export class ViewProducer {
  private acks: Acks = -1;
  private running: { abort: AbortController; done: Promise<void> } | null = null;
  private acknowledged = 0;
  private failed = 0;
  private lastError: string | null = null;

  constructor(
    private readonly bootstrap: string,
    readonly topic: string,
  ) {}

  get isRunning(): boolean {
    return this.running !== null;
  }

  view(): ProducerView {
    return {
      running: this.running !== null,
      acks: acksName(this.acks),
      topic: this.topic,
      acknowledged: this.acknowledged,
      failed: this.failed,
      lastError: this.lastError,
    };
  }

  /** Starts sending at `acks`; a producer already running is stopped first. */
  async start(acks: Acks): Promise<void> {
    await this.stop();
    this.acks = acks;
    this.acknowledged = 0;
    this.failed = 0;
    this.lastError = null;
    const abort = new AbortController();
    this.running = { abort, done: this.loop(acks, abort.signal) };
  }

  async stop(): Promise<void> {
    const running = this.running;
    if (running === null) return;
    running.abort.abort();
    await running.done;
    if (this.running === running) this.running = null;
  }

  private async loop(acks: Acks, signal: AbortSignal): Promise<void> {
    const client = new ClusterClient(this.bootstrap);
    const producer = new Producer(client, { acks, retries: 2, requestTimeoutMs: 3000 });
    let seq = 0;
    try {
      while (!signal.aborted) {
        try {
          // The page's "start" is the explicit request for this topic: created here if it does not exist yet.
          if (client.partitions(this.topic).length === 0) {
            await createTopic(client, { topic: this.topic }, { ifNotExists: true });
          }
          const partitions = client.partitions(this.topic);
          if (partitions.length === 0) throw new Error(`topic ${this.topic} has no partitions`);
          const partition = partitions[seq % partitions.length]!.partition;
          const key = Buffer.from(`view-${seq++}`);
          await producer.send({ topic: this.topic, partition, key, value: VALUE, timestamp: Date.now() });
          this.acknowledged++;
          await sleep(SEND_PAUSE_MS, signal);
        } catch (err) {
          this.failed++;
          this.lastError =
            err instanceof ProduceFailedError
              ? `${err.code}: ${err.message}`
              : err instanceof Error
                ? err.message
                : String(err);
          await sleep(FAILURE_PAUSE_MS, signal);
        }
      }
    } finally {
      // Every send was awaited, so nothing is left to flush: close only stops the linger timer.
      await producer.close().catch(() => {});
      await client.close();
    }
  }
}
