import { runProduceWorkload } from '../client/workload.js';
import { Acks } from '../protocol/codes.js';
import {
  checkReadBack,
  type ScenarioContext,
  type ScenarioResult,
  showPartition,
  waitForNewLeader,
  waitForPartition,
  withTopic,
} from './scenario-kit.js';

const TOPIC = 'extreme1';

/** What the scenario teaches, said before it runs. */
export const EXTREME_1_CONCEPT = [
  'Unclean leader election lets a replica outside the ISR lead when no ISR member is alive: the partition',
  'stays available, and every record only the old ISR held is gone. With min.insync.replicas=1 the ISR may',
  'shrink to the leader alone, and acks=all then means only "the leader has it".',
];

export interface ExtremeCase1Options {
  /** Records acknowledged while all three replicas are in sync. */
  before?: number;
  /** Records acknowledged while the leader is alone in the ISR. */
  alone?: number;
}

/**
 * min.insync.replicas=1 with unclean election: both followers are frozen
 * (SIGSTOP), the ISR shrinks to the leader alone, acks=all still succeeds
 * because one replica satisfies min.insync=1, then the leader is SIGKILLed.
 * The followers resume, one of them is elected uncleanly, and everything the
 * lone leader acknowledged is gone. The count comes from reading back.
 */
export async function extremeCase1(
  ctx: ScenarioContext,
  options: ExtremeCase1Options = {},
): Promise<ScenarioResult> {
  const before = options.before ?? 20;
  const alone = options.alone ?? 50;
  return withTopic(
    ctx,
    { brokers: 3, partitions: 1, replicationFactor: 3, minInsync: 1, unclean: true },
    TOPIC,
    async (cluster, client, start) => {
      const leader = start.leader;
      const followers = start.replicas.map((r) => r.brokerId).filter((id) => id !== leader);
      const first = await runProduceWorkload(client, {
        topic: TOPIC,
        acks: Acks.ALL,
        count: before,
        keyPrefix: 'x',
      });
      ctx.say(`  ${first.acknowledged.length} records acknowledged with acks=all while the ISR is full`);

      for (const f of followers) await cluster.signalBroker(f, 'SIGSTOP');
      ctx.say(
        `  SIGSTOP followers ${followers.join(' and ')} (paused, not dead); waiting for the ISR to shrink to the leader alone...`,
      );
      await waitForPartition(
        client,
        TOPIC,
        'ISR = leader alone',
        (v) => v.isr.length === 1 && v.isr[0] === leader,
      );
      await showPartition(ctx, cluster, client, TOPIC, 'ISR shrunk:');

      const second = await runProduceWorkload(client, {
        topic: TOPIC,
        acks: Acks.ALL,
        count: alone,
        keyPrefix: 'y',
        retries: 0,
      });
      ctx.say(`  ${second.acknowledged.length}/${alone} more records acknowledged with acks=all`);
      ctx.say(
        `  rule: acks=all is answered once the HW passes the record; the ISR is [${leader}] and ` +
          'min.insync.replicas=1 allows that, so the leader alone counts as "all"',
      );

      await cluster.signalBroker(leader, 'SIGKILL');
      ctx.say(`  SIGKILL leader ${leader}; SIGCONT the followers`);
      for (const f of followers) await cluster.signalBroker(f, 'SIGCONT');
      const after = await waitForNewLeader(client, TOPIC, leader);
      ctx.say(
        `  rule: broker ${after.leader} elected from outside the ISR [${leader}] in epoch ${after.leaderEpoch}: ` +
          `no ISR member is alive and unclean.leader.election is on; it has only what it copied before its pause`,
      );
      await showPartition(ctx, cluster, client, TOPIC, 'after the unclean election:');

      const acked = [...first.acknowledged, ...second.acknowledged];
      const checkBefore = await checkReadBack(client, TOPIC, 'x', first.acknowledged);
      const checkAlone = await checkReadBack(client, TOPIC, 'y', second.acknowledged);
      ctx.say(
        `  read back: ${checkBefore.present}/${first.acknowledged.length} records from before the shrink, ` +
          `${checkAlone.present}/${second.acknowledged.length} acknowledged by the lone leader`,
      );

      // The old leader returns, learns the new epoch and truncates what the new leader never had (KIP-101).
      await cluster.startBroker(leader);
      const healed = await waitForPartition(
        client,
        TOPIC,
        `broker ${leader} back in sync`,
        (v) => {
          const mine = v.replicas.find((r) => r.brokerId === leader)?.status;
          const theirs = v.replicas.find((r) => r.brokerId === v.leader)?.status;
          return (
            mine !== undefined && mine !== null && theirs != null && mine.logEndOffset === theirs.logEndOffset
          );
        },
        30_000,
      );
      await showPartition(
        ctx,
        cluster,
        client,
        TOPIC,
        `old leader ${leader} restarted and truncated to the new leader's log:`,
      );
      const oldLeaderLeo = healed.replicas.find((r) => r.brokerId === leader)?.status?.logEndOffset ?? -1;
      ctx.say(
        `  old leader ${leader} held ${first.acknowledged.length + second.acknowledged.length} records before it died; ` +
          `after OffsetsForLeaderEpoch it holds ${oldLeaderLeo}, as the new leader does`,
      );
      const lost = checkBefore.lost + checkAlone.lost;
      const passed =
        checkBefore.lost === 0 &&
        second.acknowledged.length > 0 &&
        lost > 0 &&
        healed.leader !== leader &&
        oldLeaderLeo === first.acknowledged.length;
      return {
        scenario: 'extreme-case-1',
        title: 'Extreme case 1: min.insync=1, unclean election',
        passed,
        verdict: passed
          ? `${lost} acknowledged records lost, as min.insync.replicas=1 with unclean election predicts: the ` +
            `${second.acknowledged.length} acknowledged while the leader was alone in the ISR; the ` +
            `${first.acknowledged.length} acknowledged while all three were in sync were kept`
          : `expected the ${second.acknowledged.length} records acknowledged by the lone leader lost and the ` +
            `${first.acknowledged.length} earlier ones kept; lost ${lost} (before: ${checkBefore.lost}, alone: ${checkAlone.lost})`,
        acknowledged: acked.length,
        lost,
        expectedLost: second.acknowledged.length,
        duplicates: checkBefore.duplicates + checkAlone.duplicates,
        refused: second.failed.length,
        acknowledgedWhileAlone: second.acknowledged.length,
        lostKeys: [...checkBefore.lostKeys, ...checkAlone.lostKeys].slice(0, 10),
        oldLeaderLogEndOffsetAfterReturn: oldLeaderLeo,
        newLeader: after.leader,
        newLeaderEpoch: after.leaderEpoch,
      };
    },
  );
}
