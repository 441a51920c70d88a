import { randomUUID } from 'node:crypto';
import { RemotingCommand, ResponseCode } from '@remoting-ts/remoting';
import { isTransportError, type RpcClient } from '../net/rpc.js';
import {
  type ClusterSnapshot,
  type CreateTopicRequest,
  decodeJson,
  type IsrProposal,
  type PartitionState,
  type ResignationRequest,
} from '../protocol/cluster-state.js';
import { RequestCode } from '../protocol/codes.js';
import {
  AlterIsrRequestHeader,
  BrokerHeartbeatRequestHeader,
  BrokerHeartbeatResponseHeader,
  CreateTopicRequestHeader,
  header,
  MetadataRequestHeader,
  ResignLeadershipRequestHeader,
} from '../protocol/headers.js';
import { responseError } from '../protocol/responses.js';
import { sleep } from '../util/time.js';
import { BROKER_TIMINGS } from './broker-config.js';
import type { BrokerEndpoint, ControllerLink } from './controller-link.js';

export interface RemotingControllerLinkOptions {
  /** The controller process, "host:port". */
  controllerAddress: string;
  client: RpcClient;
  heartbeatIntervalMs: number;
  brokerId: number;
  say: (line: string) => void;
}

/**
 * The link to the built-in controller process over remoting-ts. Heartbeats
 * register the broker, keep its session alive and carry the controller's
 * state back whenever ours is not the latest, which also repairs a
 * LeaderAndIsr push that was lost (or arrived while the broker was stopped).
 */
export class RemotingControllerLink implements ControllerLink {
  readonly description: string;
  private readonly options: RemotingControllerLinkOptions;
  /** Tells a restarted broker process from the previous one with the same id. */
  private readonly incarnation = randomUUID();
  private readonly stopping = new AbortController();
  private heartbeatLoop: Promise<void> | null = null;
  /** The version of the last state delivered; heartbeats ask for anything newer. */
  private knownVersion = -1;
  /** Whether the last heartbeat got an answer; only changes are logged. */
  private reachable: boolean | null = null;

  constructor(options: RemotingControllerLinkOptions) {
    this.options = options;
    this.description = `controller ${options.controllerAddress}`;
  }

  start(self: BrokerEndpoint, onState: (snapshot: ClusterSnapshot) => void): void {
    this.heartbeatLoop = this.runHeartbeats(self, (snapshot) => {
      this.knownVersion = Math.max(this.knownVersion, snapshot.version);
      onState(snapshot);
    });
  }

  /**
   * The built-in controller has no session a broker could lose unnoticed: a
   * broker it declared dead learns so from its next heartbeat's state, and
   * while the controller is down nothing changes leaders.
   */
  sessionValid(): boolean {
    return true;
  }

  async alterIsr(proposal: IsrProposal): Promise<PartitionState | null> {
    const request = RemotingCommand.createRequest(
      RequestCode.ALTER_ISR,
      header(AlterIsrRequestHeader, {
        brokerId: this.options.brokerId,
        topic: proposal.topic,
        partition: proposal.partition,
        leaderEpoch: proposal.leaderEpoch,
        partitionEpoch: proposal.partitionEpoch,
        isr: proposal.isr.join(','),
      }),
    );
    const key = `${proposal.topic}-${proposal.partition}`;
    try {
      const response = await this.call(request, BROKER_TIMINGS.controllerRequestTimeoutMs);
      if (response.code === ResponseCode.SUCCESS)
        return decodeJson<PartitionState>(response.body, 'AlterIsr');
      this.options.say(`[${key}] controller refused ISR [${proposal.isr}]: ${response.remark}`);
    } catch (err) {
      // While the controller is known to be down the leader re-proposes every few hundred ms; the
      // heartbeat loop has already said it is unreachable, so only other failures are worth a line.
      if (!(isTransportError(err) && this.reachable === false))
        this.options.say(`[${key}] AlterIsr failed: ${String(err)}`);
    }
    return null;
  }

  async resignLeadership(resignation: ResignationRequest): Promise<PartitionState | null> {
    const key = `${resignation.topic}-${resignation.partition}`;
    const request = RemotingCommand.createRequest(
      RequestCode.RESIGN_LEADERSHIP,
      header(ResignLeadershipRequestHeader, { brokerId: this.options.brokerId, ...resignation }),
    );
    try {
      const response = await this.call(request, BROKER_TIMINGS.controllerRequestTimeoutMs);
      if (response.code === ResponseCode.SUCCESS)
        return decodeJson<PartitionState>(response.body, 'ResignLeadership');
      this.options.say(`[${key}] controller kept this broker as leader: ${response.remark}`);
    } catch (err) {
      this.options.say(`[${key}] cannot reach the controller to hand leadership over: ${String(err)}`);
    }
    return null;
  }

  async readState(topic: string | undefined): Promise<ClusterSnapshot> {
    const request = RemotingCommand.createRequest(
      RequestCode.METADATA,
      header(MetadataRequestHeader, { topic: topic ?? '' }),
    );
    return this.answer(request, 'metadata');
  }

  async createTopic(topic: CreateTopicRequest): Promise<ClusterSnapshot> {
    const request = RemotingCommand.createRequest(
      RequestCode.CREATE_TOPIC,
      header(CreateTopicRequestHeader, topic),
    );
    return this.answer(request, 'create topic');
  }

  /** The controller's state from a successful answer; its error, as it said it, otherwise. */
  private async answer(request: RemotingCommand, what: string): Promise<ClusterSnapshot> {
    const response = await this.call(request, BROKER_TIMINGS.controllerRequestTimeoutMs);
    if (response.code !== ResponseCode.SUCCESS) throw responseError(response, `${this.description}: ${what}`);
    return decodeJson<ClusterSnapshot>(response.body, what);
  }

  async stop(): Promise<void> {
    this.stopping.abort();
    await this.heartbeatLoop;
  }

  private call(request: RemotingCommand, timeoutMs: number): Promise<RemotingCommand> {
    return this.options.client.invokeSync(this.options.controllerAddress, request, timeoutMs);
  }

  private async runHeartbeats(self: BrokerEndpoint, onState: (snapshot: ClusterSnapshot) => void) {
    const signal = this.stopping.signal;
    while (!signal.aborted) {
      const request = RemotingCommand.createRequest(
        RequestCode.BROKER_HEARTBEAT,
        header(BrokerHeartbeatRequestHeader, {
          brokerId: self.brokerId,
          incarnation: this.incarnation,
          host: self.host,
          port: self.port,
          knownStateVersion: this.knownVersion,
        }),
      );
      try {
        const response = await this.call(request, BROKER_TIMINGS.heartbeatTimeoutMs);
        this.noteReachable(true, '');
        if (response.code === ResponseCode.SUCCESS && response.body !== null && response.body.length > 0) {
          response.decodeCustomHeader(BrokerHeartbeatResponseHeader);
          onState(decodeJson<ClusterSnapshot>(response.body, 'heartbeat'));
        }
      } catch (err) {
        // Keep trying (a restarted controller is back on the same address) and
        // keep serving with the last state we know; a restarted controller
        // waits a session timeout for us before it decides anything.
        this.noteReachable(false, err instanceof Error ? err.message : String(err));
      }
      await sleep(this.options.heartbeatIntervalMs, signal);
    }
  }

  private noteReachable(reachable: boolean, why: string): void {
    if (this.reachable === reachable) return;
    const before = this.reachable;
    this.reachable = reachable;
    if (!reachable) {
      this.options.say(
        `${this.description} unreachable (${why}); serving with state version ${this.knownVersion}, retrying`,
      );
    } else if (before === false) {
      this.options.say(`${this.description} reachable again; re-registered`);
    }
  }
}
