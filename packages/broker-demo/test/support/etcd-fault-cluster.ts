import { mkdtempSync } from 'node:fs';
import path from 'node:path';
import { RemotingClient, type RemotingCommand, ResponseCode } from '@remoting-ts/remoting';
import { ClusterClient } from '../../src/client/cluster-client.js';
import { LocalCluster, type LocalClusterOptions } from '../../src/cluster/local-cluster.js';
import { createEtcdClient } from '../../src/coordination/etcd/etcd-client.js';
import { EtcdClusterMirror } from '../../src/coordination/etcd/etcd-cluster-mirror.js';
import { EtcdKeyLayout } from '../../src/coordination/etcd/etcd-records.js';
import { formatCoordinatorUrl } from '../../src/coordination/etcd/etcd-url.js';
import { freePort, LocalEtcd } from '../../src/coordination/etcd/local-etcd.js';
import { createTopic, topicReady } from '../../src/coordination/etcd/topic-admin.js';
import type { RpcClient } from '../../src/net/rpc.js';
import { RequestCode } from '../../src/protocol/codes.js';
import { ProduceResponseHeader } from '../../src/protocol/headers.js';
import { TcpProxy } from './tcp-proxy.js';

/** One produce answer the test's producer got: who acknowledged what, and when. */
export interface ProduceAnswer {
  atMs: number;
  /** The broker's advertised address the request was sent to. */
  address: string;
  ok: boolean;
  leaderEpoch: number | null;
}

/** A change of a partition's leader as etcd recorded it, seen by the test's own watch. */
export interface LeaderChange {
  atMs: number;
  topic: string;
  partition: number;
  leader: number;
  leaderEpoch: number;
}

/**
 * Three brokers on 127.0.0.1, .2 and .3 coordinated through a real etcd,
 * with a proxy of the test's own on every link a network would have: in
 * front of each broker (its advertised address, which the other brokers
 * reach it by) and between each broker and each etcd member. A fault on a
 * link is a call on its proxy. The test's producer reaches the brokers
 * directly (the network between it and them is not the one under test) and
 * logs every produce answer; the test's own watch on etcd times elections.
 */
export class EtcdFaultCluster {
  readonly brokerProxies = new Map<number, TcpProxy>();
  readonly etcdProxies = new Map<number, TcpProxy[]>();
  readonly produceAnswers: ProduceAnswer[] = [];
  readonly leaderChanges: LeaderChange[] = [];
  private readonly clients: ClusterClient[] = [];

  private constructor(
    readonly etcd: LocalEtcd,
    readonly cluster: LocalCluster,
    readonly directAddress: Map<number, string>,
    readonly mirror: EtcdClusterMirror,
    private readonly closeEtcdClient: () => void,
    readonly keys: EtcdKeyLayout,
    readonly etcdClient: ReturnType<typeof createEtcdClient>,
  ) {}

  static async start(options: {
    dir: string;
    etcdMembers: number;
    cluster: Omit<LocalClusterOptions, 'dir' | 'coordinator' | 'brokerNetwork'>;
  }): Promise<EtcdFaultCluster> {
    const etcd = await LocalEtcd.start({ members: options.etcdMembers, dir: path.join(options.dir, 'etcd') });
    const brokerProxies = new Map<number, TcpProxy>();
    const etcdProxies = new Map<number, TcpProxy[]>();
    const directAddress = new Map<number, string>();
    const network = new Map<number, { host: string; port: number; advertise: string; coordinator: string }>();
    for (let id = 1; id <= options.cluster.brokers; id++) {
      const host = `127.0.0.${id}`;
      const port = await freePort(host);
      const inbound = await TcpProxy.start({ host, target: { host, port } });
      brokerProxies.set(id, inbound);
      const toEtcd: TcpProxy[] = [];
      for (const member of etcd.members)
        toEtcd.push(await TcpProxy.start({ host, target: { host: '127.0.0.1', port: member.clientPort } }));
      etcdProxies.set(id, toEtcd);
      directAddress.set(id, `${host}:${port}`);
      network.set(id, {
        host,
        port,
        advertise: inbound.address,
        coordinator: formatCoordinatorUrl(toEtcd.map((p) => p.address)),
      });
    }
    const keys = new EtcdKeyLayout('/broker-demo');
    const etcdClient = createEtcdClient(etcd.clientAddresses.map((a) => `http://${a}`));
    const mirror = new EtcdClusterMirror(etcdClient, keys, () => undefined);
    await mirror.start();
    const cluster = await LocalCluster.start({
      ...options.cluster,
      dir: mkdtempSync(path.join(options.dir, 'cluster-')),
      coordinator: formatCoordinatorUrl(etcd.clientAddresses),
      brokerNetwork: (id) => network.get(id)!,
    });
    const harness = new EtcdFaultCluster(
      etcd,
      cluster,
      directAddress,
      mirror,
      () => etcdClient.close(),
      keys,
      etcdClient,
    );
    for (const [id, p] of brokerProxies) harness.brokerProxies.set(id, p);
    for (const [id, p] of etcdProxies) harness.etcdProxies.set(id, p);
    harness.recordLeaderChanges();
    return harness;
  }

  /** Creates a topic through etcd and waits for its first leaders (every replica in the ISR). */
  async createTopic(
    topic: string,
    partitions: number,
    replicationFactor: number,
    minInsync: number,
  ): Promise<void> {
    // Over the brokers registered now: the test's watch may be served by a member a moment behind.
    await this.mirror.catchUp();
    await createTopic(this.etcdClient, this.keys, this.mirror.state, {
      topic,
      partitions,
      replicationFactor,
      minInsyncReplicas: minInsync,
    });
    const ready = await this.mirror.waitUntil((s) => topicReady(s, topic), 60_000);
    if (!ready) throw new Error(`no controller elected leaders for ${topic} within 60 s`);
  }

  /** The partition's state as etcd has it now (the test's own watch). */
  partitionState(topic: string, partition = 0) {
    return this.mirror.state.partitionStates.get(`${topic}-${partition}`)?.record;
  }

  /** The broker elected controller, as etcd has it now. */
  controllerId(): number | null {
    return this.mirror.state.activeControllerEpoch?.brokerId ?? null;
  }

  /** Resolves when etcd's state satisfies `ok` (checked on every change the watch brings). */
  async waitForEtcd(what: string, ok: () => boolean, timeoutMs = 60_000): Promise<void> {
    if (!(await this.mirror.waitUntil(() => ok(), timeoutMs)))
      throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
  }

  /**
   * A client for the test's producer and consumer: it bootstraps from the
   * brokers directly, maps every advertised address to the broker's own,
   * and logs every produce answer with the address and epoch that gave it.
   */
  client(): ClusterClient {
    const toDirect = new Map<string, string>();
    for (const [id, proxy] of this.brokerProxies) toDirect.set(proxy.address, this.directAddress.get(id)!);
    const remoting = new RemotingClient({ connectTimeoutMs: 1000 });
    const answers = this.produceAnswers;
    const rpc: RpcClient = {
      async invokeSync(address: string, request: RemotingCommand, timeoutMs: number) {
        const response = await remoting.invokeSync(toDirect.get(address) ?? address, request, timeoutMs);
        if (request.code === RequestCode.PRODUCE) {
          const ok = response.code === ResponseCode.SUCCESS;
          answers.push({
            atMs: Date.now(),
            address,
            ok,
            leaderEpoch: ok ? response.decodeCustomHeader(ProduceResponseHeader).leaderEpoch : null,
          });
        }
        return response;
      },
      invokeOneway: (address, request, timeoutMs) =>
        remoting.invokeOneway(toDirect.get(address) ?? address, request, timeoutMs),
      shutdown: () => remoting.shutdown(),
    };
    const client = new ClusterClient([...this.directAddress.values()], rpc);
    this.clients.push(client);
    return client;
  }

  /** Cuts broker `id` off from etcd and from the other brokers (both ways); its clients still reach it. */
  isolate(id: number): void {
    for (const proxy of this.etcdProxies.get(id) ?? []) proxy.cut();
    this.brokerProxies.get(id)!.cut();
  }

  /** Blackholes broker `id`'s links to etcd and from the other brokers (bytes held until `heal`). */
  blackhole(id: number): void {
    for (const proxy of this.etcdProxies.get(id) ?? []) proxy.blackhole('both');
    this.brokerProxies.get(id)!.blackhole('both');
  }

  heal(id: number): void {
    for (const proxy of this.etcdProxies.get(id) ?? []) proxy.heal();
    this.brokerProxies.get(id)!.heal();
  }

  async stop(): Promise<void> {
    await Promise.all(this.clients.splice(0).map((c) => c.close()));
    await this.cluster.stop();
    await this.mirror.stop();
    this.closeEtcdClient();
    for (const p of [...this.brokerProxies.values(), ...[...this.etcdProxies.values()].flat()])
      await p.close();
    await this.etcd.close();
  }

  private recordLeaderChanges(): void {
    const last = new Map<string, number>();
    const look = () => {
      for (const [key, v] of this.mirror.state.partitionStates) {
        if (last.get(key) === v.record.leaderEpoch) continue;
        last.set(key, v.record.leaderEpoch);
        const cut = key.lastIndexOf('-');
        this.leaderChanges.push({
          atMs: Date.now(),
          topic: key.slice(0, cut),
          partition: Number(key.slice(cut + 1)),
          leader: v.record.leader,
          leaderEpoch: v.record.leaderEpoch,
        });
      }
    };
    look();
    this.mirror.onChange(look);
  }
}
