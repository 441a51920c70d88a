import { readPartitionToHighWatermark } from '../client/consumer.js';
import type { PartitionView } from '../client/describe.js';
import { Producer } from '../client/producer/producer.js';
import { Acks } from '../protocol/codes.js';
import {
  DEMO_TIMINGS,
  type ScenarioContext,
  type ScenarioResult,
  setFetchersPaused,
  showPartition,
  waitForPartition,
  withTopic,
} from './scenario-kit.js';

const TOPIC = 'seed';

/** What the scenario teaches, said before it runs. */
export const SEED_CONCEPT = [
  "Each replica's log ends at its LEO (log end offset). The ISR (in-sync replicas) is the leader plus the",
  'followers that have caught up within replica.lag.time.max.ms. The HW (high watermark) is the smallest LEO',
  'in the ISR: records below it are on every in-sync replica, and only those are committed, i.e. shown to',
  'consumers. While the ISR is smaller than min.insync.replicas the HW does not move at all.',
];

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

/** The seed's records are m1, m2, m3 at offsets 0, 1, 2. */
const recordAt = (offset: number) => `m${offset + 1}`;

/**
 * The HW rule as it holds the line in `view`, in a sentence: why the HW is
 * where it is, from the ISR, each replica's LEO and min.insync.replicas.
 */
export function explainHighWatermark(view: PartitionView, minInsync: number): string {
  const leader = view.replicas.find((r) => r.brokerId === view.leader)?.status;
  if (leader == null) return 'the leader did not answer';
  const hw = leader.highWatermark;
  const leo = (id: number) => view.replicas.find((r) => r.brokerId === id)?.status?.logEndOffset ?? -1;
  const isr = view.isr;
  const holders = view.replicas.filter((r) => (r.status?.logEndOffset ?? -1) > hw).map((r) => r.brokerId);
  const next = `${recordAt(hw)} is on ${holders.length} of ${view.replicas.length} replicas ([${holders}])`;
  if (leader.logEndOffset <= hw) return `HW is ${hw}: every record is committed`;
  if (isr.length < minInsync) {
    return (
      `HW stays at ${hw}: ${next}, but the ISR [${isr}] has ${isr.length} replica(s), ` +
      `fewer than min.insync.replicas=${minInsync}, and the HW does not move while it does`
    );
  }
  const lacking = isr.filter((id) => leo(id) <= hw);
  return (
    `HW is ${hw}: ${next}; ISR member(s) [${lacking}] lack it, and the HW is the smallest LEO in the ISR ` +
    `[${isr}] (min.insync.replicas=${minInsync} is met)`
  );
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
    async (cluster, client, start) => {
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
        ctx.say(`  produced ${name} (acks=1: answered once the leader has it) at offset ${r.offset}`);
      };
      const leoOf = (id: number) => (v: PartitionView) =>
        v.replicas.find((r) => r.brokerId === id)?.status?.logEndOffset;
      const rule = async (label: string) => {
        const view = await showPartition(ctx, cluster, client, TOPIC, label);
        ctx.say(`  rule: ${explainHighWatermark(view, minInsync)}`);
        return view;
      };

      await send('m1');
      await waitForPartition(client, TOPIC, 'every replica to hold m1', (v) =>
        v.replicas.every((r) => r.status?.logEndOffset === 1 && r.status.highWatermark === 1),
      );
      await rule('all three replicas hold m1:');

      await setFetchersPaused(client, b, true);
      ctx.say(`  follower B (broker ${b}) stops fetching (an admin pause: the process stays alive)`);
      await send('m2');
      await waitForPartition(client, TOPIC, 'A to hold m2', (v) => leoOf(a)(v) === 2);
      await rule('leader and A hold m1 m2, B holds m1; B is still in the ISR:');

      ctx.say(
        `  waiting past replica.lag.time.max.ms=${DEMO_TIMINGS.replicaLagTimeMaxMs} for B to leave the ISR...`,
      );
      await waitForPartition(
        client,
        TOPIC,
        'B out of the ISR',
        (v) => !v.isr.includes(b) && v.isr.includes(a),
      );
      ctx.say(
        `  rule: B left the ISR: it lacks m2 and has not caught up for more than ` +
          `replica.lag.time.max.ms=${DEMO_TIMINGS.replicaLagTimeMaxMs} ms`,
      );
      await setFetchersPaused(client, a, true);
      ctx.say(`  follower A (broker ${a}) stops fetching too`);
      await send('m3');
      const view = await rule('leader m1 m2 m3, A m1 m2, B m1:');
      const leoReported = (id: number) =>
        view.replicas.find((r) => r.brokerId === id)?.status?.logEndOffset ?? -1;

      const read = await readPartitionToHighWatermark(client, TOPIC, 0);
      const committed = read.records.map((r) => r.value.toString('utf8'));
      const expected = minInsync >= 3 ? ['m1'] : ['m1', 'm2'];
      ctx.say(
        `  a consumer reads up to HW ${read.highWatermark}: [${committed.join(', ')}] ` +
          `(the rule says [${expected.join(', ')}]; all three were acknowledged with acks=1)`,
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
    .map((r) => `with min.insync.replicas=${r.minInsync} committed [${r.committed.join(' ')}]`)
    .join(', ');
  return {
    scenario: 'seed-example',
    title: 'Seed example: followers held behind',
    passed,
    verdict: passed
      ? `the leader held m1 m2 m3 in both runs; ${summary}, as the HW rule predicts (m2 is on the 2 ISR ` +
        'members, enough for min.insync.replicas=2 and too few for 3; m3 is on the leader alone)'
      : `unexpected commit points: ${summary}; the HW rule predicts [m1] with 3 and [m1 m2] with 2`,
    acknowledged: runs.reduce((n, r) => n + r.acknowledged, 0),
    // m2 and m3 are acknowledged (acks=1) but not committed: not lost, just not yet visible.
    lost: 0,
    expectedLost: 0,
    acknowledgedNotCommitted: runs.reduce((n, r) => n + r.acknowledged - r.committed.length, 0),
    duplicates: 0,
    refused: 0,
    runs,
  };
}
