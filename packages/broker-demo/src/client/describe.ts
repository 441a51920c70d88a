import { RemotingCommand, ResponseCode } from '@remoting-ts/remoting';
import { decodeJson } from '../protocol/cluster-state.js';
import { RequestCode } from '../protocol/codes.js';
import { header, ReplicaStatusRequestHeader } from '../protocol/headers.js';
import type { ReplicaStatus, ReplicaStatusBody } from '../protocol/replica-status.js';
import type { ClusterClient } from './cluster-client.js';

export interface ReplicaView {
  brokerId: number;
  /** The controller counts it alive (heartbeats within the session timeout). */
  alive: boolean;
  /** Null when the broker did not answer (stopped, paused with SIGSTOP, or gone). */
  status: ReplicaStatus | null;
  /** An admin paused the broker's replica fetchers: alive and answering, but copying nothing. */
  fetchersPaused: boolean;
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
  const statusByBroker = new Map<number, ReplicaStatusBody>();
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
        statusByBroker.set(b.id, decodeJson<ReplicaStatusBody>(response.body, 'status'));
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
      status: statusByBroker.get(id)?.replicas.find((s) => s.partition === p.partition) ?? null,
      fetchersPaused: statusByBroker.get(id)?.fetchersPaused ?? false,
    })),
  }));
}

/** What the operating system says of a broker's process, where the caller knows it (a cluster it started). */
export type ProcessStateOf = (brokerId: number) => 'running' | 'stopped' | 'exited' | 'unknown' | undefined;

/**
 * The partition as text: the controller's leader, epoch and ISR, then each
 * replica's role, LEO and HW. A replica that did not answer is described by
 * what is known: paused (SIGSTOP) or exited when the caller knows its
 * process, else whether the controller still counts it alive. A stopped
 * process is "paused", never "dead": it resumes where it was.
 */
export function formatPartitionView(view: PartitionView, processState?: ProcessStateOf): string {
  const lines = [
    `${view.topic}-${view.partition}: leader ${view.leader}, epoch ${view.leaderEpoch}, ISR [${view.isr.join(',')}]`,
  ];
  for (const r of view.replicas) {
    const s = r.status;
    const offsets = s === null ? 'LEO ?  HW ?' : `LEO ${s.logEndOffset}  HW ${s.highWatermark}`;
    const inIsr = view.isr.includes(r.brokerId) ? 'in ISR' : 'out of ISR';
    lines.push(
      `  broker ${r.brokerId}: ${roleText(r, processState?.(r.brokerId)).padEnd(9)} ${offsets.padEnd(18)} ${inIsr}`,
    );
  }
  return lines.join('\n');
}

function roleText(r: ReplicaView, process: ReturnType<ProcessStateOf>): string {
  if (r.status !== null)
    return r.fetchersPaused ? `${r.status.role} (fetching paused by admin)` : r.status.role;
  if (process === 'stopped') return 'paused (SIGSTOP): no answer';
  if (process === 'exited') return 'exited';
  return r.alive ? 'no answer' : 'no answer, not registered with the controller';
}
