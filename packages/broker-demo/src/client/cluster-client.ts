import {
  type NameServerStats,
  NameServerUnavailableError,
  RemotingCommand,
  ResponseCode,
} from '@remoting-ts/remoting';
import { type BootstrapClient, createBootstrapClient, parseBootstrapList } from '../net/bootstrap.js';
import { createRpcClient, type RpcClient } from '../net/rpc.js';
import {
  addressOf,
  type ClusterSnapshot,
  type CreateTopicRequest,
  decodeJson,
  type PartitionState,
} from '../protocol/cluster-state.js';
import { BrokerResponseCode, RequestCode } from '../protocol/codes.js';
import { BrokerError } from '../protocol/errors.js';
import { CreateTopicRequestHeader, header, MetadataRequestHeader } from '../protocol/headers.js';
import { responseError } from '../protocol/responses.js';

/** How long one metadata request may take before the next bootstrap address is tried. */
const METADATA_TIMEOUT_MS = 3000;
/** Connection attempts of the client's own RpcClient. */
const CONNECT_TIMEOUT_MS = 1000;

/** Answers that are the cluster's word on the request, the same from every broker: not asked again elsewhere. */
const FINAL_ANSWERS: ReadonlySet<number> = new Set([
  BrokerResponseCode.UNKNOWN_TOPIC_OR_PARTITION,
  BrokerResponseCode.TOPIC_ALREADY_EXISTS,
  BrokerResponseCode.INVALID_TOPIC,
  BrokerResponseCode.INVALID_PARTITIONS,
  BrokerResponseCode.INVALID_REPLICATION_FACTOR,
  BrokerResponseCode.INVALID_CONFIG,
  BrokerResponseCode.INVALID_REQUEST,
]);

function isFinalAnswer(code: number): boolean {
  return FINAL_ANSWERS.has(code);
}

/**
 * A client's view of the cluster: metadata fetched from any broker or the
 * controller, refreshed on demand. Metadata calls go to whichever bootstrap
 * address is reachable (the remoting client's name server list), and every
 * address learned since serves as a further fallback, so losing the brokers
 * given on the command line is survivable.
 */
export class ClusterClient {
  readonly rpc: RpcClient;
  private readonly bootstrap: string[];
  private readonly bootstrapClient: BootstrapClient;
  private snapshot: ClusterSnapshot | null = null;
  private readonly ownsRpc: boolean;

  /** `bootstrap`: addresses, or one string of comma-separated addresses (`--bootstrap a,b,c`). */
  constructor(bootstrap: string | readonly string[], rpc?: RpcClient) {
    this.bootstrap = parseBootstrapList(bootstrap);
    this.bootstrapClient = createBootstrapClient(this.bootstrap, { connectTimeoutMs: CONNECT_TIMEOUT_MS });
    this.ownsRpc = rpc === undefined;
    this.rpc = rpc ?? createRpcClient({ connectTimeoutMs: CONNECT_TIMEOUT_MS });
  }

  get metadata(): ClusterSnapshot | null {
    return this.snapshot;
  }

  /** Which bootstrap broker metadata calls go to, and what is known of each. */
  bootstrapStats(): NameServerStats {
    return this.bootstrapClient.stats();
  }

  /**
   * Fetches metadata for `topic`, or for every topic without one. Other
   * topics' partitions are kept from earlier answers; brokers and the
   * controller come from this one. Reading never creates a topic.
   * @throws BrokerError UNKNOWN_TOPIC_OR_PARTITION when `topic` does not exist
   */
  async refresh(topic?: string): Promise<ClusterSnapshot> {
    const response = await this.callAnyBroker(
      () =>
        RemotingCommand.createRequest(
          RequestCode.METADATA,
          header(MetadataRequestHeader, { topic: topic ?? '' }),
        ),
      'metadata',
    );
    return this.accept(response.body, topic);
  }

  /**
   * Creates a topic through any broker (which forwards it to the cluster's
   * coordination) or the controller; counts left out take the cluster's
   * defaults. Resolves with its partitions as created (the metadata is
   * refreshed with them); the leaders may still be taking their role: see
   * `createTopic` in admin.ts for a call that waits until they serve.
   * @throws BrokerError TOPIC_ALREADY_EXISTS, INVALID_TOPIC, INVALID_PARTITIONS, INVALID_REPLICATION_FACTOR or INVALID_CONFIG
   */
  async createTopic(request: CreateTopicRequest): Promise<PartitionState[]> {
    const response = await this.callAnyBroker(
      () =>
        RemotingCommand.createRequest(RequestCode.CREATE_TOPIC, header(CreateTopicRequestHeader, request)),
      `create topic ${request.topic}`,
    );
    this.accept(response.body, request.topic);
    return this.partitions(request.topic);
  }

  /**
   * Sends a request to any bootstrap broker, then to every other address
   * known, until one answers SUCCESS. An answer that is the cluster's word
   * (the topic does not exist, or already does; a bad request) is final: it
   * is thrown at once rather than asked again elsewhere.
   */
  private async callAnyBroker(request: () => RemotingCommand, what: string): Promise<RemotingCommand> {
    let lastError: unknown;
    // First any bootstrap broker: the chosen one, or the next reachable one in the list.
    try {
      const response = await this.bootstrapClient.invokeSync(request(), METADATA_TIMEOUT_MS);
      if (response.code === ResponseCode.SUCCESS) return response;
      lastError = responseError(
        response,
        `${what} from ${this.bootstrapClient.stats().chosen ?? 'bootstrap'}`,
      );
      if (isFinalAnswer(response.code)) throw lastError;
    } catch (err) {
      if (err instanceof BrokerError && isFinalAnswer(err.responseCode)) throw err;
      lastError = err;
    }
    // Then one by one: the bootstrap brokers the first call did not find unreachable (one that
    // answered with an error, ones its timeout left untried), then those of the last metadata.
    const unreachable = new Set(
      lastError instanceof NameServerUnavailableError
        ? lastError.attempts.filter((a) => a.outcome === 'connect-failed').map((a) => a.address)
        : [],
    );
    const candidates = new Set<string>(this.bootstrap);
    if (this.snapshot !== null) {
      candidates.add(addressOf(this.snapshot.controller));
      for (const b of this.snapshot.brokers) if (b.alive) candidates.add(addressOf(b));
    }
    for (const address of unreachable) candidates.delete(address);
    for (const address of candidates) {
      try {
        const response = await this.rpc.invokeSync(address, request(), METADATA_TIMEOUT_MS);
        if (response.code === ResponseCode.SUCCESS) return response;
        lastError = responseError(response, `${what} from ${address}`);
        if (isFinalAnswer(response.code)) throw lastError;
      } catch (err) {
        if (err instanceof BrokerError && isFinalAnswer(err.responseCode)) throw err;
        lastError = err;
      }
    }
    throw lastError;
  }

  private accept(body: Buffer | null, topic: string | undefined): ClusterSnapshot {
    const fresh = decodeJson<ClusterSnapshot>(body, 'metadata');
    // An answer for one topic lists only its partitions: keep what we know of the others.
    const others =
      topic === undefined || this.snapshot === null
        ? []
        : this.snapshot.partitions.filter((p) => p.topic !== topic);
    this.snapshot = { ...fresh, partitions: [...others, ...fresh.partitions] };
    return this.snapshot;
  }

  partitions(topic: string): PartitionState[] {
    return (this.snapshot?.partitions ?? [])
      .filter((p) => p.topic === topic)
      .sort((a, b) => a.partition - b.partition);
  }

  partitionState(topic: string, partition: number): PartitionState | undefined {
    return this.snapshot?.partitions.find((p) => p.topic === topic && p.partition === partition);
  }

  brokerAddress(brokerId: number): string | undefined {
    const b = this.snapshot?.brokers.find((x) => x.id === brokerId);
    return b === undefined ? undefined : addressOf(b);
  }

  /** The leader's address as the metadata has it; LEADER_NOT_AVAILABLE when there is none. */
  leaderAddress(topic: string, partition: number): string {
    const state = this.partitionState(topic, partition);
    if (state === undefined) {
      throw new BrokerError(
        BrokerResponseCode.UNKNOWN_TOPIC_OR_PARTITION,
        `${topic}-${partition} is not in the metadata`,
      );
    }
    const address = state.leader < 0 ? undefined : this.brokerAddress(state.leader);
    if (address === undefined) {
      throw new BrokerError(
        BrokerResponseCode.LEADER_NOT_AVAILABLE,
        `${topic}-${partition} has no leader right now`,
      );
    }
    return address;
  }

  async close(): Promise<void> {
    await this.bootstrapClient.shutdown();
    if (this.ownsRpc) await this.rpc.shutdown();
  }
}
