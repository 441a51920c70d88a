/**
 * Summarises V8 CPU profiles written by `bench --profile DIR`: where each
 * worker process spent its time, by function (self and inclusive) and by
 * origin (node internals, the framework, the benchmark harness, GC).
 *
 *   tsx src/tools/profile-summary.ts DIR [--top N] [--match remoting]
 */
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { parseArgs } from 'node:util';

interface CallFrame {
  functionName: string;
  url: string;
  lineNumber: number;
}

interface ProfileNode {
  id: number;
  callFrame: CallFrame;
  children?: number[];
}

interface CpuProfile {
  nodes: ProfileNode[];
  samples: number[];
  timeDeltas: number[];
}

function frameKey(frame: CallFrame): string {
  const file =
    frame.url === ''
      ? ''
      : ` ${frame.url
          .replace(/^file:\/\//, '')
          .split('/')
          .slice(-3)
          .join('/')}:${frame.lineNumber + 1}`;
  return `${frame.functionName || '(anonymous)'}${file}`;
}

function origin(frame: CallFrame): string {
  const url = frame.url;
  if (url === '') return frame.functionName.startsWith('(') ? frame.functionName : '(native)';
  if (url.startsWith('node:')) return 'node internals';
  if (url.includes('/packages/remoting/')) return 'remoting-ts framework';
  if (url.includes('/packages/benchmarks/')) return 'benchmark harness';
  const dependency = /node_modules\/(?:\.pnpm\/)?(@[^/]+\/[^/@]+|[^/@]+)/.exec(url);
  return dependency ? `dependency ${dependency[1]}` : 'other';
}

function percent(part: number, whole: number): string {
  return `${((100 * part) / whole).toFixed(1).padStart(5)}%`;
}

export function summarize(profile: CpuProfile, top: number, match: string | undefined): string {
  const byId = new Map(profile.nodes.map((n) => [n.id, n]));
  const parent = new Map<number, number>();
  for (const node of profile.nodes) for (const child of node.children ?? []) parent.set(child, node.id);
  const self = new Map<string, number>();
  const inclusive = new Map<string, number>();
  const origins = new Map<string, number>();
  let total = 0;
  profile.samples.forEach((id, i) => {
    // Weight by elapsed time: V8 samples are not evenly spaced under load.
    const weight = profile.timeDeltas[i] ?? 0;
    total += weight;
    const leaf = byId.get(id);
    if (leaf === undefined) return;
    const leafKey = frameKey(leaf.callFrame);
    self.set(leafKey, (self.get(leafKey) ?? 0) + weight);
    const o = origin(leaf.callFrame);
    origins.set(o, (origins.get(o) ?? 0) + weight);
    const seen = new Set<string>();
    for (let at: number | undefined = id; at !== undefined; at = parent.get(at)) {
      const key = frameKey(byId.get(at)!.callFrame);
      if (seen.has(key)) continue; // recursion counts once
      seen.add(key);
      inclusive.set(key, (inclusive.get(key) ?? 0) + weight);
    }
  });
  const lines: string[] = [`total ${(total / 1e6).toFixed(2)} s sampled`, '', 'by origin (self time):'];
  for (const [o, t] of [...origins].sort((a, b) => b[1] - a[1])) lines.push(`  ${percent(t, total)}  ${o}`);
  lines.push('', `top ${top} functions by self time:`);
  for (const [k, t] of [...self].sort((a, b) => b[1] - a[1]).slice(0, top))
    lines.push(`  ${percent(t, total)}  ${k}`);
  const filtered = [...inclusive].filter(([k]) => match === undefined || k.includes(match));
  lines.push(
    '',
    `top ${top} functions by inclusive time${match === undefined ? '' : ` (matching "${match}")`}:`,
  );
  for (const [k, t] of filtered.sort((a, b) => b[1] - a[1]).slice(0, top))
    lines.push(`  ${percent(t, total)}  ${k}`);
  return lines.join('\n');
}

/** Profiles under DIR (one folder per worker), main threads only: V8 names end in .<pid>.<tid>.<seq>.cpuprofile. */
function findProfiles(dir: string): string[] {
  return readdirSync(dir, { recursive: true, encoding: 'utf8' })
    .filter((f) => f.endsWith('.cpuprofile'))
    .filter((f) => {
      const tid = /\.(\d+)\.\d+\.cpuprofile$/.exec(f)?.[1];
      return tid === undefined || tid === '0';
    })
    .sort();
}

function main(): void {
  const { values, positionals } = parseArgs({
    allowPositionals: true,
    options: { top: { type: 'string', default: '25' }, match: { type: 'string' } },
  });
  const dir = positionals[0];
  if (dir === undefined) throw new Error('usage: profile-summary DIR [--top N] [--match TEXT]');
  for (const file of findProfiles(dir)) {
    const profile = JSON.parse(readFileSync(path.join(dir, file), 'utf8')) as CpuProfile;
    process.stdout.write(`== ${file}\n${summarize(profile, Number(values.top), values.match)}\n\n`);
  }
}

main();
