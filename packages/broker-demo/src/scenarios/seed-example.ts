import { readPartitionToHighWatermark } from '../client/consumer.js';
import { Producer } from '../client/producer/producer.js';
import { Acks } from '../protocol/codes.js';
import {
  DEMO_TIMINGS,
  type ScenarioContext,
  type ScenarioResult,
  setFetchersPaused,
  showPartition,
  type waitForFullIsr,
  waitForPartition,
  withTopic,
} from './scenario-kit.js';

const TOPIC = 'seed';

interface SeedRun {
  minInsync: number;
  committed: string[];
  expected: string[];
  highWatermark: number;
  leaderLeo: number;
  /** Produce requests answered (acks=1). */
  acknowledged: number;
  /** LEO of follower A and of follower B as they report it. */
  followerLeos: [number, number];
}

/**
 * The seed example: the leader holds m1 m2 m3, follower A holds m1 m2,
 * follower B holds m1 (their fetchers paused at the right moments; the
 * processes stay alive). B lags past replica.lag.time.max.ms and leaves the
 * ISR. With min.insync.replicas=3 the remaining ISR {leader, A} is too small
 * for the HW to move (KIP-966), so only m1 is committed; with 2 it is enough,
 * and the HW reaches A's LEO: m1 and m2.
 */
async function runOnce(ctx: ScenarioContext, minInsync: number): Promise<SeedRun> {
  ctx.say(`  -- min.insync.replicas=${minInsync} --`);
  return withTopic(
    ctx,
    { brokers: 3, partitions: 1, replicationFactor: 3, minInsync },
    TOPIC,
    async (_cluster, client, start) => {
      const leader = start.leader;
      const followers = start.replicas.map((r) => r.brokerId).filter((id) => id !== leader);
      const [a, b] = followers as [number, number];
      ctx.say(`  leader is broker ${leader}; follower A = broker ${a}, follower B = broker ${b}`);
      const producer = new Producer(client, { acks: Acks.LEADER });
      let acknowledged = 0;
      const send = async (name: string) => {
        const r = await producer.send({
          topic: TOPIC,
          partition: 0,
          key: Buffer.from(name),
          value: Buffer.from(name),
        });
        acknowledged++;
        ctx.say(`  produced ${name} (acks=1) at offset ${r.offset}`);
      };
      const leoOf = (id: number) => (v: Awaited<ReturnType<typeof waitForFullIsr>>) =>
        v.replicas.find((r) => r.brokerId === id)?.status?.logEndOffset;

      await send('m1');
      await waitForPartition(client, TOPIC, 'every replica to hold m1', (v) =>
        v.replicas.every((r) => r.status?.logEndOffset === 1),
      );
      await showPartition(ctx, client, TOPIC, 'all three replicas hold m1:');

      await setFetchersPaused(client, b, true);
      ctx.say(`  follower B (broker ${b}) stops fetching`);
      await send('m2');
      await waitForPartition(client, TOPIC, 'A to hold m2', (v) => leoOf(a)(v) === 2);
      await showPartition(ctx, client, TOPIC, 'leader and A hold m1 m2, B holds m1; B still in the ISR:');

      ctx.say(
        `  waiting past replica.lag.time.max.ms=${DEMO_TIMINGS.replicaLagTimeMaxMs} for B to leave the ISR...`,
      );
      await waitForPartition(
        client,
        TOPIC,
        'B out of the ISR',
        (v) => !v.isr.includes(b) && v.isr.includes(a),
      );
      await setFetchersPaused(client, a, true);
      ctx.say(`  follower A (broker ${a}) stops fetching too`);
      await send('m3');
      const view = await showPartition(ctx, client, TOPIC, 'leader m1 m2 m3, A m1 m2, B m1:');
      const leoReported = (id: number) =>
        view.replicas.find((r) => r.brokerId === id)?.status?.logEndOffset ?? -1;

      const read = await readPartitionToHighWatermark(client, TOPIC, 0);
      const committed = read.records.map((r) => r.value.toString('utf8'));
      const expected = minInsync >= 3 ? ['m1'] : ['m1', 'm2'];
      ctx.say(
        `  consumer reads up to HW ${read.highWatermark}: [${committed.join(', ')}] (expected [${expected.join(', ')}])`,
      );
      await setFetchersPaused(client, a, false);
      await setFetchersPaused(client, b, false);
      return {
        minInsync,
        committed,
        expected,
        highWatermark: read.highWatermark,
        acknowledged,
        leaderLeo: leoReported(leader),
        followerLeos: [leoReported(a), leoReported(b)],
      };
    },
  );
}

export async function seedExample(ctx: ScenarioContext): Promise<ScenarioResult> {
  const runs = [await runOnce(ctx, 3), await runOnce(ctx, 2)];
  const passed = runs.every(
    (r) =>
      r.leaderLeo === 3 &&
      r.followerLeos[0] === 2 &&
      r.followerLeos[1] === 1 &&
      r.committed.length === r.expected.length &&
      r.committed.every((m, i) => m === r.expected[i]),
  );
  const summary = runs
    .map((r) => `min.insync=${r.minInsync}: committed [${r.committed.join(' ')}]`)
    .join('; ');
  return {
    scenario: 'seed-example',
    title: 'Seed example: followers held behind',
    passed,
    verdict: passed
      ? `leader held m1 m2 m3 in both runs; ${summary}`
      : `unexpected commit points: ${summary} (expected m1 with 3, m1 m2 with 2)`,
    acknowledged: runs.reduce((n, r) => n + r.acknowledged, 0),
    // m2 and m3 are acknowledged (acks=1) but not committed: not lost, just not yet visible.
    lost: 0,
    acknowledgedNotCommitted: runs.reduce((n, r) => n + r.acknowledged - r.committed.length, 0),
    duplicates: 0,
    refused: 0,
    runs,
  };
}
