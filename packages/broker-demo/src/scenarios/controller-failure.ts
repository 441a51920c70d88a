import type { AckedRecord } from '../client/workload.js';
import { sleep } from '../util/time.js';
import {
  checkReadBack,
  DEMO_TIMINGS,
  partitionView,
  produceUntilStopped,
  type ScenarioContext,
  type ScenarioResult,
  showPartition,
  waitForFullIsr,
  waitForNewLeader,
  withTopic,
} from './scenario-kit.js';

const TOPIC = 'controller-down';

/** What the scenario teaches, said before it runs. */
export const CONTROLLER_FAILURE_CONCEPT = [
  'Only the controller elects leaders and changes ISRs. While it is down the brokers keep serving with the',
  'state they have, and a dead leader is not replaced; a restarted controller reloads its state and gives',
  'every broker one session timeout to heartbeat before it decides anything.',
];

export interface ControllerFailureOptions {
  /** How long the producer runs between steps. */
  quietMs?: number;
}

/**
 * acks=all, min.insync.replicas=2, a producer running throughout. The
 * controller is SIGKILLed; with it down the leader is SIGKILLed too, and
 * nothing can fail over (no process may elect a leader). The controller is
 * restarted: it reloads its persisted state, gives every broker a session
 * timeout to heartbeat, sees the old leader's session lapse, and elects a new
 * leader from the ISR. The verdict comes from reading everything back: no
 * acknowledged record lost, and the failover completed after the restart.
 */
export async function controllerFailure(
  ctx: ScenarioContext,
  options: ControllerFailureOptions = {},
): Promise<ScenarioResult> {
  const quietMs = options.quietMs ?? 1000;
  return withTopic(
    ctx,
    { brokers: 3, partitions: 1, replicationFactor: 3, minInsync: 2 },
    TOPIC,
    async (cluster, client, start) => {
      const ackTimes = new Map<number, number>();
      const producer = produceUntilStopped(client, TOPIC, 'c', {
        // Enough to ride out the leader's death plus a controller restart and a session timeout.
        retries: 400,
        requestTimeoutMs: 3000,
        onAck: (r: AckedRecord) => ackTimes.set(r.seq, Date.now()),
      });
      const ackedBetween = (from: number, to: number) =>
        [...ackTimes.values()].filter((t) => t >= from && t < to).length;

      let victim = start.leader;
      let failoverAfterRestartMs = -1;
      let leaderDownMs = -1;
      let newLeader = -1;
      let leaderDuringOutage = -1;
      let tRestart = 0;
      let tControllerKill = 0;
      let tLeaderKill = 0;
      try {
        await sleep(quietMs);
        tControllerKill = Date.now();
        await cluster.signalController('SIGKILL');
        ctx.say(`  SIGKILL the controller; the brokers keep serving with the state they have`);
        await sleep(quietMs);
        const view = await partitionView(client, TOPIC);
        victim = view.leader;
        tLeaderKill = Date.now();
        await cluster.signalBroker(victim, 'SIGKILL');
        ctx.say(
          `  ${ackedBetween(tControllerKill, tLeaderKill)} records acknowledged with the controller down; ` +
            `now SIGKILL leader ${victim} (epoch ${view.leaderEpoch})`,
        );
        // Longer than a session: with a controller there would have been a failover by now.
        await sleep(DEMO_TIMINGS.sessionTimeoutMs + quietMs);
        leaderDuringOutage = (await partitionView(client, TOPIC)).leader;
        ctx.say(
          `  ${Date.now() - tLeaderKill} ms later the brokers still name broker ${leaderDuringOutage} leader`,
        );
        ctx.say('  rule: no failover: only the controller elects leaders, and it is down');
        tRestart = Date.now();
        await cluster.restartController();
        ctx.say(
          `  controller restarted in ${Date.now() - tRestart} ms on ${cluster.controllerAddress}; it reloads its ` +
            `state and waits up to a session (${DEMO_TIMINGS.sessionTimeoutMs} ms) for heartbeats`,
        );
        const next = await waitForNewLeader(client, TOPIC, victim);
        failoverAfterRestartMs = Date.now() - tRestart;
        leaderDownMs = Date.now() - tLeaderKill;
        newLeader = next.leader;
        ctx.say(
          `  broker ${next.leader} leads epoch ${next.leaderEpoch}, ISR [${next.isr}]: ${failoverAfterRestartMs} ms ` +
            `after the controller restart, ${leaderDownMs} ms after the leader died`,
        );
        await sleep(quietMs);
        await cluster.startBroker(victim);
        await waitForFullIsr(client, TOPIC, 3, 30_000);
        ctx.say(`  old leader ${victim} restarted and back in the ISR`);
        await sleep(quietMs);
      } finally {
        producer.stop();
      }
      const result = await producer.result;
      await showPartition(ctx, cluster, client, TOPIC, 'at the end:');
      const check = await checkReadBack(client, TOPIC, 'c', result.acknowledged);
      const ackedAfterFailover =
        tRestart === 0
          ? 0
          : ackedBetween(tRestart + Math.max(0, failoverAfterRestartMs), Number.POSITIVE_INFINITY);
      ctx.say(
        `  sent ${result.sent}: ${result.acknowledged.length} acknowledged (${ackedAfterFailover} after the failover), ` +
          `${result.failed.length} not acknowledged`,
      );
      ctx.say(
        `  read back ${check.totalRead} records: ${check.present}/${result.acknowledged.length} acknowledged present, ` +
          `${check.lost} lost, ${check.duplicates} duplicate copies, ${check.outOfOrder} out of order`,
      );
      const failedOver = newLeader >= 0 && newLeader !== victim && leaderDuringOutage === victim;
      const passed =
        check.lost === 0 &&
        check.duplicates === 0 &&
        check.outOfOrder === 0 &&
        failedOver &&
        ackedAfterFailover > 0;
      return {
        scenario: 'controller-failure',
        title: 'Controller failure: the leader dies while the controller is down',
        passed,
        verdict: passed
          ? `no failover while the controller was down, as expected; broker ${newLeader} took over ` +
            `${failoverAfterRestartMs} ms after the controller restart (the dead leader's session, ` +
            `${DEMO_TIMINGS.sessionTimeoutMs} ms from the restart, had to lapse first), the leader ` +
            `unavailable ${leaderDownMs} ms in all; 0 of ${result.acknowledged.length} acknowledged records lost ` +
            `(${ackedAfterFailover} acknowledged after the failover), each read back exactly once`
          : `${check.lost} acknowledged records lost, ${check.duplicates} duplicates, ${check.outOfOrder} out of order; ` +
            `failover ${failedOver ? 'done' : 'NOT done'} (leader during outage ${leaderDuringOutage}, after ${newLeader}); ` +
            `${ackedAfterFailover} acknowledged after it`,
        acknowledged: result.acknowledged.length,
        lost: check.lost,
        expectedLost: 0,
        duplicates: check.duplicates,
        refused: result.failed.length,
        sent: result.sent,
        outOfOrder: check.outOfOrder,
        killedLeader: victim,
        newLeader,
        failoverAfterRestartMs,
        leaderUnavailableMs: leaderDownMs,
        acknowledgedAfterFailover: ackedAfterFailover,
        lostKeys: check.lostKeys.slice(0, 10),
      };
    },
  );
}
