import { RemotingCommand, ResponseCode } from '@remoting-ts/remoting';
import {
  createRpcClient,
  createRpcServer,
  type HandlerContext,
  type RpcClient,
  type RpcServer,
} from '../net/rpc.js';
import {
  addressOf,
  type ClusterConfig,
  type ClusterSnapshot,
  encodeJson,
  unknownTopic,
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
import { errorResponse, successResponse } from '../protocol/responses.js';
import { ControllerState } from './controller-state.js';
import { ControllerStore } from './controller-store.js';

export interface ControllerConfig {
  host: string;
  /** 0 = a port the OS picks; a restart passes the port of the previous run, which brokers and clients know. */
  port: number;
  cluster: ClusterConfig;
  /** A broker silent for this long is dead (Kafka's broker session timeout). */
  sessionTimeoutMs: number;
  /** Where the controller persists its state; without one it starts empty every time. */
  stateDir?: string;
}

/** The controller's timings, named (the session timeout comes from its config). */
export const CONTROLLER_TIMINGS = {
  defaultSessionTimeoutMs: 3000,
  /** How often lapsed broker sessions are looked for. */
  sessionCheckIntervalMs: 100,
  /** A LeaderAndIsr push gives up after this; the broker's next heartbeat repairs it. */
  leaderAndIsrTimeoutMs: 2000,
  connectTimeoutMs: 1000,
  /**
   * A restarted controller binds the port of its previous run, which brokers
   * and clients know; right after a SIGKILL the port may still be held for a
   * moment, so binding is retried this long.
   */
  rebindTimeoutMs: 5000,
  rebindIntervalMs: 100,
} as const;

/**
 * The controller process: the one source of truth for leaders, leader
 * epochs and ISRs. It learns liveness from heartbeats, elects leaders, accepts
 * ISR changes from current leaders only, and pushes every new state to the
 * live brokers (which also pull it through their heartbeats).
 */
export class Controller {
  private readonly config: ControllerConfig;
  /** Made in `start()`: a restart may need several binding attempts on its old port. */
  private server: RpcServer | null = null;
  private readonly client: RpcClient;
  private readonly store: ControllerStore | null;
  private persistedVersion = -1;
  private state: ControllerState | null = null;
  private expiryTimer: NodeJS.Timeout | null = null;
  private pushedVersion = -1;

  constructor(config: ControllerConfig) {
    this.config = config;
    this.client = createRpcClient({ connectTimeoutMs: CONTROLLER_TIMINGS.connectTimeoutMs });
    this.store = config.stateDir === undefined ? null : new ControllerStore(config.stateDir);
  }

  /** Loads the persisted state if there is one (a restart), binds, and persists before answering anyone. */
  async start(): Promise<{ host: string; port: number }> {
    const persisted = this.store?.load() ?? null;
    const bound = await this.bind(this.config.port);
    this.state =
      persisted === null
        ? new ControllerState(this.config.cluster, bound)
        : ControllerState.restore(this.config.cluster, { ...persisted, controller: bound }, Date.now());
    this.persist();
    this.flushEvents();
    this.expiryTimer = setInterval(() => {
      const state = this.requireState();
      if (state.expireSessions(Date.now(), this.config.sessionTimeoutMs)) this.afterChange();
    }, CONTROLLER_TIMINGS.sessionCheckIntervalMs);
    return bound;
  }

  private async bind(port: number): Promise<{ host: string; port: number }> {
    const deadline = Date.now() + CONTROLLER_TIMINGS.rebindTimeoutMs;
    for (;;) {
      const server = createRpcServer({ host: this.config.host, port });
      this.registerHandlers(server);
      try {
        const bound = await server.start();
        this.server = server;
        return bound;
      } catch (err) {
        const inUse = (err as NodeJS.ErrnoException).code === 'EADDRINUSE' || /EADDRINUSE/.test(String(err));
        if (port === 0 || !inUse || Date.now() >= deadline) throw err;
        await new Promise((resolve) => setTimeout(resolve, CONTROLLER_TIMINGS.rebindIntervalMs));
      }
    }
  }

  /** Writes the state if it changed, before anyone hears of the change. */
  private persist(): void {
    const state = this.requireState();
    if (this.store === null || state.version === this.persistedVersion) return;
    this.store.save(state.persisted());
    this.persistedVersion = state.version;
  }

  private requireState(): ControllerState {
    if (this.state === null) throw new Error('controller not started');
    return this.state;
  }

  private registerHandlers(server: RpcServer): void {
    server.handle(RequestCode.BROKER_HEARTBEAT, (_ctx, request) => {
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

    server.handle(
      RequestCode.ALTER_ISR,
      this.decision((state, request) => {
        const h = request.decodeCustomHeader(AlterIsrRequestHeader);
        const isr = h.isr === '' ? [] : h.isr.split(',').map(Number);
        return state.alterIsr(
          { ...pick(h, PARTITION_REQUEST), partitionEpoch: h.partitionEpoch, isr },
          Date.now(),
        );
      }),
    );

    server.handle(
      RequestCode.RESIGN_LEADERSHIP,
      this.decision((state, request) => {
        const h = request.decodeCustomHeader(ResignLeadershipRequestHeader);
        return state.resignLeadership({ ...pick(h, PARTITION_REQUEST), reason: h.reason }, Date.now());
      }),
    );

    server.handle(RequestCode.METADATA, (_ctx, request) => {
      try {
        const state = this.requireState();
        const h = request.decodeCustomHeader(MetadataRequestHeader);
        const topic = h.topic === '' || h.topic === undefined ? undefined : h.topic;
        // Reading never creates: a topic exists only once someone asked for it (CREATE_TOPIC).
        if (topic !== undefined && !state.hasTopic(topic)) throw unknownTopic(topic);
        return successResponse().setBody(encodeJson(snapshotFor(state.snapshot(), topic)));
      } catch (err) {
        return errorResponse(err);
      }
    });

    server.handle(
      RequestCode.CREATE_TOPIC,
      this.decision((state, request) => {
        const h = request.decodeCustomHeader(CreateTopicRequestHeader);
        state.createTopic(
          {
            topic: h.topic,
            partitions: h.partitions ?? state.config.defaultPartitions,
            replicationFactor: h.replicationFactor ?? state.config.defaultReplicationFactor,
            ...(h.minInsyncReplicas === undefined ? {} : { minInsyncReplicas: h.minInsyncReplicas }),
          },
          Date.now(),
        );
        return snapshotFor(state.snapshot(), h.topic);
      }),
    );
  }

  /**
   * A request that asks the controller to decide something: the decision is
   * made, logged, persisted and pushed before the answer carries it; a
   * refusal is logged and answered with its error, nothing changed.
   */
  private decision(
    decide: (state: ControllerState, request: RemotingCommand) => unknown,
  ): (ctx: HandlerContext, request: RemotingCommand) => RemotingCommand {
    return (_ctx, request) => {
      try {
        const decided = decide(this.requireState(), request);
        this.afterChange();
        return successResponse().setBody(encodeJson(decided));
      } catch (err) {
        this.flushEvents();
        return errorResponse(err);
      }
    };
  }

  /** Logs what changed and pushes the new state to every live broker (LeaderAndIsr). */
  private afterChange(): void {
    this.flushEvents();
    this.persist();
    const state = this.requireState();
    if (state.version === this.pushedVersion) return;
    this.pushedVersion = state.version;
    const snapshot = state.snapshot();
    const body = encodeJson(snapshot);
    for (const b of snapshot.brokers) {
      if (!b.alive) continue;
      const request = RemotingCommand.createRequest(RequestCode.LEADER_AND_ISR).setBody(body);
      // Fire and forget: a broker that misses a push gets the state with its next heartbeat.
      this.client.invokeSync(addressOf(b), request, CONTROLLER_TIMINGS.leaderAndIsrTimeoutMs).then(
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
    await this.server?.shutdown();
    await this.client.shutdown();
  }
}

/** The fields every leader request to the controller names. */
const PARTITION_REQUEST = ['brokerId', 'topic', 'partition', 'leaderEpoch'] as const;

function pick<T, K extends keyof T>(from: T, keys: readonly K[]): Pick<T, K> {
  const picked = {} as Pick<T, K>;
  for (const key of keys) picked[key] = from[key];
  return picked;
}

/** The snapshot, limited to one topic's partitions when a topic is named. */
function snapshotFor(snapshot: ClusterSnapshot, topic: string | undefined): ClusterSnapshot {
  if (topic === undefined) return snapshot;
  return { ...snapshot, partitions: snapshot.partitions.filter((p) => p.topic === topic) };
}
