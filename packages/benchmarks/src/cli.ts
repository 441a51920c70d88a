/**
 * `pnpm bench`: plans the selected suites, runs them in worker processes,
 * prints the table and writes the JSON and HTML reports.
 */
import path from 'node:path';
import { bundleWorker } from './harness/bundle.js';
import { createProgress } from './harness/progress.js';
import { installExitHandlers, WorkerPool } from './harness/workers.js';
import { describeMachine } from './machine.js';
import { type BenchOptions, parseOptions, USAGE } from './options.js';
import { brokerReportLines } from './report/broker-table.js';
import { evaluateGoals } from './report/goals.js';
import { writeHtmlReport } from './report/html.js';
import { writeJsonReport } from './report/json.js';
import { renderTerminalReport } from './report/table.js';
import type { BrokerSection } from './suites/broker-types.js';
import { selectSuites } from './suites/index.js';
import type { SuitePlan } from './suites/registry.js';
import type { BenchReport, BenchResult, SkippedCase } from './types.js';

/**
 * Output paths are relative to where the user typed the command: pnpm runs the
 * script inside packages/benchmarks but says where it started in INIT_CWD.
 */
function outputPath(file: string): string {
  return path.resolve(process.env.INIT_CWD ?? process.cwd(), file);
}

/**
 * The most a request/response case warms up while its callers have not
 * cycled: eight times its measured time past the least warm-up, within 10 s
 * (a tiny smoke run stays tiny; a quick run gives a slow baseline seconds).
 */
function maxWarmupMs(options: BenchOptions): number {
  const least = options.warmupSec * 1000;
  return Math.round(
    Math.max(least, Math.min(10_000, least + 8 * options.repeat * options.durationSec * 1000)),
  );
}

async function run(options: BenchOptions): Promise<number> {
  const selected = selectSuites(options.suite);
  const runnable = selected.filter((suite) => suite.unavailable === undefined);
  const unavailableSkips: SkippedCase[] = [];
  for (const suite of selected) {
    if (suite.unavailable === undefined) continue;
    process.stderr.write(`suite ${suite.name}: ${suite.unavailable}\n`);
    unavailableSkips.push({
      suite: suite.name,
      impl: '*',
      description: 'every case',
      reason: suite.unavailable,
    });
  }
  if (runnable.length === 0) return 0;

  const startedAt = new Date().toISOString();
  const plans: { name: string; plan: SuitePlan }[] = [];
  for (const suite of runnable) plans.push({ name: suite.name, plan: await suite.plan(options) });

  installExitHandlers();
  const progress = createProgress();
  const workers = new WorkerPool({
    ...(options.bundle ? { entry: await bundleWorker() } : {}),
    ...(options.profileDir === undefined ? {} : { profileDir: outputPath(options.profileDir) }),
  });
  const timing = {
    warmupMs: Math.round(options.warmupSec * 1000),
    maxWarmupMs: maxWarmupMs(options),
    durationMs: Math.round(options.durationSec * 1000),
    repeat: options.repeat,
  };
  const results: BenchResult[] = [];
  const failed: SkippedCase[] = [];
  let broker: BrokerSection | undefined;
  progress.start(plans.reduce((sum, p) => sum + p.plan.caseCount, 0));
  try {
    for (const { plan } of plans) {
      const outcome = await plan.run({ options, timing, progress, workers });
      results.push(...outcome.results);
      failed.push(...outcome.failed);
      broker ??= outcome.broker;
    }
  } finally {
    progress.stop();
    await workers.stopAll();
  }

  const report: BenchReport = {
    machine: describeMachine(),
    settings: {
      quick: options.quick,
      suites: runnable.map((s) => s.name),
      durationSec: options.durationSec,
      warmupSec: options.warmupSec,
      maxWarmupSec: timing.maxWarmupMs / 1000,
      repeat: options.repeat,
      workers: options.bundle ? 'bundle' : 'tsx',
      startedAt,
      finishedAt: new Date().toISOString(),
    },
    results,
    ...(broker === undefined ? {} : { broker }),
    skipped: [...plans.flatMap((p) => p.plan.skipped), ...unavailableSkips, ...failed],
    goals: results.some((r) => r.suite === 'invoke')
      ? evaluateGoals(results, { indicative: options.quick })
      : [],
    notes: [
      options.bundle
        ? 'workers ran from an esbuild bundle of the TypeScript sources (no keepNames), as compiled JavaScript would run'
        : 'workers ran the TypeScript sources through tsx, as this repository runs them (tsx adds esbuild keepNames: a __name call per named closure created)',
      ...plans.flatMap((p) => p.plan.notes),
    ],
  };
  process.stdout.write(
    renderTerminalReport(report, report.broker === undefined ? [] : brokerReportLines(report.broker)),
  );
  if (options.jsonFile !== undefined) {
    await writeJsonReport(outputPath(options.jsonFile), report);
    process.stderr.write(`wrote ${outputPath(options.jsonFile)}\n`);
  }
  if (options.htmlFile !== undefined) {
    await writeHtmlReport(outputPath(options.htmlFile), report);
    process.stderr.write(`wrote ${outputPath(options.htmlFile)}\n`);
  }
  if (failed.length > 0) {
    process.stderr.write(`${failed.length} case(s) failed; see "not measured" above\n`);
    return 1;
  }
  return 0;
}

async function main(): Promise<void> {
  let options: BenchOptions;
  try {
    options = parseOptions(process.argv.slice(2));
    // An unknown --suite is bad usage too, not a failure of the run.
    selectSuites(options.suite);
  } catch (error) {
    process.stderr.write(`bench: ${(error as Error).message}\n\n${USAGE}`);
    process.exitCode = 2;
    return;
  }
  if (options.help) {
    process.stdout.write(USAGE);
    return;
  }
  process.exitCode = await run(options);
}

main().catch((error: unknown) => {
  process.stderr.write(
    `bench failed: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`,
  );
  process.exitCode = 1;
});
