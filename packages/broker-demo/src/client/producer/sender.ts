import { RemotingCommand, ResponseCode } from '@remoting-ts/remoting';
import { Acks, RequestCode } from '../../protocol/codes.js';
import { header, ProduceRequestHeader, ProduceResponseHeader } from '../../protocol/headers.js';
import { responseError } from '../../protocol/responses.js';
import type { ClusterClient } from '../cluster-client.js';
import { classify, ProduceFailedError } from './errors.js';
import type { ProducerBatch } from './producer-batch.js';
import type { PartitionQueue, RecordAccumulator } from './record-accumulator.js';
import { newProducerId } from './sequence-recovery.js';

/** How much longer than the broker's acks=all wait the client waits for the answer. */
const CLIENT_TIMEOUT_MARGIN_MS = 2000;

export interface SenderSettings {
  acks: Acks;
  lingerMs: number;
  /** Kafka's max.in.flight.requests.per.connection. */
  maxInFlight: number;
  requestTimeoutMs: number;
  retries: number;
  retryBackoffMs: number;
  idempotent: boolean;
}

/**
 * Kafka's Sender: takes the batches that are due (full, lingered long
 * enough, or flushed) from the accumulator, at most `maxInFlight` produce
 * requests unanswered per broker, sends each to its partition's leader, and
 * settles its records with the answer: resolved, retried after a backoff
 * (with a metadata refresh: the leader may have moved), or failed. It runs
 * whenever something may have become due: a record appended, a linger or
 * backoff timer, an answer, a flush.
 */
export class Sender {
  /** Produce requests awaiting an answer, per broker address. */
  private readonly inFlightByAddress = new Map<string, number>();
  /** Metadata refreshes in flight, one per topic. */
  private readonly refreshing = new Map<string, Promise<unknown>>();
  private runScheduled = false;
  private timer: NodeJS.Timeout | null = null;
  private timerAtMs = Number.POSITIVE_INFINITY;
  /** Set by a flush: every batch is due, lingering or not. */
  flushing = 0;
  /** Set by close: no more retries, no more timers. */
  closed = false;

  constructor(
    private readonly cluster: ClusterClient,
    private readonly accumulator: RecordAccumulator,
    private readonly settings: SenderSettings,
  ) {}

  /** A batch was created at `createdMs`: it is due once linger.ms has passed. */
  batchCreated(batch: ProducerBatch): void {
    this.wakeAt(batch.createdMs + this.settings.lingerMs);
  }

  /** Runs soon: setImmediate, not a microtask, so records sent in the same turn share a batch. */
  runSoon(): void {
    if (this.runScheduled) return;
    this.runScheduled = true;
    setImmediate(() => {
      this.runScheduled = false;
      this.run();
    });
  }

  /** Stops the timers (the producer is closed). */
  stop(): void {
    this.closed = true;
    if (this.timer !== null) clearTimeout(this.timer);
    this.timer = null;
  }

  /** Sends every batch that is due and has a free in-flight slot; arranges a wake-up for the rest. */
  run(): void {
    const now = performance.now();
    let wakeAt = Number.POSITIVE_INFINITY;
    for (const queue of this.accumulator.allQueues) {
      for (;;) {
        const batch = queue.batches[0];
        if (batch === undefined) break;
        if (!queue.sequences.readyToSend(queue, newProducerId)) break;
        if (queue.retryAtMs > now) {
          wakeAt = Math.min(wakeAt, queue.retryAtMs);
          break;
        }
        const due = batch.closed || this.flushing > 0 || now - batch.createdMs >= this.settings.lingerMs;
        if (!due) {
          wakeAt = Math.min(wakeAt, batch.createdMs + this.settings.lingerMs);
          break;
        }
        let address: string;
        try {
          address = this.leaderOf(queue);
        } catch (err) {
          this.accumulator.close(queue, batch);
          queue.batches.shift();
          batch.tries++;
          this.onFailure(queue, batch, err);
          continue;
        }
        if ((this.inFlightByAddress.get(address) ?? 0) >= this.settings.maxInFlight) break;
        this.accumulator.close(queue, batch);
        queue.batches.shift();
        this.send(queue, batch, address);
      }
    }
    if (wakeAt !== Number.POSITIVE_INFINITY) this.wakeAt(wakeAt);
  }

  /** Runs at `atMs` (performance.now() time) unless a run is already due earlier. */
  private wakeAt(atMs: number): void {
    if (this.closed || atMs >= this.timerAtMs) return;
    if (this.timer !== null) clearTimeout(this.timer);
    this.timerAtMs = atMs;
    this.timer = setTimeout(
      () => {
        this.timer = null;
        this.timerAtMs = Number.POSITIVE_INFINITY;
        this.run();
      },
      Math.max(0, atMs - performance.now()),
    );
  }

  /** The partition leader's address, looked up once per metadata snapshot. */
  private leaderOf(queue: PartitionQueue): string {
    const snapshot = this.cluster.metadata;
    if (queue.leaderOf !== snapshot || queue.leaderAddress === null) {
      queue.leaderAddress = this.cluster.leaderAddress(queue.topic, queue.partition);
      queue.leaderOf = snapshot;
    }
    return queue.leaderAddress;
  }

  private send(queue: PartitionQueue, batch: ProducerBatch, address: string): void {
    const { acks, requestTimeoutMs } = this.settings;
    batch.attempts++;
    batch.tries++;
    queue.inFlight.add(batch);
    this.inFlightByAddress.set(address, (this.inFlightByAddress.get(address) ?? 0) + 1);
    const request = RemotingCommand.createRequest(
      RequestCode.PRODUCE,
      header(ProduceRequestHeader, {
        topic: queue.topic,
        partition: queue.partition,
        acks,
        timeoutMs: requestTimeoutMs,
        ...(batch.producerId === null ? {} : { producerId: batch.producerId, sequence: batch.sequence }),
      }),
    ).setBody(batch.body);
    const answered =
      acks === Acks.NONE
        ? this.cluster.rpc
            .invokeOneway(address, request, requestTimeoutMs)
            .then(() => ({ baseOffset: -1, deduplicated: false }))
        : this.cluster.rpc
            .invokeSync(address, request, requestTimeoutMs + CLIENT_TIMEOUT_MARGIN_MS)
            .then((response) => {
              if (response.code !== ResponseCode.SUCCESS) {
                throw responseError(response, `produce to ${queue.topic}-${queue.partition}`);
              }
              const h = response.decodeCustomHeader(ProduceResponseHeader);
              return { baseOffset: h.baseOffset, deduplicated: h.duplicate === true };
            });
    answered
      .then(
        (result) => {
          this.release(queue, batch, address);
          this.onSuccess(queue, batch, result.baseOffset, result.deduplicated);
        },
        (err: unknown) => {
          this.release(queue, batch, address);
          this.onFailure(queue, batch, err);
        },
      )
      .finally(() => this.run());
  }

  private release(queue: PartitionQueue, batch: ProducerBatch, address: string): void {
    queue.inFlight.delete(batch);
    const n = (this.inFlightByAddress.get(address) ?? 1) - 1;
    if (n === 0) this.inFlightByAddress.delete(address);
    else this.inFlightByAddress.set(address, n);
  }

  private onSuccess(
    queue: PartitionQueue,
    batch: ProducerBatch,
    baseOffset: number,
    deduplicated: boolean,
  ): void {
    queue.sequences.afterSuccess(queue);
    const { records } = batch;
    // Idempotence makes an earlier attempt's append and this one the same append.
    const maybeDuplicated = !this.settings.idempotent && batch.maybeAppended;
    for (let i = 0; i < records.length; i++) {
      const r = records[i]!;
      r.resolve({
        topic: queue.topic,
        partition: queue.partition,
        offset: baseOffset < 0 ? -1 : baseOffset + i,
        timestamp: r.timestamp,
        attempts: batch.attempts,
        retriedAfter: [...batch.failures],
        deduplicated,
        maybeDuplicated,
      });
    }
    this.accumulator.ended(batch);
  }

  private onFailure(queue: PartitionQueue, batch: ProducerBatch, err: unknown): void {
    const failure = classify(err);
    if (failure.written) batch.maybeAppended = true;
    batch.failures.push(failure.code);
    const mayRetry = batch.tries <= this.settings.retries && !this.closed;
    if (queue.sequences.afterFailure(queue, batch, failure, mayRetry) === 'retry') {
      queue.requeue(batch);
      queue.retryAtMs = performance.now() + this.settings.retryBackoffMs;
      this.wakeAt(queue.retryAtMs);
      this.refreshMetadata(queue.topic);
      return;
    }
    const error = new ProduceFailedError(
      `produce to ${queue.topic}-${queue.partition} failed after ${batch.tries} tries ` +
        `(${batch.attempts} sent): ${String(err)}`,
      { code: failure.code, attempts: batch.attempts, maybeAppended: batch.maybeAppended, cause: err },
    );
    for (const r of batch.records) r.reject(error);
    this.accumulator.ended(batch);
  }

  private refreshMetadata(topic: string): void {
    if (this.refreshing.has(topic)) return;
    this.refreshing.set(
      topic,
      this.cluster
        .refresh(topic)
        .catch(() => undefined)
        .finally(() => {
          this.refreshing.delete(topic);
          this.run();
        }),
    );
  }
}
