import { RemotingCommand, ResponseCode } from '@remoting-ts/remoting';
import { createRpcClient, createRpcServer, type RpcClient, type RpcServer } from '../net/rpc.js';
import { addressOf, type ClusterConfig, encodeJson } from '../protocol/cluster-state.js';
import { RequestCode } from '../protocol/codes.js';
import {
  AlterIsrRequestHeader,
  BrokerHeartbeatRequestHeader,
  BrokerHeartbeatResponseHeader,
  header,
  MetadataRequestHeader,
} from '../protocol/headers.js';
import { errorResponse, successResponse } from '../protocol/responses.js';
import { ControllerState } from './controller-state.js';

export interface ControllerConfig {
  host: string;
  port: number;
  cluster: ClusterConfig;
  /** A broker silent for this long is dead (Kafka's broker session timeout). */
  sessionTimeoutMs: number;
}

/**
 * The controller process: the one source of truth for leaders, leader
 * epochs and ISRs. It learns liveness from heartbeats, elects leaders, accepts
 * ISR changes from current leaders only, and pushes every new state to the
 * live brokers (which also pull it through their heartbeats).
 */
export class Controller {
  private readonly config: ControllerConfig;
  private readonly server: RpcServer;
  private readonly client: RpcClient;
  private state: ControllerState | null = null;
  private expiryTimer: NodeJS.Timeout | null = null;
  private pushedVersion = -1;

  constructor(config: ControllerConfig) {
    this.config = config;
    this.server = createRpcServer({ host: config.host, port: config.port });
    this.client = createRpcClient({ connectTimeoutMs: 1000 });
  }

  async start(): Promise<{ host: string; port: number }> {
    this.registerHandlers();
    const bound = await this.server.start();
    this.state = new ControllerState(this.config.cluster, bound);
    this.expiryTimer = setInterval(() => {
      const state = this.requireState();
      if (state.expireSessions(Date.now(), this.config.sessionTimeoutMs)) this.afterChange();
    }, 100);
    return bound;
  }

  private requireState(): ControllerState {
    if (this.state === null) throw new Error('controller not started');
    return this.state;
  }

  private registerHandlers(): void {
    this.server.handle(RequestCode.BROKER_HEARTBEAT, (_ctx, request) => {
      try {
        const state = this.requireState();
        const h = request.decodeCustomHeader(BrokerHeartbeatRequestHeader);
        const before = state.version;
        state.heartbeat(h.brokerId, h.incarnation, h.host, h.port, Date.now());
        if (state.version !== before) this.afterChange();
        const response = successResponse().writeCustomHeader(
          header(BrokerHeartbeatResponseHeader, { stateVersion: state.version }),
        );
        if (h.knownStateVersion !== state.version) response.setBody(encodeJson(state.snapshot()));
        return response;
      } catch (err) {
        return errorResponse(err);
      }
    });

    this.server.handle(RequestCode.ALTER_ISR, (_ctx, request) => {
      try {
        const state = this.requireState();
        const h = request.decodeCustomHeader(AlterIsrRequestHeader);
        const decided = state.alterIsr({
          brokerId: h.brokerId,
          topic: h.topic,
          partition: h.partition,
          leaderEpoch: h.leaderEpoch,
          partitionEpoch: h.partitionEpoch,
          isr: h.isr === '' ? [] : h.isr.split(',').map(Number),
        });
        this.afterChange();
        return successResponse().setBody(encodeJson(decided));
      } catch (err) {
        this.flushEvents();
        return errorResponse(err);
      }
    });

    this.server.handle(RequestCode.METADATA, (_ctx, request) => {
      try {
        const state = this.requireState();
        const h = request.decodeCustomHeader(MetadataRequestHeader);
        const topic = h.topic === '' ? undefined : h.topic;
        if (topic !== undefined && !state.hasTopic(topic) && h.autoCreate === true) {
          state.createTopic(topic, state.config.defaultPartitions, state.config.defaultReplicationFactor);
          this.afterChange();
        }
        const snapshot = state.snapshot();
        const body =
          topic === undefined
            ? snapshot
            : { ...snapshot, partitions: snapshot.partitions.filter((p) => p.topic === topic) };
        return successResponse().setBody(encodeJson(body));
      } catch (err) {
        return errorResponse(err);
      }
    });
  }

  /** Logs what changed and pushes the new state to every live broker (LeaderAndIsr). */
  private afterChange(): void {
    this.flushEvents();
    const state = this.requireState();
    if (state.version === this.pushedVersion) return;
    this.pushedVersion = state.version;
    const snapshot = state.snapshot();
    const body = encodeJson(snapshot);
    for (const b of snapshot.brokers) {
      if (!b.alive) continue;
      const request = RemotingCommand.createRequest(RequestCode.LEADER_AND_ISR).setBody(body);
      // Fire and forget: a broker that misses a push gets the state with its next heartbeat.
      this.client.invokeSync(addressOf(b), request, 2000).then(
        (response) => {
          if (response.code !== ResponseCode.SUCCESS)
            this.say(`LeaderAndIsr to broker ${b.id}: ${response.remark}`);
        },
        () => undefined,
      );
    }
  }

  private flushEvents(): void {
    const events = this.state?.events;
    if (events === undefined) return;
    for (const e of events.splice(0)) this.say(e);
  }

  say(line: string): void {
    const time = new Date().toISOString().slice(11, 23);
    process.stdout.write(`${time} [controller] ${line}\n`);
  }

  async shutdown(): Promise<void> {
    if (this.expiryTimer !== null) clearInterval(this.expiryTimer);
    await this.server.shutdown();
    await this.client.shutdown();
  }
}
