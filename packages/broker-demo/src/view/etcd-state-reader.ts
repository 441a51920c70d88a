import type { Etcd3 } from 'etcd3';
import { createEtcdClient } from '../coordination/etcd/etcd-client.js';
import { EtcdClusterMirror } from '../coordination/etcd/etcd-cluster-mirror.js';
import { EtcdKeyLayout } from '../coordination/etcd/etcd-records.js';
import { parseCoordinatorUrl } from '../coordination/etcd/etcd-url.js';
import type { ClusterSnapshot } from '../protocol/cluster-state.js';

/**
 * The view's window on an etcd-coordinated cluster: a watched copy of the
 * cluster's keys, read straight from etcd (not through a broker, which may
 * be fenced or stopped), so every sample is as fresh as etcd.
 */
export class EtcdStateReader {
  readonly url: string;
  private readonly client: Etcd3;
  private readonly mirror: EtcdClusterMirror;
  private readonly started: Promise<void>;

  constructor(url: string) {
    const coordinates = parseCoordinatorUrl(url);
    this.url = coordinates.url;
    this.client = createEtcdClient(coordinates.endpoints);
    this.mirror = new EtcdClusterMirror(this.client, new EtcdKeyLayout(coordinates.root), () => undefined);
    this.started = this.mirror.start();
  }

  /** The cluster state as etcd has it (after the first read; then at once). */
  async read(): Promise<ClusterSnapshot> {
    await this.started;
    return this.mirror.state.snapshot({ host: '', port: 0 });
  }

  /** The controller in office: the elected broker and the epoch it claimed; null while there is none. */
  controller(): { brokerId: number; epoch: number } | null {
    const c = this.mirror.state.activeControllerEpoch;
    return c === null ? null : { brokerId: c.brokerId, epoch: c.epoch };
  }

  async close(): Promise<void> {
    await this.mirror.stop();
    this.client.close();
  }
}
