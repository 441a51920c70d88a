import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, test } from 'vitest';
import { LocalCluster } from '../src/cluster/local-cluster.js';
import { acksLoss } from '../src/scenarios/acks-loss.js';
import { durabilityUnderFire } from '../src/scenarios/durability-under-fire.js';
import { extremeCase1 } from '../src/scenarios/extreme-case-1.js';
import { extremeCase2 } from '../src/scenarios/extreme-case-2.js';
import { followerPause } from '../src/scenarios/follower-pause.js';
import type { ScenarioContext } from '../src/scenarios/scenario-kit.js';

/*
 * Small versions of the demo's failure scenarios, each on its own cluster of
 * real processes (a controller and three brokers, each from its bundle, on
 * 127.0.0.1 ports the OS picks). One file, so the clusters run one after the
 * other instead of competing for the CPU.
 */

let baseDir: string;
const lines: string[] = [];
const ctx = (): ScenarioContext => ({ say: (line) => lines.push(line), baseDir });

beforeAll(() => {
  baseDir = mkdtempSync(path.join(os.tmpdir(), 'broker-demo-test-'));
});

afterEach(async (context) => {
  // Whatever a failed scenario left running is stopped here, SIGSTOPped brokers included.
  await LocalCluster.stopAll();
  if (context.task.result?.state === 'fail') console.log(lines.join('\n'));
  lines.length = 0;
});

afterAll(() => {
  rmSync(baseDir, { recursive: true, force: true });
});

describe('failure scenarios with real processes', () => {
  test('a leader killed before replication: acks=0 and acks=1 lose what only it held, acks=all loses nothing it acknowledged', async () => {
    const result = await acksLoss(ctx(), { before: 5, during: 20 });
    const byAcks = Object.fromEntries(
      (result.figures as Array<{ acks: string; lost: number; acknowledged: number; beforeKept: number }>).map(
        (f) => [f.acks, f],
      ),
    );
    expect(byAcks['0']).toMatchObject({ lost: 20, beforeKept: 5 });
    expect(byAcks['1']).toMatchObject({ acknowledged: 20, lost: 20, beforeKept: 5 });
    expect(byAcks.all).toMatchObject({ acknowledged: 20, lost: 0, beforeKept: 5 });
    expect(result.passed).toBe(true);
  }, 180_000);

  test("min.insync=1 plus unclean election loses the lone leader's acknowledged records, and the loss is detected", async () => {
    const result = await extremeCase1(ctx(), { before: 5, alone: 10 });
    expect(result.acknowledgedWhileAlone).toBe(10);
    expect(result.lost).toBe(10);
    expect(result.lostKeys).toContain('y-0');
    // The returning old leader truncated the 10 records the new leader never had (KIP-101).
    expect(result.oldLeaderLogEndOffsetAfterReturn).toBe(5);
    expect(result.passed).toBe(true);
  }, 90_000);

  test('min.insync=3 with a broker down refuses every acks=all produce and loses nothing', async () => {
    const result = await extremeCase2(ctx(), { before: 5, attempts: 5 });
    expect(result.refused).toBe(5);
    expect(result.refusedRecordsInLog).toBe(0);
    expect(result.lost).toBe(0);
    expect(result.passed).toBe(true);
  }, 90_000);

  test('acks=all with min.insync=2 keeps every acknowledged record across leader kills', async () => {
    const result = await durabilityUnderFire(ctx(), { kills: 2, quietMs: 500 });
    expect(result.acknowledged).toBeGreaterThan(0);
    expect(result.lost).toBe(0);
    expect(result.outOfOrder).toBe(0);
    expect(result.passed).toBe(true);
  }, 120_000);

  test('a SIGSTOPped follower leaves the ISR after replica.lag.time.max.ms and rejoins after SIGCONT', async () => {
    const result = await followerPause(ctx(), { pauseMs: 3000 });
    // Measured from the SIGSTOP; the lag clock started at the last caught-up fetch just before it.
    expect(result.evictedAfterMs).toBeGreaterThanOrEqual(result.earliestExpectedEvictionMs as number);
    expect(result.rejoinedAfterMs).toBeGreaterThanOrEqual(0);
    expect(result.lost).toBe(0);
    expect(result.passed).toBe(true);
  }, 90_000);
});
