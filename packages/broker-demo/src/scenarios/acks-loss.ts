import type { ClusterClient } from '../client/cluster-client.js';
import { runProduceWorkload, type WorkloadResult } from '../client/workload.js';
import { Acks, acksName } from '../protocol/codes.js';
import {
  checkReadBack,
  createTopicWithFullIsr,
  partitionView,
  type ScenarioContext,
  type ScenarioResult,
  setFetchersPaused,
  showPartition,
  waitForFullIsr,
  waitForNewLeader,
  waitForPartition,
  withCluster,
} from './scenario-kit.js';

/** What the scenario teaches, said before it runs. */
export const ACKS_LOSS_CONCEPT = [
  'What each acks setting loses when the leader dies before its followers have copied what it wrote. acks=0',
  'and acks=1 let the producer go on once the leader has the record (or not even that); acks=all answers only',
  'once the HW passes the record, i.e. once every in-sync replica has it, so a new leader elected from the ISR',
  'has everything that was acknowledged. Here the followers stay in the ISR (their lag limit is long): the',
  'election is clean, and still acks=0 and acks=1 lose records.',
];

const SETTINGS = [Acks.NONE, Acks.LEADER, Acks.ALL] as const;
const topicOf = (acks: Acks) => `loss-acks-${acksName(acks)}`;

export interface AcksLossOptions {
  /** Records each setting writes while all replicas copy (kept by every setting). */
  before?: number;
  /** Records each setting writes while the followers are held back (what the leader alone holds). */
  during?: number;
}

interface LossFigures {
  acks: '0' | '1' | 'all';
  /** Sent while the followers were held back. */
  sent: number;
  /** Of those, answered to the producer (acks=0: written to the socket, which is all it waits for). */
  acknowledged: number;
  /** On the leader when it died, beyond what the followers held: what only the dead leader had. */
  onlyOnLeader: number;
  /** Acknowledged (for acks=0: sent) and not read back afterwards. */
  lost: number;
  /** Acknowledged after a retry to the new leader. */
  acknowledgedAfterRetry: number;
  /** Records written before the followers were held back, found again. */
  beforeKept: number;
}

/**
 * acks=0, 1 and all, one topic each on one cluster (RF=3,
 * min.insync.replicas=2, a long replica.lag.time.max.ms so that held-back
 * followers stay in the ISR). Every topic is led by the same broker. The
 * followers' fetchers are paused (an admin request: the processes stay
 * alive); each setting writes records the leader alone then holds (acks=all
 * producers wait, unanswered); the leader is SIGKILLed; the followers resume
 * and one of them, in the ISR, is elected cleanly. Read back: acks=0 and
 * acks=1 lost what only the dead leader held, acknowledged or not; acks=all
 * lost nothing acknowledged, because it answered only after a new leader had
 * the records (its producer retried them there).
 */
export async function acksLoss(ctx: ScenarioContext, options: AcksLossOptions = {}): Promise<ScenarioResult> {
  const before = options.before ?? 20;
  const during = options.during ?? 100;
  return withCluster(
    ctx,
    // A lag limit far longer than the scenario: the held-back followers stay in the ISR, so the election is clean.
    { brokers: 3, partitions: 1, replicationFactor: 3, minInsync: 2, replicaLagTimeMaxMs: 60_000 },
    async (cluster, client) => {
      for (const acks of SETTINGS) await createTopicWithFullIsr(client, topicOf(acks), 3);
      const views = await Promise.all(SETTINGS.map((acks) => partitionView(client, topicOf(acks))));
      const leader = views[0]!.leader;
      if (views.some((v) => v.leader !== leader))
        throw new Error('the three topics are not led by one broker');
      const followers = views[0]!.replicas.map((r) => r.brokerId).filter((id) => id !== leader);
      ctx.say(
        `  three topics, acks=0, acks=1 and acks=all, all led by broker ${leader}; followers ${followers}`,
      );

      const first = new Map<Acks, WorkloadResult>();
      for (const acks of SETTINGS) {
        first.set(acks, await produce(client, acks, 'b', before, 5000));
        // acks=0 and acks=1 are answered before the followers copy: wait until every replica has the records.
        await waitForPartition(
          client,
          topicOf(acks),
          `every replica of ${topicOf(acks)} to hold ${before} records (HW ${before})`,
          (v) =>
            v.replicas.length === 3 &&
            v.replicas.every((r) => r.status?.logEndOffset === before && r.status.highWatermark === before),
        );
      }
      ctx.say(`  ${before} records per setting, on all three replicas (HW ${before})`);

      for (const f of followers) await setFetchersPaused(client, f, true);
      ctx.say(`  followers ${followers} stop fetching (an admin pause; they stay alive and in the ISR)`);
      const zero = await produce(client, Acks.NONE, 'd', during, 5000);
      const one = await produce(client, Acks.LEADER, 'd', during, 5000);
      // acks=all cannot be answered while the followers do not copy: it runs on in the background,
      // retrying, and is answered once a new leader has its records. Long waits and many retries
      // ride out the kill and the election.
      const allRunning = produce(client, Acks.ALL, 'd', during, 30_000, 100);
      for (const acks of SETTINGS) {
        await waitForPartition(
          client,
          topicOf(acks),
          `the leader of ${topicOf(acks)} to hold ${before + during}`,
          (v) => v.replicas.some((r) => r.brokerId === leader && r.status?.logEndOffset === before + during),
        );
      }
      ctx.say(
        `  acks=0: ${zero.sent} sent, nothing to wait for; acks=1: ${one.acknowledged.length} acknowledged by the ` +
          `leader; acks=all: ${during} appended by the leader and waiting for the HW, none acknowledged`,
      );
      const atKill = await Promise.all(SETTINGS.map((acks) => partitionView(client, topicOf(acks))));
      await showPartition(
        ctx,
        cluster,
        client,
        topicOf(Acks.LEADER),
        'acks=1 topic just before the leader dies:',
      );
      const onlyOnLeader = atKill.map((v) => {
        const leo = (id: number) => v.replicas.find((r) => r.brokerId === id)?.status?.logEndOffset ?? 0;
        return leo(leader) - Math.max(...followers.map(leo));
      });
      ctx.say(
        `  rule: the HW stays at ${before} on every topic: records ${before} to ${before + during - 1} are on the ` +
          `leader only, and the followers, still in the ISR, lack them`,
      );

      await cluster.signalBroker(leader, 'SIGKILL');
      for (const f of followers) await setFetchersPaused(client, f, false);
      ctx.say(`  SIGKILL leader ${leader}; the followers fetch again`);
      for (const acks of SETTINGS) {
        await waitForNewLeader(client, topicOf(acks), leader);
      }
      const elected = await partitionView(client, topicOf(Acks.LEADER));
      ctx.say(
        `  rule: broker ${elected.leader} elected from the ISR [${elected.isr}] (a clean election), with ` +
          `${before} records: what only broker ${leader} held is not on any live replica`,
      );
      const all = await allRunning;
      const resent = all.acknowledged.filter((r) => r.attempts > 1).length;
      ctx.say(
        `  acks=all: ${all.acknowledged.length} of ${during} acknowledged, each only once broker ` +
          `${elected.leader} had it (${resent} of them sent again to it after the leader died)`,
      );

      await cluster.startBroker(leader);
      for (const acks of SETTINGS) await waitForFullIsr(client, topicOf(acks), 3, 30_000);
      ctx.say(`  broker ${leader} restarted, truncated to the new leader's log (KIP-101), back in the ISR`);

      const results = new Map<Acks, WorkloadResult>([
        [Acks.NONE, zero],
        [Acks.LEADER, one],
        [Acks.ALL, all],
      ]);
      const figures: LossFigures[] = [];
      for (const [i, acks] of SETTINGS.entries()) {
        const result = results.get(acks)!;
        const kept = await checkReadBack(client, topicOf(acks), 'b', first.get(acks)!.acknowledged);
        const check = await checkReadBack(client, topicOf(acks), 'd', result.acknowledged);
        const acked = acks === Acks.NONE ? result.sent : result.acknowledged.length;
        const present = acks === Acks.NONE ? check.unacknowledgedPresent + check.present : check.present;
        figures.push({
          acks: acksName(acks),
          sent: result.sent,
          acknowledged: result.acknowledged.length,
          onlyOnLeader: onlyOnLeader[i]!,
          lost: acked - present,
          acknowledgedAfterRetry: result.acknowledged.filter((a) => a.attempts > 1).length,
          beforeKept: kept.present,
        });
      }
      for (const f of figures) {
        const what = f.acks === '0' ? 'sent' : 'acknowledged';
        ctx.say(
          `  acks=${f.acks.padEnd(3)} ${f.acks === '0' ? f.sent : f.acknowledged} ${what}, ${f.lost} of them lost ` +
            `(${f.onlyOnLeader} were on the dead leader only); ${f.beforeKept}/${before} earlier records kept`,
        );
      }
      const [z, o, a] = figures as [LossFigures, LossFigures, LossFigures];
      // What the rules predict: acks=0 and acks=1 lose what only the leader held; acks=all loses
      // nothing it acknowledged, and acknowledges everything once a new leader has it.
      const asPredicted =
        z.lost === z.onlyOnLeader &&
        o.lost === o.onlyOnLeader &&
        o.acknowledged === during &&
        a.lost === 0 &&
        a.acknowledged === during &&
        figures.every((f) => f.beforeKept === before);
      return {
        scenario: 'acks-loss',
        title: 'What acks=0 and acks=1 lose when the leader dies first',
        passed: asPredicted,
        verdict:
          `measured: acks=0 lost ${z.lost} of ${z.sent} sent, acks=1 lost ${o.lost} of ${o.acknowledged} acknowledged, ` +
          `acks=all lost ${a.lost} of ${a.acknowledged} acknowledged` +
          (asPredicted
            ? `, as the rules predict: acks=0 and acks=1 lose the ${o.onlyOnLeader} records only the dead leader held, ` +
              'acks=all answers only once the records are on the ISR, so the clean election kept all it acknowledged'
            : ` -- NOT as predicted: acks=0/1 should lose what only the leader held (${z.onlyOnLeader} / ` +
              `${o.onlyOnLeader}), acks=all nothing, with all ${during} acknowledged`),
        acknowledged: o.acknowledged + a.acknowledged,
        lost: o.lost + a.lost,
        expectedLost: o.onlyOnLeader,
        duplicates: 0,
        refused: 0,
        killedLeader: leader,
        newLeader: elected.leader,
        figures,
      };
    },
  );
}

/** `count` numbered records at `acks`, keys `{prefix}...`, as a workload with its own producer. */
function produce(
  client: ClusterClient,
  acks: Acks,
  prefix: string,
  count: number,
  requestTimeoutMs: number,
  retries = 5,
): Promise<WorkloadResult> {
  return runProduceWorkload(client, {
    topic: topicOf(acks),
    acks,
    count,
    keyPrefix: prefix,
    inFlight: count,
    lingerMs: 0,
    requestTimeoutMs,
    retries,
  });
}
