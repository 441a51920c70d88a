import { partitionKey } from '../protocol/cluster-state.js';
import type { ClusterViewSnapshot, PartitionPanel, TimelineEvent } from './view-model.js';

export type TimelineEntry = Omit<TimelineEvent, 'id'>;

/**
 * Turns successive snapshots into the controller's story: ISR shrink and
 * expand, elections (clean when the new leader was in the ISR), epoch bumps,
 * truncations (a replica's LEO going down), brokers dying and returning. Each
 * event carries the time it happened where the snapshot says it (the
 * controller's change time, the process's signal or exit time, the replica's
 * truncation time), not the time this detector noticed it. Pure
 * apart from its memory of the previous snapshot and of each replica's last
 * known LEO, which outlives a broker's death so a restarted replica that
 * truncates on its first fetch is still caught.
 */
export class TimelineDetector {
  private previous: ClusterViewSnapshot | null = null;
  private readonly lastKnownLeo = new Map<string, number>();

  observe(next: ClusterViewSnapshot): TimelineEntry[] {
    const prev = this.previous;
    this.previous = next;
    const at = next.atMs;
    const out: TimelineEntry[] = [];
    if (prev !== null) {
      out.push(...coordinationChanges(prev, next));
      for (const b of next.brokers) {
        const before = prev.brokers.find((x) => x.id === b.id);
        if (before === undefined) continue;
        const registeredAt = b.registeredSinceMs ?? at;
        const processAt = b.processSinceMs ?? at;
        if (before.registered && !b.registered)
          out.push({
            atMs: registeredAt,
            kind: 'broker-death',
            brokerId: b.id,
            text:
              next.coordination.kind === 'etcd'
                ? `broker ${b.id}'s session expired: its etcd lease lapsed and its registration is gone (declared dead)`
                : `broker ${b.id}'s session expired: the controller counts it dead (no heartbeat within the session timeout)`,
          });
        if (!before.registered && b.registered)
          out.push({
            atMs: registeredAt,
            kind: 'broker-return',
            brokerId: b.id,
            text:
              next.coordination.kind === 'etcd'
                ? `broker ${b.id} registered in etcd again (a new broker epoch)`
                : `broker ${b.id} registered with the controller again`,
          });
        if (before.process !== b.process && b.process !== 'unknown') {
          const what =
            b.process === 'stopped'
              ? 'paused (SIGSTOP): alive, but no heartbeats, no fetches'
              : b.process === 'exited'
                ? 'exited'
                : before.process === 'stopped'
                  ? 'continued (SIGCONT)'
                  : `started (pid ${b.pid})`;
          out.push({
            atMs: processAt,
            kind: 'process',
            brokerId: b.id,
            text: `broker ${b.id} process ${what}`,
          });
        }
        if (before.pid !== b.pid && before.process === b.process && b.process === 'running')
          out.push({
            atMs: processAt,
            kind: 'process',
            brokerId: b.id,
            text: `broker ${b.id} restarted (pid ${b.pid})`,
          });
      }
    }
    for (const p of next.partitions) {
      const key = partitionKey(p.topic, p.partition);
      const before = prev?.partitions.find((x) => x.topic === p.topic && x.partition === p.partition);
      if (prev !== null && before === undefined)
        out.push({
          atMs: at,
          kind: 'note',
          partition: key,
          text: `${key} created: leader ${p.leader}, epoch ${p.leaderEpoch}, ISR [${p.isr}]`,
        });
      if (before !== undefined) out.push(...partitionChanges(key, before, p, p.changedAtMs ?? at));
      for (const r of p.replicas) {
        if (r.leo === null || r.stale) continue;
        const memo = `${key}/${r.brokerId}`;
        const known = this.lastKnownLeo.get(memo);
        // The replica's own record of the cut, when it is this one (it ends where the LEO now is).
        const cut = r.lastTruncation;
        if (known !== undefined && r.leo < known)
          out.push({
            atMs: cut != null && cut.toOffset === r.leo ? cut.atMs : at,
            kind: 'truncation',
            partition: key,
            brokerId: r.brokerId,
            text: `${key}: broker ${r.brokerId} truncated its log from LEO ${known} to ${r.leo} (leader epoch check, KIP-101)`,
          });
        this.lastKnownLeo.set(memo, r.leo);
      }
    }
    // In the order they happened, not the order they were noticed.
    return out.sort((a, b) => a.atMs - b.atMs);
  }
}

/** etcd-coordinated clusters: a new controller (and epoch), and brokers fenced or back. */
function coordinationChanges(prev: ClusterViewSnapshot, next: ClusterViewSnapshot): TimelineEntry[] {
  const out: TimelineEntry[] = [];
  const at = next.atMs;
  const before = prev.coordination;
  const now = next.coordination;
  if (before.kind === 'etcd' && now.kind === 'etcd' && now.controllerEpoch !== before.controllerEpoch) {
    out.push({
      atMs: at,
      kind: 'controller',
      ...(now.controllerBrokerId === null ? {} : { brokerId: now.controllerBrokerId }),
      text:
        now.controllerBrokerId === null
          ? `no controller: epoch ${before.controllerEpoch} ended and nobody has claimed the next yet`
          : `broker ${now.controllerBrokerId} elected controller in etcd, controller epoch ${before.controllerEpoch ?? '-'} -> ${now.controllerEpoch}` +
            ' (writes of the previous one are refused from now on)',
    });
  }
  for (const b of next.brokers) {
    const was = prev.brokers.find((x) => x.id === b.id);
    if (was === undefined || was.fenced === b.fenced) continue;
    out.push({
      atMs: at,
      kind: 'fenced',
      brokerId: b.id,
      text: b.fenced
        ? `broker ${b.id} FENCED: its etcd session is not valid, it acknowledges no acks=all write`
        : `broker ${b.id} has a valid etcd session again`,
    });
  }
  return out;
}

function partitionChanges(
  key: string,
  before: PartitionPanel,
  p: PartitionPanel,
  at: number,
): TimelineEntry[] {
  const out: TimelineEntry[] = [];
  if (p.leader !== before.leader) {
    if (p.leader < 0)
      out.push({
        atMs: at,
        kind: 'leader-offline',
        partition: key,
        text: `${key} offline: leader ${before.leader} is gone and no live replica may lead (last ISR [${p.isr}])`,
      });
    else {
      const clean = before.isr.includes(p.leader);
      out.push({
        atMs: at,
        kind: 'election',
        partition: key,
        brokerId: p.leader,
        clean,
        text: clean
          ? `${key}: broker ${p.leader} elected leader from the ISR [${before.isr}] (clean)`
          : `${key}: broker ${p.leader} elected leader from outside the ISR [${before.isr}] (UNCLEAN: records only the old ISR held are lost)`,
      });
    }
  }
  if (p.leaderEpoch > before.leaderEpoch)
    out.push({
      atMs: at,
      kind: 'epoch-bump',
      partition: key,
      text: `${key}: leader epoch ${before.leaderEpoch} -> ${p.leaderEpoch}`,
    });
  const left = before.isr.filter((id) => !p.isr.includes(id));
  const joined = p.isr.filter((id) => !before.isr.includes(id));
  if (left.length > 0)
    out.push({
      atMs: at,
      kind: 'isr-shrink',
      partition: key,
      text: `${key}: ISR [${before.isr}] -> [${p.isr}]: ${left.join(', ')} left`,
    });
  if (joined.length > 0)
    out.push({
      atMs: at,
      kind: 'isr-expand',
      partition: key,
      text: `${key}: ISR [${before.isr}] -> [${p.isr}]: ${joined.join(', ')} joined`,
    });
  return out;
}
