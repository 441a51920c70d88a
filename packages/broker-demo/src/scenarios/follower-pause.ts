import { sleep } from '../util/time.js';
import {
  checkReadBack,
  DEMO_TIMINGS,
  produceUntilStopped,
  round,
  type ScenarioContext,
  type ScenarioResult,
  showPartition,
  waitForFullIsr,
  waitForMetadata,
  withTopic,
} from './scenario-kit.js';

const TOPIC = 'pause';

/** What the scenario teaches, said before it runs. */
export const FOLLOWER_PAUSE_CONCEPT = [
  'A follower that has not caught up with the leader for replica.lag.time.max.ms leaves the ISR, so acks=all',
  'stops waiting for it; once it has caught up again it rejoins. A process stopped with SIGSTOP is paused,',
  'not dead: it keeps its log and resumes where it was.',
];

export interface FollowerPauseOptions {
  pauseMs?: number;
}

/**
 * A follower frozen with SIGSTOP while acks=all traffic flows: the leader
 * drops it from the ISR once it has not caught up for
 * replica.lag.time.max.ms (the controller session is set longer here, so it
 * is the leader's lag rule that acts, not the liveness check); acks=all
 * stalls until then. After SIGCONT it catches up and the leader puts it back.
 */
export async function followerPause(
  ctx: ScenarioContext,
  options: FollowerPauseOptions = {},
): Promise<ScenarioResult> {
  const pauseMs = options.pauseMs ?? 4000;
  const lagMs = DEMO_TIMINGS.replicaLagTimeMaxMs;
  return withTopic(
    ctx,
    { brokers: 3, partitions: 1, replicationFactor: 3, minInsync: 2, sessionTimeoutMs: pauseMs + 10_000 },
    TOPIC,
    async (cluster, client, start) => {
      const follower = start.replicas.map((r) => r.brokerId).find((id) => id !== start.leader)!;
      const producer = produceUntilStopped(client, TOPIC, 'q', {
        retries: 10,
      });
      let evictedAfterMs = -1;
      let rejoinedAfterMs = -1;
      try {
        await sleep(500);
        const stoppedAt = Date.now();
        await cluster.signalBroker(follower, 'SIGSTOP');
        ctx.say(`  SIGSTOP follower ${follower}: paused (replica.lag.time.max.ms=${lagMs})`);
        await waitForMetadata(
          client,
          TOPIC,
          `broker ${follower} out of the ISR`,
          (v) => !v.isr.includes(follower),
        );
        evictedAfterMs = Date.now() - stoppedAt;
        ctx.say(`  broker ${follower} left the ISR ${evictedAfterMs} ms after SIGSTOP`);
        ctx.say(
          `  rule: it had not caught up for more than replica.lag.time.max.ms=${lagMs} ms (its last catch-up ` +
            'came just before the pause); acks=all waited for it until then, and no longer',
        );
        await showPartition(ctx, cluster, client, TOPIC, 'while paused:');
        await sleep(Math.max(0, pauseMs - evictedAfterMs));
        const resumedAt = Date.now();
        await cluster.signalBroker(follower, 'SIGCONT');
        ctx.say(`  SIGCONT follower ${follower} after ${resumedAt - stoppedAt} ms`);
        await waitForMetadata(client, TOPIC, `broker ${follower} back in the ISR`, (v) =>
          v.isr.includes(follower),
        );
        rejoinedAfterMs = Date.now() - resumedAt;
        ctx.say(`  broker ${follower} caught up and rejoined the ISR ${rejoinedAfterMs} ms after SIGCONT`);
        ctx.say('  rule: a follower rejoins once its LEO reaches the HW (and the start of the leader epoch)');
        await sleep(500);
      } finally {
        producer.stop();
      }
      const result = await producer.result;
      const view = await waitForFullIsr(client, TOPIC, 3);
      await showPartition(ctx, cluster, client, TOPIC, 'after:');
      const check = await checkReadBack(client, TOPIC, 'q', result.acknowledged);
      const leaderLeo = view.replicas.find((r) => r.brokerId === view.leader)?.status?.logEndOffset;
      const followerLeo = view.replicas.find((r) => r.brokerId === follower)?.status?.logEndOffset;
      const maxLatencyMs = Math.max(...result.acknowledged.map((a) => a.latencyMs));
      ctx.say(
        `  ${result.acknowledged.length} acks=all records acknowledged meanwhile (slowest ${round(maxLatencyMs, 0)} ms: ` +
          `the wait for the ISR to shrink); ${check.lost} lost`,
      );
      // The lag clock starts at the follower's last caught-up fetch, which came
      // shortly before the SIGSTOP (a long-poll at most earlier), not at the signal.
      const earliest = lagMs - DEMO_TIMINGS.fetchWaitMs - 200;
      const evictedInTime = evictedAfterMs >= earliest && evictedAfterMs < lagMs + 3000;
      const passed = evictedInTime && rejoinedAfterMs >= 0 && check.lost === 0 && leaderLeo === followerLeo;
      return {
        scenario: 'follower-pause',
        title: 'Follower paused with SIGSTOP, then resumed',
        passed,
        verdict: passed
          ? `follower ${follower} left the ISR ${evictedAfterMs} ms after SIGSTOP, as replica.lag.time.max.ms=${lagMs} ` +
            `predicts (counted from its last catch-up, just before), and rejoined ${rejoinedAfterMs} ms after SIGCONT ` +
            `with the leader's LEO ${leaderLeo}; 0 acknowledged records lost, as acks=all promises`
          : `eviction after ${evictedAfterMs} ms (limit ${lagMs}), rejoin after ${rejoinedAfterMs} ms, ` +
            `LEO ${followerLeo} vs leader ${leaderLeo}, ${check.lost} lost`,
        acknowledged: result.acknowledged.length,
        lost: check.lost,
        expectedLost: 0,
        duplicates: check.duplicates,
        refused: result.failed.length,
        pausedBroker: follower,
        replicaLagTimeMaxMs: lagMs,
        earliestExpectedEvictionMs: earliest,
        evictedAfterMs,
        rejoinedAfterMs,
        maxAckLatencyMs: round(maxLatencyMs, 1),
      };
    },
  );
}
