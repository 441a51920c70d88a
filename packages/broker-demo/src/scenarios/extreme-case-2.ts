import { runProduceWorkload } from '../client/workload.js';
import { Acks } from '../protocol/codes.js';
import {
  checkReadBack,
  partitionView,
  type ScenarioContext,
  type ScenarioResult,
  showPartition,
  waitForPartition,
  withTopic,
} from './scenario-kit.js';

const TOPIC = 'extreme2';

/** What the scenario teaches, said before it runs. */
export const EXTREME_2_CONCEPT = [
  'min.insync.replicas is the floor under acks=all: with fewer in-sync replicas than it asks for, the leader',
  'refuses the write before appending it (NOT_ENOUGH_REPLICAS). Availability is given up so that nothing is',
  'acknowledged that fewer replicas hold.',
];

export interface ExtremeCase2Options {
  before?: number;
  attempts?: number;
}

/**
 * min.insync.replicas=3 with one of three brokers SIGKILLed: the ISR drops to
 * two, and every acks=all produce is refused with NOT_ENOUGH_REPLICAS before
 * it is appended. Availability is lost; nothing acknowledged is lost, and
 * nothing refused sneaks into the log.
 */
export async function extremeCase2(
  ctx: ScenarioContext,
  options: ExtremeCase2Options = {},
): Promise<ScenarioResult> {
  const before = options.before ?? 20;
  const attempts = options.attempts ?? 20;
  return withTopic(
    ctx,
    { brokers: 3, partitions: 1, replicationFactor: 3, minInsync: 3 },
    TOPIC,
    async (cluster, client, start) => {
      const first = await runProduceWorkload(client, {
        topic: TOPIC,
        acks: Acks.ALL,
        count: before,
        keyPrefix: 'ok',
      });
      ctx.say(
        `  ${first.acknowledged.length}/${before} records acknowledged with acks=all and all 3 replicas in sync`,
      );

      const victim = start.replicas.map((r) => r.brokerId).find((id) => id !== start.leader)!;
      await cluster.signalBroker(victim, 'SIGKILL');
      ctx.say(`  SIGKILL follower ${victim}; waiting for it to leave the ISR...`);
      await waitForPartition(client, TOPIC, 'ISR of 2', (v) => v.isr.length === 2 && !v.isr.includes(victim));
      await showPartition(ctx, cluster, client, TOPIC, 'one broker down:');

      const refusedRun = await runProduceWorkload(client, {
        topic: TOPIC,
        acks: Acks.ALL,
        count: attempts,
        keyPrefix: 'no',
        retries: 0,
      });
      const refused = refusedRun.failed.filter((f) => f.code === 'NOT_ENOUGH_REPLICAS').length;
      ctx.say(
        `  ${attempts} acks=all produces: ${refusedRun.acknowledged.length} acknowledged, ${refused} refused with NOT_ENOUGH_REPLICAS` +
          (refusedRun.failed.length > refused
            ? `, ${refusedRun.failed.length - refused} failed otherwise`
            : ''),
      );
      const isrNow = (await partitionView(client, TOPIC)).isr;
      ctx.say(
        `  rule: refused before the append: the ISR [${isrNow}] has ${isrNow.length} replicas, ` +
          'fewer than min.insync.replicas=3',
      );

      const check = await checkReadBack(client, TOPIC, 'ok', first.acknowledged);
      const sneaked = await checkReadBack(client, TOPIC, 'no', []);
      ctx.say(
        `  read back: ${check.present}/${first.acknowledged.length} acknowledged records; ${sneaked.unacknowledgedPresent} refused records in the log`,
      );
      const passed =
        first.acknowledged.length === before &&
        refused === attempts &&
        check.lost === 0 &&
        sneaked.unacknowledgedPresent === 0;
      return {
        scenario: 'extreme-case-2',
        title: 'Extreme case 2: min.insync=3, one broker down',
        passed,
        verdict: passed
          ? `all ${attempts} acks=all produces refused with NOT_ENOUGH_REPLICAS and none of them in the log, ` +
            `as min.insync.replicas=3 with 2 in-sync replicas requires (availability lost); all ${before} earlier ` +
            'acknowledged records read back: nothing lost, as expected'
          : `expected ${attempts} refusals and no loss; got ${refused} refusals, ${check.lost} lost, ` +
            `${sneaked.unacknowledgedPresent} refused records in the log`,
        acknowledged: first.acknowledged.length + refusedRun.acknowledged.length,
        lost: check.lost,
        expectedLost: 0,
        duplicates: check.duplicates,
        refused,
        refusedRecordsInLog: sneaked.unacknowledgedPresent,
        killedBroker: victim,
      };
    },
  );
}
