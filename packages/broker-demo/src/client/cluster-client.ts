import { RemotingCommand, ResponseCode } from '@remoting-ts/remoting';
import { createRpcClient, type RpcClient } from '../net/rpc.js';
import {
  addressOf,
  type ClusterSnapshot,
  decodeJson,
  type PartitionState,
} from '../protocol/cluster-state.js';
import { BrokerResponseCode, RequestCode } from '../protocol/codes.js';
import { BrokerError } from '../protocol/errors.js';
import { header, MetadataRequestHeader } from '../protocol/headers.js';
import { responseError } from '../protocol/responses.js';

/** How long one metadata request may take before the next bootstrap address is tried. */
const METADATA_TIMEOUT_MS = 3000;
/** Connection attempts of the client's own RpcClient. */
const CONNECT_TIMEOUT_MS = 1000;

/**
 * A client's view of the cluster: metadata fetched from any broker or the
 * controller, refreshed on demand. Every address it has seen serves as a
 * fallback bootstrap, so losing the one given on the command line is survivable.
 */
export class ClusterClient {
  readonly rpc: RpcClient;
  private readonly bootstrap: string[];
  private snapshot: ClusterSnapshot | null = null;
  private readonly ownsRpc: boolean;

  constructor(bootstrap: string | string[], rpc?: RpcClient) {
    this.bootstrap = Array.isArray(bootstrap) ? [...bootstrap] : [bootstrap];
    this.ownsRpc = rpc === undefined;
    this.rpc = rpc ?? createRpcClient({ connectTimeoutMs: CONNECT_TIMEOUT_MS });
  }

  get metadata(): ClusterSnapshot | null {
    return this.snapshot;
  }

  /**
   * Fetches metadata for `topic` (created with the cluster defaults if
   * missing), or for every topic without one. Other topics' partitions are
   * kept from earlier answers; brokers and the controller come from this one.
   */
  async refresh(topic?: string, autoCreate = true): Promise<ClusterSnapshot> {
    const candidates = new Set(this.bootstrap);
    if (this.snapshot !== null) {
      candidates.add(addressOf(this.snapshot.controller));
      for (const b of this.snapshot.brokers) if (b.alive) candidates.add(addressOf(b));
    }
    let lastError: unknown = new Error('no bootstrap address');
    for (const address of candidates) {
      try {
        const request = RemotingCommand.createRequest(
          RequestCode.METADATA,
          header(MetadataRequestHeader, { topic: topic ?? '', autoCreate }),
        );
        const response = await this.rpc.invokeSync(address, request, METADATA_TIMEOUT_MS);
        if (response.code !== ResponseCode.SUCCESS) {
          lastError = responseError(response, `metadata from ${address}`);
          continue;
        }
        const fresh = decodeJson<ClusterSnapshot>(response.body, 'metadata');
        // An answer for one topic lists only its partitions: keep what we know of the others.
        const others =
          topic === undefined || this.snapshot === null
            ? []
            : this.snapshot.partitions.filter((p) => p.topic !== topic);
        this.snapshot = { ...fresh, partitions: [...others, ...fresh.partitions] };
        return this.snapshot;
      } catch (err) {
        lastError = err;
      }
    }
    throw lastError;
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
    if (this.ownsRpc) await this.rpc.shutdown();
  }
}
