/**
 * The HTML report: one self-contained file (inline CSS and SVG, no script,
 * a CSP that forbids any fetch), readable offline and attachable to an issue.
 */
import { writeFile } from 'node:fs/promises';
import { formatBytes, formatCompact, formatInteger, formatMicros, formatRatio } from '../format.js';
import { spread } from '../stats.js';
import type { BenchReport, BenchResult } from '../types.js';
import { brokerHtmlSection } from './broker-html.js';
import { formatCpuPerOp, seriesName, throughputRatio } from './compare.js';
import { barChart, escapeXml, lineChart } from './svg.js';
import { summarizeSkipped } from './table.js';

const SERIES_COLORS: Record<string, string> = {
  'raw-net': '#4e79a7',
  'grpc-js': '#f28e2b',
  'remoting-ts (JSON)': '#59a14f',
  'remoting-ts (ROCKETMQ)': '#e15759',
};
const PERCENTILE_COLORS = { p50: '#76b7b2', p99: '#edc948', 'p99.9': '#b07aa1' };

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
          yLabel: 'requests/s (median)',
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
      yLabel: 'µs (log scale)',
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
            ['p50', r.p50us],
            ['p99', r.p99us],
            ['p99.9', r.p999us],
          ] as const
        ).map(([label, value]) => ({
          label,
          value: value ?? 0,
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
    'errors',
  ];
  const rows = report.results.map((r) => {
    const s = spread(r.runs.map((run) => run.reqPerSec));
    const errors = r.runs.reduce((sum, run) => sum + run.errors, 0);
    return `<tr data-impl="${escapeXml(r.impl)}">${[
      cell(r.suite),
      cell(r.mode),
      cell(formatBytes(r.bodyBytes), true),
      cell(String(r.inflight ?? ''), true),
      cell(String(r.connections ?? ''), true),
      cell(r.chunkBytes === undefined ? '' : formatBytes(r.chunkBytes), true),
      cell(seriesName(r)),
      cell(formatInteger(r.reqPerSec), true),
      cell(`${formatCompact(s.min)}–${formatCompact(s.max)}`, true),
      cell(formatMicros(r.p50us), true),
      cell(formatMicros(r.p99us), true),
      cell(formatMicros(r.p999us), true),
      cell(r.suite === 'invoke' ? formatRatio(throughputRatio(r, report.results, 'raw-net')) : '', true),
      cell(
        r.suite === 'invoke' && r.mode !== 'oneway'
          ? formatRatio(throughputRatio(r, report.results, 'grpc-js'))
          : '',
        true,
      ),
      cell(formatCpuPerOp(r), true),
      cell(errors === 0 ? '' : formatInteger(errors), true),
    ].join('')}</tr>`;
  });
  return `<table id="figures"><thead><tr>${header.map((h) => `<th>${escapeXml(h)}</th>`).join('')}</tr></thead><tbody>\n${rows.join('\n')}\n</tbody></table>`;
}

function goalsSection(report: BenchReport): string {
  if (report.goals.length === 0) return '';
  const rows = report.goals.map((g) => {
    const verdict = g.met === null ? 'n/a' : g.met ? 'met' : 'missed';
    return `<tr class="goal-${verdict}">${cell(g.name)}${cell(g.target)}${cell(g.measured)}${cell(verdict)}</tr>`;
  });
  return `<h2>Goals <small>(reported, not asserted)</small></h2><table id="goals"><thead><tr><th>goal</th><th>target</th><th>measured</th><th>verdict</th></tr></thead><tbody>${rows.join('')}</tbody></table>`;
}

const STYLE = `
body { font: 14px/1.45 system-ui, sans-serif; margin: 24px; color: #222; max-width: 1420px; }
h1 { font-size: 22px; } h2 { font-size: 18px; margin-top: 28px; }
table { border-collapse: collapse; font-size: 12px; }
th, td { border-bottom: 1px solid #ddd; padding: 3px 8px; text-align: left; }
td.num { text-align: right; font-variant-numeric: tabular-nums; }
.charts { display: flex; flex-wrap: wrap; gap: 16px; }
svg.chart { background: #fff; border: 1px solid #e3e3e3; }
svg .chart-title { font-size: 13px; font-weight: 600; }
svg .tick, svg .legend { font-size: 11px; fill: #444; }
svg .axis-label { font-size: 11px; fill: #666; }
svg .grid { stroke: #eee; }
.goal-met td:last-child { color: #1a7f37; } .goal-missed td:last-child { color: #cf222e; font-weight: 600; }
`;

export function renderHtml(report: BenchReport): string {
  const m = report.machine;
  const s = report.settings;
  const throughput = throughputCharts(report);
  const latency = latencyCharts(report);
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
${escapeXml(`${s.quick ? 'quick run' : 'full run'} (workers via ${s.workers}): ${s.warmupSec} s warm-up, ${s.repeat} × ${s.durationSec} s per case; figures are medians (min–max over runs). ${s.startedAt} – ${s.finishedAt}`)}</p>
${goalsSection(report)}
<h2>Throughput vs in flight</h2>
<div class="charts">${throughput.join('\n') || '<p>No async results in this run.</p>'}</div>
<h2>Latency percentiles</h2>
<div class="charts">${latency.join('\n') || '<p>No latency results in this run.</p>'}</div>
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
