/**
 * Hand-written SVG charts, so the HTML report is one self-contained file that
 * renders offline: no chart library, no script, no network. Every mark
 * carries data-* attributes with its figures, which is how the render test
 * (and a curious reader's devtools) finds what was drawn.
 */

export function escapeXml(text: string): string {
  return text.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}

type Attributes = Record<string, string | number>;

function attrs(attributes: Attributes): string {
  return Object.entries(attributes)
    .map(([k, v]) => ` ${k}="${escapeXml(String(v))}"`)
    .join('');
}

/** The smallest "nice" number (1, 2, 2.5, 5 × 10^k) at or above `value`. */
export function niceCeil(value: number): number {
  if (value <= 0) return 1;
  const magnitude = 10 ** Math.floor(Math.log10(value));
  for (const step of [1, 2, 2.5, 5, 10]) {
    if (step * magnitude >= value) return step * magnitude;
  }
  return 10 * magnitude;
}

function compact(value: number): string {
  if (value >= 1e6) return `${+(value / 1e6).toPrecision(3)}M`;
  if (value >= 1e3) return `${+(value / 1e3).toPrecision(3)}k`;
  return String(+value.toPrecision(3));
}

const WIDTH = 680;
const HEIGHT = 380;
const MARGIN = { left: 64, right: 190, top: 52, bottom: 48 };
const PLOT_W = WIDTH - MARGIN.left - MARGIN.right;
const PLOT_H = HEIGHT - MARGIN.top - MARGIN.bottom;

/** Which way is good on a chart; every chart says it under its title. */
export type Better = 'higher' | 'lower';

export interface LinePoint {
  x: number;
  y: number;
  /** Lowest and highest run of the point's case: drawn as an error bar. */
  min?: number;
  max?: number;
  data: Attributes;
}

export interface LineSeries {
  name: string;
  color: string;
  points: LinePoint[];
}

export interface LineChartSpec {
  title: string;
  xLabel: string;
  yLabel: string;
  better: Better;
  /** data-* attributes of the <svg>. */
  data: Attributes;
  series: LineSeries[];
}

/**
 * The <svg> scales to its container's width (its viewBox keeps the drawing's
 * proportions), so a wide page shows wide charts.
 */
function frame(title: string, better: Better, data: Attributes, body: string[]): string {
  const hint = better === 'higher' ? 'higher is better' : 'lower is better';
  return [
    `<svg xmlns="http://www.w3.org/2000/svg" class="chart" viewBox="0 0 ${WIDTH} ${HEIGHT}" preserveAspectRatio="xMidYMid meet" role="img"${attrs({ ...data, 'data-better': better })}>`,
    `<title>${escapeXml(`${title} (${hint})`)}</title>`,
    `<text x="${MARGIN.left}" y="22" class="chart-title">${escapeXml(title)}</text>`,
    `<text x="${MARGIN.left}" y="40" class="chart-better">${better === 'higher' ? '▲' : '▼'} ${hint}</text>`,
    ...body,
    '</svg>',
  ].join('\n');
}

function legend(entries: { name: string; color: string }[]): string[] {
  return entries.map((entry, i) => {
    const y = MARGIN.top + 8 + i * 20;
    const x = WIDTH - MARGIN.right + 16;
    return `<rect x="${x}" y="${y - 9}" width="12" height="12" fill="${entry.color}"/><text x="${x + 18}" y="${y + 1}" class="legend">${escapeXml(entry.name)}</text>`;
  });
}

/** A vertical min–max bar with caps, centred on x; nothing when the range is missing or empty. */
function errorBar(
  x: number,
  min: number | undefined,
  max: number | undefined,
  yPos: (v: number) => number,
  data: Attributes,
): string[] {
  if (min === undefined || max === undefined || !(max > min)) return [];
  const top = yPos(max).toFixed(1);
  const bottom = yPos(min).toFixed(1);
  const cx = x.toFixed(1);
  return [
    `<path d="M${cx},${top} L${cx},${bottom} M${(x - 4).toFixed(1)},${top} L${(x + 4).toFixed(1)},${top} M${(x - 4).toFixed(1)},${bottom} L${(x + 4).toFixed(1)},${bottom}" class="error-bar"${attrs({ ...data, 'data-min': +min.toPrecision(6), 'data-max': +max.toPrecision(6) })}/>`,
  ];
}

/** Throughput against a log₂ x axis (in-flight counts grow by powers of two). */
export function lineChart(spec: LineChartSpec): string {
  const xs = [...new Set(spec.series.flatMap((s) => s.points.map((p) => p.x)))].sort((a, b) => a - b);
  const logMin = Math.log2(xs[0] ?? 1);
  const logMax = Math.log2(xs[xs.length - 1] ?? 2);
  const logSpan = logMax > logMin ? logMax - logMin : 1;
  const xPos = (x: number) =>
    MARGIN.left + (xs.length === 1 ? PLOT_W / 2 : ((Math.log2(x) - logMin) / logSpan) * PLOT_W);
  const yMax = niceCeil(Math.max(1, ...spec.series.flatMap((s) => s.points.map((p) => p.max ?? p.y))));
  const yPos = (y: number) => MARGIN.top + PLOT_H - (y / yMax) * PLOT_H;
  const body: string[] = [];
  for (let i = 0; i <= 5; i++) {
    const value = (yMax * i) / 5;
    const y = yPos(value);
    body.push(
      `<line x1="${MARGIN.left}" x2="${MARGIN.left + PLOT_W}" y1="${y}" y2="${y}" class="grid"/>`,
      `<text x="${MARGIN.left - 6}" y="${y + 4}" class="tick" text-anchor="end">${compact(value)}</text>`,
    );
  }
  for (const x of xs) {
    body.push(
      `<text x="${xPos(x)}" y="${MARGIN.top + PLOT_H + 18}" class="tick" text-anchor="middle">${x}</text>`,
    );
  }
  body.push(
    `<text x="${MARGIN.left + PLOT_W / 2}" y="${HEIGHT - 8}" class="axis-label" text-anchor="middle">${escapeXml(spec.xLabel)}</text>`,
    `<text x="14" y="${MARGIN.top + PLOT_H / 2}" class="axis-label" text-anchor="middle" transform="rotate(-90 14 ${MARGIN.top + PLOT_H / 2})">${escapeXml(spec.yLabel)}</text>`,
  );
  for (const series of spec.series) {
    const points = [...series.points].sort((a, b) => a.x - b.x);
    const d = points
      .map((p, i) => `${i === 0 ? 'M' : 'L'}${xPos(p.x).toFixed(1)},${yPos(p.y).toFixed(1)}`)
      .join(' ');
    body.push(
      `<path d="${d}" fill="none" stroke="${series.color}" stroke-width="2"${attrs({ 'data-series': series.name })}/>`,
    );
    for (const p of points) {
      body.push(
        ...errorBar(xPos(p.x), p.min, p.max, yPos, { 'data-series': series.name, stroke: series.color }),
        `<circle cx="${xPos(p.x).toFixed(1)}" cy="${yPos(p.y).toFixed(1)}" r="4" fill="${series.color}"${attrs({ 'data-series': series.name, ...p.data })}><title>${escapeXml(`${series.name}: ${compact(p.y)} at ${p.x}${p.min !== undefined && p.max !== undefined ? ` (runs ${compact(p.min)}–${compact(p.max)})` : ''}`)}</title></circle>`,
      );
    }
  }
  body.push(...legend(spec.series));
  return frame(spec.title, spec.better, spec.data, body);
}

export interface Bar {
  label: string;
  value: number;
  /** Lowest and highest run: drawn as an error bar. */
  min?: number;
  max?: number;
  data: Attributes;
}

export interface BarGroup {
  name: string;
  bars: Bar[];
}

export interface BarChartSpec {
  title: string;
  yLabel: string;
  better: Better;
  /** Log₁₀ for figures spanning decades (latency percentiles); linear otherwise. */
  scale: 'log' | 'linear';
  data: Attributes;
  groups: BarGroup[];
  /** Colors by bar label (the same label has the same color in every group). */
  colors: Record<string, string>;
}

function barScale(spec: BarChartSpec): { yPos: (v: number) => number; ticks: number[] } {
  const bars = spec.groups.flatMap((g) => g.bars);
  if (spec.scale === 'linear') {
    const top = niceCeil(Math.max(0, ...bars.map((b) => b.max ?? b.value)));
    return {
      yPos: (v: number) => MARGIN.top + PLOT_H - (Math.max(0, v) / top) * PLOT_H,
      ticks: [0, 1, 2, 3, 4, 5].map((i) => (top * i) / 5),
    };
  }
  const values = bars.flatMap((b) => [b.value, b.min ?? b.value, b.max ?? b.value]).filter((v) => v > 0);
  const lo = 10 ** Math.floor(Math.log10(Math.min(...values, 10)));
  const hi = 10 ** Math.ceil(Math.log10(Math.max(...values, lo * 10)));
  const span = Math.log10(hi) - Math.log10(lo);
  const ticks: number[] = [];
  for (let decade = lo; decade <= hi * 1.0001; decade *= 10) ticks.push(decade);
  return {
    yPos: (v: number) =>
      MARGIN.top + PLOT_H - ((Math.log10(Math.max(v, lo)) - Math.log10(lo)) / span) * PLOT_H,
    ticks,
  };
}

/** Grouped bars, one group per implementation; log scale keeps p50 and a 10× p99.9 both readable. */
export function barChart(spec: BarChartSpec): string {
  const { yPos, ticks } = barScale(spec);
  const body: string[] = [];
  for (const tick of ticks) {
    const y = yPos(tick);
    body.push(
      `<line x1="${MARGIN.left}" x2="${MARGIN.left + PLOT_W}" y1="${y}" y2="${y}" class="grid"/>`,
      `<text x="${MARGIN.left - 6}" y="${y + 4}" class="tick" text-anchor="end">${compact(tick)}</text>`,
    );
  }
  const groupWidth = PLOT_W / Math.max(1, spec.groups.length);
  spec.groups.forEach((group, gi) => {
    const barWidth = (groupWidth * 0.8) / Math.max(1, group.bars.length);
    const x0 = MARGIN.left + gi * groupWidth + groupWidth * 0.1;
    group.bars.forEach((bar, bi) => {
      const y = yPos(bar.value);
      const height = MARGIN.top + PLOT_H - y;
      const x = x0 + bi * barWidth;
      const range =
        bar.min !== undefined && bar.max !== undefined
          ? ` (runs ${compact(bar.min)}–${compact(bar.max)})`
          : '';
      body.push(
        `<rect x="${x.toFixed(1)}" y="${y.toFixed(1)}" width="${(barWidth - 2).toFixed(1)}" height="${Math.max(1, height).toFixed(1)}" fill="${spec.colors[bar.label] ?? '#888'}"${attrs({ 'data-series': group.name, ...bar.data })}><title>${escapeXml(`${group.name} ${bar.label}: ${compact(bar.value)}${range}`)}</title></rect>`,
        ...errorBar(x + (barWidth - 2) / 2, bar.min, bar.max, yPos, {
          'data-series': group.name,
          stroke: '#333',
        }),
      );
    });
    // "remoting-ts (ROCKETMQ)" is wider than a group: the serialization goes on a second line.
    const [first, ...rest] = group.name.split(' (');
    const cx = (x0 + groupWidth * 0.4).toFixed(1);
    const second = rest.length > 0 ? `<tspan x="${cx}" dy="14">(${escapeXml(rest.join(' ('))}</tspan>` : '';
    body.push(
      `<text x="${cx}" y="${MARGIN.top + PLOT_H + 18}" class="tick" text-anchor="middle">${escapeXml(first ?? '')}${second}</text>`,
    );
  });
  body.push(
    `<text x="14" y="${MARGIN.top + PLOT_H / 2}" class="axis-label" text-anchor="middle" transform="rotate(-90 14 ${MARGIN.top + PLOT_H / 2})">${escapeXml(spec.yLabel)}</text>`,
  );
  body.push(...legend(Object.entries(spec.colors).map(([name, color]) => ({ name, color }))));
  return frame(spec.title, spec.better, spec.data, body);
}
