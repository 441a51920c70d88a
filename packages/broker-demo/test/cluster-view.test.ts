import { type ChildProcess, spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { createServer, request, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { type BrowserContext, chromium, type Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import type { ClusterStateFile } from '../src/cluster/local-cluster.js';
import { PACKAGE_DIR } from '../src/cluster/spawn-node.js';
import { waitFor } from '../src/util/time.js';
import { readProcessStat } from '../src/view/process-state.js';

/*
 * The live cluster view of `pnpm broker cluster`, in headless Debian Chromium
 * (through playwright-core), against a real 3-broker cluster: the page shows
 * the replicas, and its controls really stop, continue and kill brokers, and
 * refuse requests from anywhere but the page.
 */

const CHROMIUM = '/usr/bin/chromium';
const hasChromium = existsSync(CHROMIUM);
if (!hasChromium)
  console.warn(
    `cluster-view: skipped: ${CHROMIUM} is not installed (apt-get install chromium; .ci/run installs it)`,
  );

const CHROMIUM_ARGS = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
];
const LAG_TIME_MAX_MS = 1500;
const PARTITION = '[data-partition="view-0"]';

let dir: string;
let cluster: ChildProcess;
let output = '';
let viewUrl: string;
let context: BrowserContext;
let page: Page;

function state(): ClusterStateFile {
  return JSON.parse(readFileSync(path.join(dir, 'cluster.json'), 'utf8')) as ClusterStateFile;
}

function pidOf(brokerId: number): number {
  return state().brokers.find((b) => b.brokerId === brokerId)!.pid;
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

/** The processes `pid` started that are still running (from /proc/PID/task/TID/children). */
function livingChildren(pid: number): number[] {
  const children = readdirSync(`/proc/${pid}/task`).flatMap((tid) =>
    readFileSync(`/proc/${pid}/task/${tid}/children`, 'utf8').split(' ').filter(Boolean).map(Number),
  );
  return children.filter((child) => {
    const stat = readProcessStat(child);
    return stat !== null && stat.state !== 'exited';
  });
}

async function partitionFacts() {
  const card = page.locator(PARTITION);
  const [leader, epoch, isr, hwLine] = await Promise.all([
    card.getAttribute('data-leader'),
    card.getAttribute('data-epoch'),
    card.getAttribute('data-isr'),
    card
      .locator('[data-hw-line]')
      .getAttribute('data-hw-line', { timeout: 1000 })
      .catch(() => null),
  ]);
  const replicas = await card.locator('[data-replica]').evaluateAll((groups) =>
    groups.map((g) => ({
      brokerId: Number(g.getAttribute('data-replica')),
      leo: g.getAttribute('data-leo'),
      hw: g.getAttribute('data-hw'),
      inIsr: g.getAttribute('data-in-isr') === 'true',
    })),
  );
  return {
    leader: Number(leader),
    epoch: Number(epoch),
    isr: (isr ?? '').split(',').filter(Boolean).map(Number),
    replicas,
    hwLine,
  };
}

/** Waits until the page's card for view-0 satisfies `ok`. */
function waitForCard(
  what: string,
  ok: (facts: Awaited<ReturnType<typeof partitionFacts>>) => boolean,
  timeoutMs: number,
) {
  return waitFor(
    what,
    async () => {
      const facts = await partitionFacts();
      return ok(facts) ? facts : undefined;
    },
    timeoutMs,
    50,
  );
}

/** The page's timeline lines about control requests that reached a broker. */
function controlLines() {
  return page.locator('#timeline li[data-kind="control"]').allTextContents();
}

async function control(brokerId: number, what: 'SIGSTOP' | 'SIGCONT' | 'SIGKILL' | 'restart') {
  await page.click(`#brokers button[data-broker="${brokerId}"][data-control="${what}"]`);
}

/** A POST to the view server from this test process, with any headers, and its status. */
function post(pathname: string, headers: Record<string, string>, body: string): Promise<number> {
  const url = new URL(pathname, viewUrl);
  return new Promise((resolve, reject) => {
    const req = request(url, { method: 'POST', headers }, (res) => {
      res.resume();
      resolve(res.statusCode ?? 0);
    });
    req.on('error', reject);
    req.end(body);
  });
}

describe.skipIf(!hasChromium)(`the live view in headless Chromium (${CHROMIUM})`, () => {
  beforeAll(async () => {
    dir = mkdtempSync(path.join(os.tmpdir(), 'broker-view-test-'));
    cluster = spawn(
      process.execPath,
      [
        '--import',
        'tsx',
        path.join(PACKAGE_DIR, 'src/cli/main.ts'),
        'cluster',
        '--brokers',
        '3',
        '--partitions',
        '1',
        '--replication-factor',
        '3',
        '--min-insync',
        '2',
        '--lag-time-ms',
        String(LAG_TIME_MAX_MS),
        '--session-timeout-ms',
        '3000',
        '--dir',
        dir,
      ],
      { cwd: PACKAGE_DIR, stdio: ['ignore', 'pipe', 'pipe'] },
    );
    cluster.stdout?.on('data', (chunk: Buffer) => {
      output += chunk.toString();
    });
    viewUrl = await waitFor(
      'the cluster to print its view URL',
      () => /^view\s+(http:\/\/127\.0\.0\.1:\d+\/)/m.exec(output)?.[1],
      30_000,
    );
    context = await chromium.launchPersistentContext(path.join(dir, 'chromium-profile'), {
      executablePath: CHROMIUM,
      headless: true,
      args: CHROMIUM_ARGS,
      viewport: { width: 1400, height: 900 },
    });
    page = context.pages()[0] ?? (await context.newPage());
    await page.goto(viewUrl);
  }, 60_000);

  afterAll(async () => {
    await context?.close();
    // Whatever happened in the tests, nothing this file started survives it.
    const pids = existsSync(path.join(dir, 'cluster.json'))
      ? [state().controller!.pid, ...state().brokers.map((b) => b.pid)]
      : [];
    if (cluster.exitCode === null) {
      const exited = new Promise<void>((resolve) => cluster.once('exit', () => resolve()));
      cluster.kill('SIGINT');
      await Promise.race([exited, new Promise((r) => setTimeout(r, 10_000))]);
      if (cluster.exitCode === null) cluster.kill('SIGKILL');
    }
    for (const pid of pids) if (alive(pid)) process.kill(pid, 'SIGKILL');
    rmSync(dir, { recursive: true, force: true });
  }, 30_000);

  test('the page loads and shows 3 replicas with matching LEO and HW', async () => {
    expect(output).toMatch(/^view\s+http:\/\/127\.0\.0\.1:\d+\/ /m);
    await page.waitForSelector('#connection[data-state="live"]');
    await page.selectOption('#producer-acks', 'all');
    await page.click('#producer-start');
    await page.waitForSelector(`${PARTITION} [data-hw-line]`, { state: 'attached', timeout: 20_000 });
    await waitForCard('an HW of 20 or more', (f) => Number(f.hwLine) >= 20, 20_000);
    await page.click('#producer-stop');
    await page.waitForSelector('#producer-status[data-running="false"]');
    const settled = await waitFor(
      'three replicas with one LEO, equal to the HW',
      async () => {
        const f = await partitionFacts();
        const leos = new Set(f.replicas.map((r) => r.leo));
        const hws = new Set(f.replicas.map((r) => r.hw));
        return f.replicas.length === 3 && leos.size === 1 && hws.size === 1 && f.hwLine === [...leos][0]
          ? f
          : undefined;
      },
      10_000,
    );
    expect(Number(settled.hwLine)).toBeGreaterThanOrEqual(20);
    expect(settled.isr.sort()).toEqual([1, 2, 3]);
    expect(settled.replicas.every((r) => r.inIsr)).toBe(true);
  }, 60_000);

  test('a follower SIGSTOPped from the page leaves the ISR within replica.lag.time.max.ms + 2 s, and rejoins after SIGCONT', async () => {
    const { leader } = await partitionFacts();
    const follower = [1, 2, 3].find((id) => id !== leader)!;
    await page.selectOption('#producer-acks', '1');
    await page.click('#producer-start');
    await page.waitForSelector('#producer-status[data-running="true"]');
    await page.waitForTimeout(500);

    await control(follower, 'SIGSTOP');
    // When the view server sent the signal, by its own timeline (same machine clock as this process).
    const sentAt = Number(
      await page
        .locator(`#timeline li[data-kind="control"]`, { hasText: `SIGSTOP sent to broker ${follower}` })
        .getAttribute('data-at-ms'),
    );
    await page.waitForSelector(`${PARTITION} [data-replica="${follower}"][data-in-isr="false"]`, {
      state: 'attached',
      timeout: 30_000,
    });
    // When the controller shrank the ISR, by its own clock (the page dates the event by it, not by
    // when it saw it): the follower's lag time plus the leader's next ISR check and one round trip.
    const shrink = page.locator('#timeline li[data-kind="isr-shrink"]').first();
    await shrink.waitFor({ state: 'attached' });
    const leftAfterMs = Number(await shrink.getAttribute('data-at-ms')) - sentAt;
    const timeline = await page.locator('#timeline li').allTextContents();
    console.log(
      `cluster-view: follower ${follower} out of the ISR ${leftAfterMs} ms after the SIGSTOP; ` +
        `the page's timeline says:\n  ${timeline.slice(0, 4).reverse().join('\n  ')}`,
    );
    expect(leftAfterMs).toBeGreaterThan(0);
    expect(leftAfterMs).toBeLessThanOrEqual(LAG_TIME_MAX_MS + 2000);
    expect(readProcessStat(pidOf(follower))?.state).toBe('stopped');
    await page.waitForSelector(`#brokers tr[data-broker="${follower}"][data-process="stopped"]`);

    const shot = path.join(
      mkdtempSync(path.join(os.tmpdir(), 'broker-view-screenshot-')),
      'cluster-view.png',
    );
    await page.screenshot({ path: shot, fullPage: true });
    console.log(`cluster-view: screenshot of the page with follower ${follower} out of the ISR: ${shot}`);
    expect(existsSync(shot)).toBe(true);

    await control(follower, 'SIGCONT');
    await page.waitForSelector(`${PARTITION} [data-replica="${follower}"][data-in-isr="true"]`, {
      state: 'attached',
      timeout: 20_000,
    });
    await page.waitForSelector(`#timeline li[data-kind="isr-expand"]`);
    expect(readProcessStat(pidOf(follower))?.state).toBe('running');
  }, 60_000);

  test('a SIGKILLed leader shows an election and an epoch bump; restart brings it back', async () => {
    const before = await partitionFacts();
    const oldPid = pidOf(before.leader);
    await control(before.leader, 'SIGKILL');
    await page.waitForSelector(`#brokers tr[data-broker="${before.leader}"][data-process="exited"]`);
    // The page may see the zombie (state Z) a moment before the cluster process reaps it.
    await waitFor(`pid ${oldPid} to be gone`, () => (alive(oldPid) ? undefined : true), 5000, 50);
    await waitForCard(
      `a leader other than ${before.leader} in an epoch above ${before.epoch}`,
      (f) => f.leader >= 0 && f.leader !== before.leader && f.epoch > before.epoch,
      20_000,
    );
    await page.waitForSelector('#timeline li[data-kind="election"][data-clean="true"]');
    await page.waitForSelector('#timeline li[data-kind="epoch-bump"]');
    const after = await partitionFacts();
    expect(after.epoch).toBeGreaterThan(before.epoch);

    // A double click: the second restart finds the broker running and is refused, so one process is started.
    await page.dblclick(`#brokers button[data-broker="${before.leader}"][data-control="restart"]`);
    await page.waitForSelector('#control-error:has-text("409")');
    await page.waitForSelector(`#brokers tr[data-broker="${before.leader}"][data-process="running"]`, {
      timeout: 20_000,
    });
    expect(pidOf(before.leader)).not.toBe(oldPid);
    // The controller and three brokers (each started from its bundle), no extra.
    const children = livingChildren(cluster.pid!).map((pid) => ({
      pid,
      argv: readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0'),
      state: readProcessStat(pid)?.state,
    }));
    const nodes = children
      .filter((c) =>
        c.argv.some((arg) => /\/broker-demo-children\/(controller|broker)-main-\w+\/main\.mjs$/.test(arg)),
      )
      .map((c) => c.argv);
    expect(nodes, JSON.stringify(children)).toHaveLength(4);
    expect(nodes.filter((argv) => argv.join(' ').includes(` --id ${before.leader} `))).toHaveLength(1);
    await page.waitForSelector(`${PARTITION} [data-replica="${before.leader}"][data-in-isr="true"]`, {
      state: 'attached',
      timeout: 20_000,
    });
    await page.click('#producer-stop');
  }, 60_000);

  test('a POST without the token, from another origin, or malformed, is refused and changes nothing', async () => {
    const { leader, isr } = await partitionFacts();
    const target = [1, 2, 3].find((id) => id !== leader)!;
    const pid = pidOf(target);
    const token = await page.locator('meta[name="view-token"]').getAttribute('content');
    expect(token).toMatch(/^[\w-]{20,}$/);
    const origin = new URL(viewUrl).origin;
    const stop = JSON.stringify({ signal: 'SIGSTOP' });
    const sentBefore = (await controlLines()).filter((t) => t.includes(`sent to broker ${target}`)).length;
    const json = { 'content-type': 'application/json' };
    const signalPath = `/api/brokers/${target}/signal`;

    expect(await post(signalPath, { ...json, origin }, stop)).toBe(403);
    expect(await post(signalPath, { ...json, origin, 'x-view-token': 'x'.repeat(token!.length) }, stop)).toBe(
      403,
    );
    expect(
      await post(signalPath, { ...json, origin: 'http://127.0.0.1:1', 'x-view-token': token! }, stop),
    ).toBe(403);
    expect(await post(signalPath, { ...json, 'x-view-token': token! }, stop)).toBe(403);
    expect(
      await post(
        signalPath,
        { ...json, origin, 'x-view-token': token!, 'sec-fetch-site': 'cross-site' },
        stop,
      ),
    ).toBe(403);
    expect(
      await post(signalPath, { 'content-type': 'text/plain', origin, 'x-view-token': token! }, stop),
    ).toBe(415);
    expect(await post(signalPath, { ...json, origin, 'x-view-token': token! }, '{"signal":')).toBe(400);
    expect(await post(signalPath, { ...json, origin, 'x-view-token': token! }, '{"signal":"SIGSEGV"}')).toBe(
      400,
    );
    expect(await post('/api/brokers/9/signal', { ...json, origin, 'x-view-token': token! }, stop)).toBe(404);
    expect(
      await post(signalPath, { ...json, origin, 'x-view-token': token!, host: 'evil.example' }, stop),
    ).toBe(421);
    expect(
      await post(`/api/brokers/${target}/restart`, { ...json, origin, 'x-view-token': token! }, '{}'),
    ).toBe(409);

    // A real page on another origin, even one that knows the token: the
    // browser's preflight is refused, and a no-cors POST is refused on Origin.
    const other: Server = createServer((_req, res) => {
      res.writeHead(200, { 'content-type': 'text/html' });
      res.end('<!doctype html><title>elsewhere</title>');
    });
    await new Promise<void>((resolve) => other.listen(0, '127.0.0.1', resolve));
    try {
      const attacker = await context.newPage();
      await attacker.goto(`http://127.0.0.1:${(other.address() as AddressInfo).port}/`);
      const outcome = await attacker.evaluate(
        async ({ url, token }) => {
          const results: string[] = [];
          try {
            const r = await fetch(url, {
              method: 'POST',
              headers: { 'content-type': 'application/json', 'x-view-token': token },
              body: '{"signal":"SIGSTOP"}',
            });
            results.push(`cors ${r.status}`);
          } catch (err) {
            results.push(`cors refused: ${String(err)}`);
          }
          const r = await fetch(url, { method: 'POST', mode: 'no-cors', body: '{"signal":"SIGSTOP"}' });
          results.push(`no-cors ${r.type}`);
          return results;
        },
        { url: new URL(signalPath, viewUrl).href, token: token! },
      );
      expect(outcome[0]).toMatch(/^cors refused/);
      expect(outcome[1]).toBe('no-cors opaque');
      await attacker.close();
    } finally {
      other.close();
    }

    // Nothing changed: the broker runs, the page shows it running and the ISR as it was.
    await page.waitForTimeout(LAG_TIME_MAX_MS + 500);
    expect(readProcessStat(pid)?.state).toBe('running');
    expect(pidOf(target)).toBe(pid);
    await page.waitForSelector(`#brokers tr[data-broker="${target}"][data-process="running"]`);
    expect((await partitionFacts()).isr.sort()).toEqual(isr.sort());
    const sentAfter = (await controlLines()).filter((t) => t.includes(`sent to broker ${target}`)).length;
    expect(sentAfter).toBe(sentBefore);
  }, 60_000);
});
