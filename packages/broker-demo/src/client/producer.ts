import { RemotingCommand, RemotingError, ResponseCode } from '@remoting-ts/remoting';
import { isTransportError } from '../net/rpc.js';
import { Acks, RequestCode } from '../protocol/codes.js';
import { BrokerError } from '../protocol/errors.js';
import { header, ProduceRequestHeader, ProduceResponseHeader } from '../protocol/headers.js';
import { encodeRecords, type ProducerRecord } from '../protocol/records-codec.js';
import { responseError } from '../protocol/responses.js';
import { sleep } from '../util/time.js';
import type { ClusterClient } from './cluster-client.js';

export interface ProducerOptions {
  acks: Acks;
  /** How long the broker may hold an acks=all produce (and the client waits, plus a margin). */
  requestTimeoutMs?: number;
  /** Retries after a retriable error or a lost connection (Kafka's `retries`, bounded here). */
  retries?: number;
  retryBackoffMs?: number;
  /**
   * Send a producer id and a per-partition sequence number with each batch, so
   * a leader that already has a retried batch answers with its offsets instead
   * of appending it again. Default: on for acks=1 and acks=all (as Kafka 3+).
   */
  idempotent?: boolean;
}

export interface SendResult {
  topic: string;
  partition: number;
  /** -1 for acks=0: nobody told us. */
  baseOffset: number;
  lastOffset: number;
  /** More than 1 means an earlier attempt may have been appended too: a possible duplicate. */
  attempts: number;
  /** The leader recognised a retry of a batch it already had and did not append it again. */
  deduplicated: boolean;
}

const REFUSED_BEFORE_APPEND: ReadonlySet<string> = new Set([
  'NOT_ENOUGH_REPLICAS',
  'UNKNOWN_TOPIC_OR_PARTITION',
  'LEADER_NOT_AVAILABLE',
  'FENCED_LEADER_EPOCH',
  'UNKNOWN_LEADER_EPOCH',
]);

/** Raised when a send gave up; `attempts` tells whether it had been tried more than once. */
export class ProduceFailedError extends Error {
  readonly code: string;
  readonly attempts: number;
  /** True when some attempt may have reached the log (a timeout or lost answer, not a refusal). */
  readonly maybeAppended: boolean;

  constructor(
    message: string,
    options: { code: string; attempts: number; maybeAppended: boolean; cause: unknown },
  ) {
    super(message, { cause: options.cause });
    this.name = 'ProduceFailedError';
    this.code = options.code;
    this.attempts = options.attempts;
    this.maybeAppended = options.maybeAppended;
  }
}

/**
 * Sends records to partition leaders. acks=0 is a oneway request; acks=1 and
 * acks=all wait for the answer. On NOT_LEADER, fenced epochs, too few replicas
 * or a lost connection it refreshes metadata and retries, a bounded number of
 * times; a retry after an attempt whose fate is unknown may duplicate records,
 * which the result's `attempts` makes visible.
 */
export class Producer {
  private readonly cluster: ClusterClient;
  private readonly acks: Acks;
  private readonly requestTimeoutMs: number;
  private readonly retries: number;
  private readonly retryBackoffMs: number;
  /** Random rather than broker-assigned (Kafka's InitProducerId): enough for a demo, never persisted. */
  readonly producerId: number | null;
  private readonly sequences = new Map<string, number>();

  constructor(cluster: ClusterClient, options: ProducerOptions) {
    this.cluster = cluster;
    this.acks = options.acks;
    this.requestTimeoutMs = options.requestTimeoutMs ?? 5000;
    this.retries = options.retries ?? 10;
    this.retryBackoffMs = options.retryBackoffMs ?? 200;
    const idempotent = options.idempotent ?? options.acks !== Acks.NONE;
    this.producerId = idempotent ? Math.floor(Math.random() * 2 ** 48) : null;
  }

  private nextSequence(topic: string, partition: number): number {
    const key = `${topic}-${partition}`;
    const sequence = this.sequences.get(key) ?? 0;
    this.sequences.set(key, sequence + 1);
    return sequence;
  }

  async send(topic: string, partition: number, records: ProducerRecord[]): Promise<SendResult> {
    if (this.cluster.partitionState(topic, partition) === undefined) await this.cluster.refresh(topic);
    const body = encodeRecords(records);
    // One sequence per batch, the same on every retry of it.
    const sequence = this.producerId === null ? undefined : this.nextSequence(topic, partition);
    let maybeAppended = false;
    let lastError: unknown;
    for (let attempt = 1; attempt <= this.retries + 1; attempt++) {
      try {
        const result = await this.sendOnce(topic, partition, body, sequence);
        return { topic, partition, ...result, attempts: attempt };
      } catch (err) {
        lastError = err;
        const brokerError = err instanceof BrokerError ? err : null;
        const transport = isTransportError(err);
        if (!transport && !(brokerError?.retriable ?? false)) break;
        // A refusal before the append wrote nothing; a lost answer, a timeout or
        // NOT_LEADER from a leader deposed while we waited may have.
        if (
          transport ? err.code !== 'REMOTING_CONNECT' : !REFUSED_BEFORE_APPEND.has(brokerError?.code ?? '')
        ) {
          maybeAppended = true;
        }
        if (attempt <= this.retries) {
          await sleep(this.retryBackoffMs);
          await this.cluster.refresh(topic).catch(() => undefined);
        }
      }
    }
    const code =
      lastError instanceof BrokerError || lastError instanceof RemotingError
        ? lastError.code
        : 'PRODUCE_FAILED';
    throw new ProduceFailedError(`produce to ${topic}-${partition} failed: ${String(lastError)}`, {
      code,
      attempts: this.retries + 1,
      maybeAppended,
      cause: lastError,
    });
  }

  private async sendOnce(
    topic: string,
    partition: number,
    body: Buffer,
    sequence: number | undefined,
  ): Promise<{ baseOffset: number; lastOffset: number; deduplicated: boolean }> {
    const address = this.cluster.leaderAddress(topic, partition);
    const request = RemotingCommand.createRequest(
      RequestCode.PRODUCE,
      header(ProduceRequestHeader, {
        topic,
        partition,
        acks: this.acks,
        timeoutMs: this.requestTimeoutMs,
        ...(sequence === undefined || this.producerId === null
          ? {}
          : { producerId: this.producerId, sequence }),
      }),
    ).setBody(body);
    if (this.acks === Acks.NONE) {
      await this.cluster.rpc.invokeOneway(address, request, this.requestTimeoutMs);
      return { baseOffset: -1, lastOffset: -1, deduplicated: false };
    }
    const response = await this.cluster.rpc.invokeSync(address, request, this.requestTimeoutMs + 2000);
    if (response.code !== ResponseCode.SUCCESS)
      throw responseError(response, `produce to ${topic}-${partition}`);
    const h = response.decodeCustomHeader(ProduceResponseHeader);
    return { baseOffset: h.baseOffset, lastOffset: h.lastOffset, deduplicated: h.duplicate === true };
  }
}
