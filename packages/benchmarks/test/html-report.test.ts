/**
 * The HTML report renders in a real browser (Debian's chromium through
 * playwright-core) with no network, and the charts hold the figures. Where
 * /usr/bin/chromium is absent the test reports itself skipped and says why;
 * it never downloads a browser.
 */
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { chromium } from 'playwright-core';
import { describe, expect, test } from 'vitest';
import { renderHtml } from '../src/report/html.js';
import { fixtureReport } from './support/fixture-report.js';

const CHROMIUM = '/usr/bin/chromium';
const hasChromium = existsSync(CHROMIUM);
if (!hasChromium) {
  console.warn(
    `html-report: skipped: ${CHROMIUM} is not installed (apt-get install chromium; .ci/run installs it)`,
  );
}

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

test('the report is one file with no external reference', () => {
  const html = renderHtml(fixtureReport());
  expect(html).not.toMatch(/<script|<link|src=|@import|url\(/i);
  expect(html).toContain("default-src 'none'");
  // Markup in a figure (here the CPU name) is escaped, never interpreted.
  expect(html).toContain('Test CPU &#60;with markup &#38; quotes&#34;&#62;');
});

test('a quick run says its goals are indicative, and a miss there is not shown as a red failure', () => {
  const html = renderHtml(fixtureReport());
  expect(html).toContain('<p id="goals-indicative">quick run:');
  expect(html).toMatch(/<tr class="goal-missed goal-indicative">.*<td>missed \(indicative\)<\/td><\/tr>/);
});

test('a not-steady row is marked in the table of figures, with the reason', () => {
  const html = renderHtml(fixtureReport());
  const rows = html.split('\n').filter((line) => line.includes('class="not-steady"'));
  expect(rows).toHaveLength(1);
  expect(rows[0]).toContain('data-impl="grpc-js"');
  expect(rows[0]).toContain('not steady: its warm-up hit its limit (0.1 s) with 0.9 calls per caller');
});

describe.skipIf(!hasChromium)(`in headless Chromium (${CHROMIUM})`, () => {
  test('draws the throughput and latency charts and the table of figures', async () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'bench-html-'));
    const file = path.join(dir, 'report.html');
    writeFileSync(file, renderHtml(fixtureReport()));
    const context = await chromium.launchPersistentContext(path.join(dir, 'profile'), {
      executablePath: CHROMIUM,
      headless: true,
      args: CHROMIUM_ARGS,
    });
    try {
      const page = context.pages()[0] ?? (await context.newPage());
      const requests: string[] = [];
      page.on('request', (request) => requests.push(request.url()));
      await page.goto(pathToFileURL(file).href);

      const throughput = page.locator('svg[data-chart="throughput-vs-inflight"]');
      await expect(throughput.count()).resolves.toBe(1);
      const box = await throughput.boundingBox();
      expect(box?.width).toBeGreaterThan(100);
      expect(box?.height).toBeGreaterThan(100);
      // One line per implementation and serialization, a point per in-flight level.
      const series = await throughput
        .locator('path[data-series]:not(.error-bar)')
        .evaluateAll((paths) => paths.map((p) => p.getAttribute('data-series')));
      expect(series.sort()).toEqual(['grpc-js', 'raw-net', 'remoting-ts (JSON)', 'remoting-ts (ROCKETMQ)']);
      const rawPoints = await throughput
        .locator('circle[data-series="raw-net"]')
        .evaluateAll((circles) =>
          circles.map((c) => [c.getAttribute('data-inflight'), c.getAttribute('data-req-per-sec')]),
        );
      expect(rawPoints).toEqual([
        ['1', '30000'],
        ['16', '480000'],
        ['256', '600000'],
      ]);

      const latency = page.locator('svg[data-chart="latency-percentiles"][data-mode="sync"]');
      await expect(latency.count()).resolves.toBe(1);
      const bars = await latency.locator('rect[data-percentile]').evaluateAll((rects) =>
        rects.map((r) => ({
          series: r.getAttribute('data-series'),
          percentile: r.getAttribute('data-percentile'),
          height: r.getBoundingClientRect().height,
        })),
      );
      expect(bars).toHaveLength(4 * 3);
      for (const bar of bars) expect(bar.height).toBeGreaterThan(0);
      const raw = bars.filter((b) => b.series === 'raw-net');
      expect(raw.map((b) => b.percentile)).toEqual(['p50', 'p99', 'p99.9']);
      // Log scale, but still ordered: p50 < p99 < p99.9.
      expect(raw[0]!.height).toBeLessThan(raw[1]!.height);
      expect(raw[1]!.height).toBeLessThan(raw[2]!.height);

      // Every chart says which way is better.
      const charts = await page
        .locator('svg.chart')
        .evaluateAll((svgs) =>
          svgs.map((svg) => [
            svg.getAttribute('data-chart'),
            svg.getAttribute('data-better'),
            svg.textContent,
          ]),
        );
      const expectedBetter: Record<string, string> = {
        'throughput-vs-inflight': 'higher',
        'latency-percentiles': 'lower',
        oneway: 'higher',
        'cpu-per-op': 'lower',
      };
      for (const [chart, better, text] of charts) {
        expect(better).toBe(expectedBetter[chart!]);
        expect(text).toContain(`${better} is better`);
      }

      // Runs' min–max as error bars: raw-net at 256 in flight ran 540k–660k.
      const rawBar = await throughput
        .locator('path.error-bar[data-series="raw-net"]')
        .evaluateAll((paths) => paths.map((p) => [p.getAttribute('data-min'), p.getAttribute('data-max')]));
      expect(rawBar).toContainEqual(['540000', '660000']);

      // A oneway chart and a CPU chart, with their figures.
      const oneway = page.locator('svg[data-chart="oneway"]');
      await expect(oneway.count()).resolves.toBe(1);
      const onewayRates = await oneway
        .locator('rect[data-msgs-per-sec]')
        .evaluateAll((rects) =>
          rects.map((r) => [r.getAttribute('data-series'), r.getAttribute('data-msgs-per-sec')]),
        );
      expect(onewayRates).toContainEqual(['raw-net', '1000000']);
      expect(onewayRates).toHaveLength(3);
      const cpu = page.locator('svg[data-chart="cpu-per-op"][data-mode="sync"]');
      await expect(cpu.count()).resolves.toBe(1);
      const cpuBars = await cpu
        .locator('rect[data-process]')
        .evaluateAll((rects) =>
          rects.map((r) => [r.getAttribute('data-process'), r.getAttribute('data-cpu-us-per-op')]),
        );
      expect(cpuBars).toContainEqual(['client', '2']);
      expect(cpuBars).toContainEqual(['server', '1']);
      // Log scale: gRPC's 40-80 µs and the others' 1-2 µs are all readable bars, none a sliver.
      const cpuHeights = await cpu
        .locator('rect[data-process]')
        .evaluateAll((rects) => rects.map((r) => r.getBoundingClientRect().height));
      expect(cpuHeights).toHaveLength(4 * 2);
      expect(Math.min(...cpuHeights)).toBeGreaterThan(0.2 * Math.max(...cpuHeights));

      // Charts take the page's width: a wide window gets wider charts (a lone chart, the whole row).
      await page.setViewportSize({ width: 800, height: 900 });
      const narrow = (await throughput.boundingBox())!.width;
      await page.setViewportSize({ width: 2400, height: 900 });
      const wide = (await throughput.boundingBox())!.width;
      expect(wide).toBeGreaterThan(narrow * 1.2);
      expect(wide).toBeGreaterThan(2000);

      await expect(page.locator('#figures tbody tr').count()).resolves.toBe(fixtureReport().results.length);
      expect(requests.filter((url) => !url.startsWith('file:'))).toEqual([]);
    } finally {
      await context.close();
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
