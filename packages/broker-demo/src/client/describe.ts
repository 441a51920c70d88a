import { RemotingCommand, ResponseCode } from '@remoting-ts/remoting';
import { decodeJson } from '../protocol/cluster-state.js';
import { RequestCode } from '../protocol/codes.js';
import { header, ReplicaStatusRequestHeader } from '../protocol/headers.js';
import type { ReplicaStatus, ReplicaStatusBody } from '../protocol/replica-status.js';
import type { ClusterClient } from './cluster-client.js';

export interface ReplicaView {
  brokerId: number;
  alive: boolean;
  /** Null when the broker did not answer (dead, paused or stopped). */
  status: ReplicaStatus | null;
}

export interface PartitionView {
  topic: string;
  partition: number;
  leader: number;
  leaderEpoch: number;
  isr: number[];
  replicas: ReplicaView[];
}

/** Per partition: the controller's leader, epoch and ISR, and each replica's own LEO and HW. */
export async function describeTopic(cluster: ClusterClient, topic: string): Promise<PartitionView[]> {
  const snapshot = await cluster.refresh(topic);
  const statusByBroker = new Map<number, ReplicaStatus[]>();
  await Promise.all(
    snapshot.brokers.map(async (b) => {
      if (!b.alive) return;
      try {
        const request = RemotingCommand.createRequest(
          RequestCode.REPLICA_STATUS,
          header(ReplicaStatusRequestHeader, { topic }),
        );
        const response = await cluster.rpc.invokeSync(`${b.host}:${b.port}`, request, 500);
        if (response.code !== ResponseCode.SUCCESS) return;
        statusByBroker.set(b.id, decodeJson<ReplicaStatusBody>(response.body, 'status').replicas);
      } catch {
        // Stopped or gone: shown as unknown.
      }
    }),
  );
  return cluster.partitions(topic).map((p) => ({
    topic,
    partition: p.partition,
    leader: p.leader,
    leaderEpoch: p.leaderEpoch,
    isr: p.isr,
    replicas: p.replicas.map((id) => ({
      brokerId: id,
      alive: snapshot.brokers.find((b) => b.id === id)?.alive ?? false,
      status: statusByBroker.get(id)?.find((s) => s.partition === p.partition) ?? null,
    })),
  }));
}

export function formatPartitionView(view: PartitionView): string {
  const lines = [
    `${view.topic}-${view.partition}: leader ${view.leader}, epoch ${view.leaderEpoch}, ISR [${view.isr.join(',')}]`,
  ];
  for (const r of view.replicas) {
    const s = r.status;
    const role = s === null ? (r.alive ? 'no answer' : 'dead') : s.role;
    const offsets = s === null ? 'LEO ?  HW ?' : `LEO ${s.logEndOffset}  HW ${s.highWatermark}`;
    const inIsr = view.isr.includes(r.brokerId) ? 'in ISR' : 'out of ISR';
    lines.push(`  broker ${r.brokerId}: ${role.padEnd(9)} ${offsets.padEnd(18)} ${inIsr}`);
  }
  return lines.join('\n');
}
