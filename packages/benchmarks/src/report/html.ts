/**
 * The HTML report: one self-contained file (inline CSS and SVG, no script,
 * a CSP that forbids any fetch), readable offline and attachable to an issue.
 */
import { writeFile } from 'node:fs/promises';
import { formatBytes, formatCompact, formatInteger, formatMicros, formatRatio } from '../format.js';
import { medianOrNull, spread } from '../stats.js';
import { notSteadyReason } from '../steadiness.js';
import { describeJavaSyncReference } from '../suites/invoke-reference.js';
import type { BenchReport, BenchResult, RunSample } from '../types.js';
import { brokerHtmlSection } from './broker-html.js';
import { formatAllocation, formatCpuPerOp, seriesName, throughputRatio, workerScaling } from './compare.js';
import { INDICATIVE_NOTE, verdictText } from './goals.js';
import { barChart, escapeXml, lineChart } from './svg.js';
import { describeWarmup, summarizeSkipped } from './table.js';

const SERIES_COLORS: Record<string, string> = {
  'raw-net': '#4e79a7',
  'grpc-js': '#f28e2b',
  'remoting-ts (JSON)': '#59a14f',
  'remoting-ts (ROCKETMQ)': '#e15759',
  'remoting-ts-blocking (ROCKETMQ)': '#ff9da7',
};
const PERCENTILE_COLORS = { p50: '#76b7b2', p99: '#edc948', 'p99.9': '#b07aa1' };
const CPU_COLORS = { client: '#9c755f', server: '#bab0ac' };

function colorOf(name: string): string {
  return SERIES_COLORS[name] ?? '#9c755f';
}

function invokeResults(report: BenchReport): BenchResult[] {
  return report.results.filter((r) => r.suite === 'invoke');
}

/** Distinct values in first-seen order. */
function distinct<T>(values: T[]): T[] {
  return [...new Set(values)];
}

/** The lowest and highest run of a figure, for error bars; nothing when fewer than two runs have it. */
function runRange(
  result: BenchResult,
  figure: (run: RunSample) => number | null | undefined,
): { min?: number; max?: number } {
  const values = result.runs
    .map(figure)
    .filter((v): v is number => typeof v === 'number' && Number.isFinite(v));
  if (values.length < 2) return {};
  return { min: Math.min(...values), max: Math.max(...values) };
}

function shapeKey(r: BenchResult): string {
  return `${r.mode}|${r.bodyBytes}|${r.inflight}|${r.connections}`;
}

function shapeTitle(r: BenchResult): string {
  const what = r.mode === 'async' ? `async ×${r.inflight}` : r.mode;
  return `${what}, ${formatBytes(r.bodyBytes)} body, ${r.connections} connection${r.connections === 1 ? '' : 's'}`;
}

/** Delivered oneway messages per second, one chart per oneway shape. */
function onewayCharts(report: BenchReport): string[] {
  const oneway = invokeResults(report).filter((r) => r.mode === 'oneway');
  return distinct(oneway.map(shapeKey)).map((key) => {
    const group = oneway.filter((r) => shapeKey(r) === key);
    const first = group[0]!;
    return barChart({
      title: `Oneway: ${shapeTitle(first)}`,
      yLabel: 'messages received/s (median; bars: min–max of runs)',
      better: 'higher',
      scale: 'linear',
      data: {
        'data-chart': 'oneway',
        'data-body-bytes': first.bodyBytes,
        'data-connections': first.connections ?? 0,
      },
      colors: { 'msgs/s': '#4e79a7' },
      groups: group.map((r) => ({
        name: seriesName(r),
        bars: [
          {
            label: 'msgs/s',
            value: r.reqPerSec,
            ...runRange(r, (run) => run.reqPerSec),
            data: { 'data-msgs-per-sec': Math.round(r.reqPerSec) },
          },
        ],
      })),
    });
  });
}

/**
 * CPU time per operation of the client and the server process: steadier than a
 * rate on a shared machine. Shapes as the latency charts, plus oneway. Log
 * scale: gRPC spends tens of times the CPU per call of the others, and on a
 * linear axis their bars were a pixel high.
 */
function cpuCharts(report: BenchReport): string[] {
  const measured = invokeResults(report).filter(
    (r) =>
      (r.mode !== 'async' || r.inflight === 256) &&
      r.runs.some((run) => typeof run.clientCpuUsPerOp === 'number'),
  );
  return distinct(measured.map(shapeKey)).map((key) => {
    const group = measured.filter((r) => shapeKey(r) === key);
    const first = group[0]!;
    const side = (r: BenchResult, label: 'client' | 'server') => {
      const figure = (run: RunSample) =>
        (label === 'client' ? run.clientCpuUsPerOp : run.serverCpuUsPerOp) ?? null;
      const value = medianOrNull(r.runs.map(figure)) ?? 0;
      return {
        label,
        value,
        ...runRange(r, figure),
        data: { 'data-process': label, 'data-cpu-us-per-op': +value.toPrecision(4) },
      };
    };
    return barChart({
      title: `CPU per operation: ${shapeTitle(first)}`,
      yLabel: 'CPU µs per operation (log scale; median, bars: min–max of runs)',
      better: 'lower',
      scale: 'log',
      data: {
        'data-chart': 'cpu-per-op',
        'data-mode': first.mode,
        'data-body-bytes': first.bodyBytes,
        'data-inflight': first.inflight ?? 0,
        'data-connections': first.connections ?? 0,
      },
      colors: CPU_COLORS,
      groups: group.map((r) => ({ name: seriesName(r), bars: [side(r, 'client'), side(r, 'server')] })),
    });
  });
}

/** One chart per body size and connection count that has async results at two or more in-flight levels. */
function throughputCharts(report: BenchReport): string[] {
  const asyncResults = invokeResults(report).filter((r) => r.mode === 'async');
  const charts: string[] = [];
  for (const connections of distinct(asyncResults.map((r) => r.connections))) {
    for (const bodyBytes of distinct(asyncResults.map((r) => r.bodyBytes)).sort((a, b) => a - b)) {
      const group = asyncResults.filter((r) => r.connections === connections && r.bodyBytes === bodyBytes);
      if (distinct(group.map((r) => r.inflight)).length < 2) continue;
      const names = distinct(group.map(seriesName));
      charts.push(
        lineChart({
          title: `Throughput vs in flight: async, ${formatBytes(bodyBytes)} body, ${connections} connection${connections === 1 ? '' : 's'}`,
          xLabel: 'requests in flight (log scale)',
          yLabel: 'requests/s (median; bars: min–max of runs)',
          better: 'higher',
          data: {
            'data-chart': 'throughput-vs-inflight',
            'data-body-bytes': bodyBytes,
            'data-connections': connections ?? 0,
          },
          series: names.map((name) => ({
            name,
            color: colorOf(name),
            points: group
              .filter((r) => seriesName(r) === name)
              .map((r) => ({
                x: r.inflight ?? 1,
                y: r.reqPerSec,
                ...runRange(r, (run) => run.reqPerSec),
                data: { 'data-inflight': r.inflight ?? 0, 'data-req-per-sec': Math.round(r.reqPerSec) },
              })),
          })),
        }),
      );
    }
  }
  return charts;
}

/** Latency percentiles per implementation: every sync shape, and async shapes at 256 in flight (latency under load). */
function latencyCharts(report: BenchReport): string[] {
  const withLatency = invokeResults(report).filter(
    (r) => r.p50us !== null && (r.mode === 'sync' || r.inflight === 256),
  );
  const shapes = distinct(withLatency.map((r) => `${r.mode}|${r.bodyBytes}|${r.inflight}|${r.connections}`));
  return shapes.map((shape) => {
    const group = withLatency.filter(
      (r) => `${r.mode}|${r.bodyBytes}|${r.inflight}|${r.connections}` === shape,
    );
    const first = group[0]!;
    const what = first.mode === 'sync' ? 'sync' : `async ×${first.inflight}`;
    return barChart({
      title: `Latency percentiles: ${what}, ${formatBytes(first.bodyBytes)} body, ${first.connections} connection${first.connections === 1 ? '' : 's'}`,
      yLabel: 'µs (log scale; bars: min–max of runs)',
      better: 'lower',
      scale: 'log',
      data: {
        'data-chart': 'latency-percentiles',
        'data-mode': first.mode,
        'data-body-bytes': first.bodyBytes,
        'data-inflight': first.inflight ?? 0,
        'data-connections': first.connections ?? 0,
      },
      colors: PERCENTILE_COLORS,
      groups: group.map((r) => ({
        name: seriesName(r),
        bars: (
          [
            ['p50', r.p50us, (run: RunSample) => run.p50us],
            ['p99', r.p99us, (run: RunSample) => run.p99us],
            ['p99.9', r.p999us, (run: RunSample) => run.p999us],
          ] as const
        ).map(([label, value, figure]) => ({
          label,
          value: value ?? 0,
          ...runRange(r, figure),
          data: { 'data-percentile': label, 'data-us': value ?? 0 },
        })),
      })),
    });
  });
}

function cell(text: string, numeric = false): string {
  return `<td${numeric ? ' class="num"' : ''}>${escapeXml(text)}</td>`;
}

function figuresTable(report: BenchReport): string {
  const header = [
    'suite',
    'mode',
    'body',
    'in flight',
    'conns',
    'server workers',
    'chunks',
    'impl',
    'req/s',
    'min–max',
    'p50 µs',
    'p99 µs',
    'p99.9 µs',
    'vs raw-net',
    'vs grpc-js',
    'cpu µs/op (client / server)',
    'client heap/op / gc share',
    'errors',
    'note',
  ];
  const rows = report.results.map((r) => {
    const s = spread(r.runs.map((run) => run.reqPerSec));
    const errors = r.runs.reduce((sum, run) => sum + run.errors, 0);
    const steady = notSteadyReason(r) === null;
    return `<tr data-impl="${escapeXml(r.impl)}"${steady ? '' : ' class="not-steady"'}>${[
      cell(r.suite),
      cell(r.mode),
      cell(formatBytes(r.bodyBytes), true),
      cell(String(r.inflight ?? ''), true),
      cell(String(r.connections ?? ''), true),
      cell(String(r.serverWorkers ?? ''), true),
      cell(r.chunkBytes === undefined ? '' : formatBytes(r.chunkBytes), true),
      cell(seriesName(r)),
      cell(formatInteger(r.reqPerSec), true),
      cell(`${formatCompact(s.min)}–${formatCompact(s.max)}`, true),
      cell(formatMicros(r.p50us), true),
      cell(formatMicros(r.p99us), true),
      cell(formatMicros(r.p999us), true),
      cell(
        r.suite === 'invoke' || r.suite === 'cluster'
          ? formatRatio(throughputRatio(r, report.results, 'raw-net'))
          : '',
        true,
      ),
      cell(
        r.suite === 'invoke' && r.mode !== 'oneway'
          ? formatRatio(throughputRatio(r, report.results, 'grpc-js'))
          : '',
        true,
      ),
      cell(formatCpuPerOp(r), true),
      cell(formatAllocation(r), true),
      cell(errors === 0 ? '' : formatInteger(errors), true),
      cell(notSteadyReason(r) ?? ''),
    ].join('')}</tr>`;
  });
  return `<table id="figures"><thead><tr>${header.map((h) => `<th>${escapeXml(h)}</th>`).join('')}</tr></thead><tbody>\n${rows.join('\n')}\n</tbody></table>`;
}

/** The cluster suite's rows with their two ratios: against raw-net at the same worker count, and 2 over 1 workers. */
function clusterSection(report: BenchReport): string {
  const rows = report.results.filter((r) => r.suite === 'cluster');
  if (rows.length === 0) return '';
  const header = [
    'mode',
    'conns',
    'server workers',
    'impl',
    'req/s',
    'p50 µs',
    'vs raw-net',
    '2 / 1 workers',
    'cpu µs/op (client / server)',
  ];
  const body = rows.map(
    (r) =>
      `<tr data-impl="${escapeXml(r.impl)}" data-server-workers="${r.serverWorkers ?? ''}">${[
        cell(r.mode === 'async' ? `async ×${r.inflight}` : r.mode),
        cell(String(r.connections ?? ''), true),
        cell(String(r.serverWorkers ?? ''), true),
        cell(seriesName(r)),
        cell(formatInteger(r.reqPerSec), true),
        cell(formatMicros(r.p50us), true),
        cell(formatRatio(throughputRatio(r, report.results, 'raw-net')), true),
        cell(formatRatio(workerScaling(r, report.results)), true),
        cell(formatCpuPerOp(r), true),
      ].join('')}</tr>`,
  );
  return `<h2>Server workers (node:cluster)</h2><table id="cluster"><thead><tr>${header.map((h) => `<th>${escapeXml(h)}</th>`).join('')}</tr></thead><tbody>\n${body.join('\n')}\n</tbody></table>`;
}

function goalsSection(report: BenchReport): string {
  if (report.goals.length === 0) return '';
  const indicative = report.goals.some((g) => g.indicative === true);
  const rows = report.goals.map((g) => {
    const verdict = g.met === null ? 'n/a' : g.met ? 'met' : 'missed';
    const kind = g.indicative === true ? ' goal-indicative' : '';
    return `<tr class="goal-${verdict}${kind}">${cell(g.name)}${cell(g.target)}${cell(g.measured)}${cell(verdictText(g))}</tr>`;
  });
  const note = indicative ? `<p id="goals-indicative">${escapeXml(INDICATIVE_NOTE)}</p>` : '';
  return `<h2>Goals <small>(reported, not asserted${indicative ? '; indicative only' : ''})</small></h2>${note}<table id="goals"${indicative ? ' data-indicative="true"' : ''}><thead><tr><th>goal</th><th>target</th><th>measured</th><th>verdict</th></tr></thead><tbody>${rows.join('')}</tbody></table>`;
}

const STYLE = `
body { font: 14px/1.45 system-ui, sans-serif; margin: 24px; color: #222; }
h1 { font-size: 22px; } h2 { font-size: 18px; margin-top: 28px; }
table { border-collapse: collapse; font-size: 12px; }
th, td { border-bottom: 1px solid #ddd; padding: 3px 8px; text-align: left; }
td.num { text-align: right; font-variant-numeric: tabular-nums; }
.charts { display: grid; grid-template-columns: repeat(auto-fit, minmax(min(100%, 560px), 1fr)); gap: 16px; }
svg.chart { width: 100%; height: auto; background: #fff; border: 1px solid #e3e3e3; }
svg .chart-title { font-size: 13px; font-weight: 600; }
svg .chart-better { font-size: 11px; fill: #555; }
svg .tick, svg .legend { font-size: 11px; fill: #444; }
svg .axis-label { font-size: 11px; fill: #666; }
svg .grid { stroke: #eee; }
svg .error-bar { stroke-width: 1.5; fill: none; }
.goal-met td:last-child { color: #1a7f37; } .goal-missed td:last-child { color: #cf222e; font-weight: 600; }
.goal-indicative td:last-child { color: #6e7781; font-weight: normal; }
tr.not-steady td { color: #6e7781; } tr.not-steady td:last-child { color: #9a6700; }
`;

export function renderHtml(report: BenchReport): string {
  const m = report.machine;
  const s = report.settings;
  const throughput = throughputCharts(report);
  const latency = latencyCharts(report);
  const oneway = onewayCharts(report);
  const cpu = cpuCharts(report);
  const skipped = summarizeSkipped(report);
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta http-equiv="Content-Security-Policy" content="default-src 'none'; style-src 'unsafe-inline'">
<title>remoting-ts benchmarks</title>
<style>${STYLE}</style>
</head>
<body>
<h1>remoting-ts benchmarks</h1>
<p id="machine">${escapeXml(`${m.cpuModel}, ${m.cores} cores, Node ${m.nodeVersion}, ${m.platform}/${m.arch}`)}<br>
${escapeXml(m.note)}<br>
${escapeXml(`${s.quick ? 'quick run' : 'full run'} (workers via ${s.workers}): ${describeWarmup(s)}, ${s.repeat} × ${s.durationSec} s per case; figures are medians (min–max over runs). ${s.startedAt} – ${s.finishedAt}`)}</p>
${goalsSection(report)}
<h2>Throughput vs in flight</h2>
<div class="charts">${throughput.join('\n') || '<p>No async results in this run.</p>'}</div>
<h2>Latency percentiles</h2>
<div class="charts">${latency.join('\n') || '<p>No latency results in this run.</p>'}</div>
${invokeResults(report).some((r) => r.mode === 'sync') ? `<p id="java-sync-reference">${escapeXml(describeJavaSyncReference())}</p>` : ''}
<h2>Oneway</h2>
<div class="charts">${oneway.join('\n') || '<p>No oneway results in this run.</p>'}</div>
<h2>CPU per operation</h2>
<div class="charts">${cpu.join('\n') || '<p>No CPU figures in this run.</p>'}</div>
${clusterSection(report)}
${report.broker === undefined ? '' : brokerHtmlSection(report.broker)}
<h2>All figures</h2>
${figuresTable(report)}
${skipped.length > 0 ? `<h2>Not measured</h2><ul>${skipped.map((line) => `<li>${escapeXml(line)}</li>`).join('')}</ul>` : ''}
${report.notes.length > 0 ? `<h2>How it is measured</h2><ul>${report.notes.map((n) => `<li>${escapeXml(n)}</li>`).join('')}</ul>` : ''}
</body>
</html>
`;
}

export async function writeHtmlReport(file: string, report: BenchReport): Promise<void> {
  await writeFile(file, renderHtml(report));
}
