/**
 * What watching costs the brokers, and how often the page updates:
 *   npx -y pnpm@10 --filter @remoting-ts/broker-demo run measure-view [rounds] [phaseSeconds] [idle]
 * One 3-broker cluster with a producer at acks=all (the view's own, about 50
 * records/s), or none with `idle`, where the view's requests are all the
 * brokers serve. Phases alternate in the same run: the page closed (no SSE
 * client, so the view server asks the brokers nothing) and the page open in
 * headless Chromium. CPU is read from /proc/PID/stat of the processes the
 * cluster started; the update rate is counted by the page itself.
 */
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { chromium } from 'playwright-core';
import { LocalCluster } from '../cluster/local-cluster.js';
import { Acks } from '../protocol/codes.js';
import { DEMO_TIMINGS } from '../scenarios/scenario-kit.js';
import { sleep } from '../util/time.js';
import { readProcessStat } from './process-state.js';
import { ViewProducer } from './view-producer.js';
import { ViewServer } from './view-server.js';

const CHROMIUM = '/usr/bin/chromium';
/** Linux's USER_HZ: /proc times are in 1/100 s on every common configuration. */
const TICKS_PER_SECOND = 100;

/** The page's own count of snapshots received (assets/view.js). */
const pageSnapshots = () =>
  (globalThis as unknown as { viewStats: { snapshots: number } }).viewStats.snapshots;

const rounds = Number(process.argv[2] ?? 3);
const phaseMs = Number(process.argv[3] ?? 10) * 1000;
const idle = process.argv[4] === 'idle';

function median(values: number[]): number {
  const s = [...values].sort((a, b) => a - b);
  const mid = Math.floor(s.length / 2);
  return s.length % 2 === 1 ? s[mid]! : (s[mid - 1]! + s[mid]!) / 2;
}

function ticks(pids: number[]): number {
  return pids.reduce((sum, pid) => sum + (readProcessStat(pid)?.cpuTicks ?? 0), 0);
}

if (!existsSync(CHROMIUM)) {
  console.error(`${CHROMIUM} is not installed (apt-get install chromium)`);
  process.exit(1);
}
const dir = mkdtempSync(path.join(os.tmpdir(), 'view-cost-'));
const cluster = await LocalCluster.start({
  ...DEMO_TIMINGS,
  brokers: 3,
  partitions: 1,
  replicationFactor: 3,
  minInsync: 2,
  dir,
});
const view = new ViewServer();
const producer = new ViewProducer(cluster.controllerAddress, 'load');
const browser = await chromium.launchPersistentContext(path.join(dir, 'profile'), {
  executablePath: CHROMIUM,
  headless: true,
  args: [
    '--headless',
    '--no-sandbox',
    '--disable-gpu',
    '--disable-quic',
    '--no-first-run',
    '--disable-background-networking',
    '--disable-component-update',
    '--disable-sync',
  ],
});
try {
  const url = await view.start();
  await view.attach(cluster, 'cost measurement');
  if (!idle) await producer.start(Acks.ALL);
  await sleep(3000);
  const brokerPids = cluster.processes().flatMap((p) => (p.role === 'broker' ? [p.pid] : []));
  const controllerPid = cluster.processes().find((p) => p.role === 'controller')!.pid;
  const closed: number[] = [];
  const open: number[] = [];
  const controllerClosed: number[] = [];
  const controllerOpen: number[] = [];
  const ownClosed: number[] = [];
  const ownOpen: number[] = [];
  const rates: number[] = [];
  const produced: number[] = [];
  for (let round = 0; round < rounds; round++) {
    for (const watching of [false, true]) {
      const page = watching ? await browser.newPage() : null;
      if (page !== null) {
        await page.goto(url);
        await page.waitForFunction(
          () => (globalThis as unknown as { viewStats: { snapshots: number } }).viewStats.snapshots > 5,
        );
      }
      const before = {
        brokers: ticks(brokerPids),
        controller: ticks([controllerPid]),
        own: process.cpuUsage(),
      };
      const acked = producer.view().acknowledged;
      const snapshots = await page?.evaluate(pageSnapshots);
      const t0 = performance.now();
      await sleep(phaseMs);
      const seconds = (performance.now() - t0) / 1000;
      const brokerPct = ((ticks(brokerPids) - before.brokers) / TICKS_PER_SECOND / seconds) * 100;
      const controllerPct = ((ticks([controllerPid]) - before.controller) / TICKS_PER_SECOND / seconds) * 100;
      const own = process.cpuUsage(before.own);
      const ownPct = ((own.user + own.system) / 1e6 / seconds) * 100;
      produced.push((producer.view().acknowledged - acked) / seconds);
      if (page !== null) {
        const after = await page.evaluate(pageSnapshots);
        rates.push((after - snapshots!) / seconds);
        await page.close();
        open.push(brokerPct);
        controllerOpen.push(controllerPct);
        ownOpen.push(ownPct);
      } else {
        closed.push(brokerPct);
        controllerClosed.push(controllerPct);
        ownClosed.push(ownPct);
      }
      console.log(
        `round ${round + 1} page ${watching ? 'open  ' : 'closed'}: brokers ${brokerPct.toFixed(1)} % of a core (sum of 3), ` +
          `controller ${controllerPct.toFixed(1)} %, view process ${ownPct.toFixed(1)} %` +
          (watching ? `, ${rates.at(-1)!.toFixed(1)} updates/s` : ''),
      );
      // Let the SSE close and the sampling loop stop before the next phase.
      await sleep(500);
    }
  }
  const m = (xs: number[]) => median(xs).toFixed(1);
  console.log(
    `\nmedians of ${rounds} rounds of ${phaseMs / 1000} s, ` +
      `${idle ? 'no producer' : `producer at acks=all ~${m(produced)} records/s`}:\n` +
      `  page updates/s: ${m(rates)}\n` +
      `  brokers (sum of 3): closed ${m(closed)} %, open ${m(open)} % of a core; ratio open/closed ${(median(open) / median(closed)).toFixed(2)}\n` +
      `  controller: closed ${m(controllerClosed)} %, open ${m(controllerOpen)} %\n` +
      `  view server (this process; with the producer, its cost too): closed ${m(ownClosed)} %, open ${m(ownOpen)} %`,
  );
} finally {
  await browser.close();
  await producer.stop();
  await view.close();
  await cluster.stop();
  rmSync(dir, { recursive: true, force: true });
}
