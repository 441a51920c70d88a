import { sleep } from '../util/time.js';
import {
  checkReadBack,
  produceUntilStopped,
  type ScenarioContext,
  type ScenarioResult,
  showPartition,
  waitForFullIsr,
  waitForNewLeader,
  withTopic,
} from './scenario-kit.js';

const TOPIC = 'fire';

/** What the scenario teaches, said before it runs. */
export const DURABILITY_CONCEPT = [
  'acks=all with min.insync.replicas=2: a record is acknowledged only once at least two replicas hold it,',
  'so the death of any one broker, the leader included, loses nothing acknowledged; the new leader comes',
  "from the ISR. The producer's retries carry its producer id and sequence numbers (idempotence), so a",
  'retry of a record the new leader already has is recognised, not written twice.',
];

export interface DurabilityOptions {
  kills?: number;
  /** How long the producer runs undisturbed between a recovery and the next kill. */
  quietMs?: number;
}

/**
 * acks=all, min.insync.replicas=2: a producer (one request in flight, bounded
 * retries) runs the whole time while the current leader is SIGKILLed and
 * restarted `kills` times. Then everything is read back: every acknowledged
 * record must be there exactly once, in acknowledgement order; records whose
 * sends failed are counted apart (some may be in the log: their answer was
 * lost). Retries carry the producer id and sequence, so a new leader that
 * already has the batch answers with its offsets; any extra copy that still
 * got through is counted as a duplicate and fails the verdict.
 */
export async function durabilityUnderFire(
  ctx: ScenarioContext,
  options: DurabilityOptions = {},
): Promise<ScenarioResult> {
  const kills = options.kills ?? 5;
  const quietMs = options.quietMs ?? 1000;
  return withTopic(
    ctx,
    { brokers: 3, partitions: 1, replicationFactor: 3, minInsync: 2 },
    TOPIC,
    async (cluster, client) => {
      const producer = produceUntilStopped(client, TOPIC, 'f', {
        retries: 40,
        requestTimeoutMs: 3000,
      });
      const killed: Array<{
        broker: number;
        epochBefore: number;
        newLeader: number;
        epochAfter: number;
        failoverMs: number;
      }> = [];
      try {
        for (let i = 1; i <= kills; i++) {
          await sleep(quietMs);
          const view = await waitForFullIsr(client, TOPIC, 3, 30_000);
          const victim = view.leader;
          const t0 = Date.now();
          await cluster.signalBroker(victim, 'SIGKILL');
          const next = await waitForNewLeader(client, TOPIC, victim);
          const failoverMs = Date.now() - t0;
          killed.push({
            broker: victim,
            epochBefore: view.leaderEpoch,
            newLeader: next.leader,
            epochAfter: next.leaderEpoch,
            failoverMs,
          });
          ctx.say(
            `  kill ${i}/${kills}: SIGKILL leader ${victim} (epoch ${view.leaderEpoch}); broker ${next.leader} leads epoch ` +
              `${next.leaderEpoch} after ${failoverMs} ms; restarting ${victim}`,
          );
          await cluster.startBroker(victim);
        }
        await waitForFullIsr(client, TOPIC, 3, 30_000);
        await sleep(quietMs);
      } finally {
        producer.stop();
      }
      const result = await producer.result;
      await showPartition(ctx, cluster, client, TOPIC, 'after the last recovery:');
      const check = await checkReadBack(client, TOPIC, 'f', result.acknowledged);
      const retried = result.acknowledged.filter((a) => a.attempts > 1).length;
      const deduplicated = result.acknowledged.filter((a) => a.deduplicated).length;
      const maybeAppended = result.failed.filter((f) => f.maybeAppended).length;
      ctx.say(
        `  sent ${result.sent}: ${result.acknowledged.length} acknowledged (${retried} after retries, ` +
          `${deduplicated} of them recognised by the new leader as already appended), ` +
          `${result.failed.length} not acknowledged (${maybeAppended} of them possibly appended)`,
      );
      ctx.say(
        `  read back ${check.totalRead} records: ${check.present}/${result.acknowledged.length} acknowledged present, ` +
          `${check.lost} lost, ${check.outOfOrder} out of order, ${check.duplicates} duplicate copies, ` +
          `${check.unacknowledgedPresent} unacknowledged records present`,
      );
      const passed =
        check.lost === 0 &&
        check.outOfOrder === 0 &&
        check.duplicates === 0 &&
        killed.length === kills &&
        result.acknowledged.length > 0;
      return {
        scenario: 'durability-under-fire',
        title: `Durability under fire: ${kills} leader kills, acks=all, min.insync=2`,
        passed,
        verdict: passed
          ? `0 of ${result.acknowledged.length} acknowledged records lost across ${kills} leader kills, each read ` +
            'back exactly once and in order, as acks=all with min.insync.replicas=2 and idempotence promise; ' +
            `${retried} acknowledged after a retry (${deduplicated} recognised by the new leader as already appended); ` +
            `${result.failed.length} sends not acknowledged`
          : `${check.lost} acknowledged records lost, ${check.outOfOrder} out of order, ${check.duplicates} duplicate ` +
            `copies (${killed.length}/${kills} kills done)`,
        acknowledged: result.acknowledged.length,
        lost: check.lost,
        expectedLost: 0,
        duplicates: check.duplicates,
        refused: result.failed.length,
        sent: result.sent,
        notAcknowledged: result.failed.length,
        notAcknowledgedButPresent: check.unacknowledgedPresent,
        acknowledgedAfterRetry: retried,
        retriesDeduplicated: deduplicated,
        outOfOrder: check.outOfOrder,
        lostKeys: check.lostKeys.slice(0, 10),
        kills: killed,
      };
    },
  );
}
