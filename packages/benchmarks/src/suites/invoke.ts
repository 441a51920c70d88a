/** The invoke suite: sync, async (in flight), oneway echo calls against each implementation. */
import { formatRate } from '../format.js';
import type { Timing } from '../harness/ipc.js';
import type { WorkerProcess } from '../harness/workers.js';
import { IMPLS, isImplName, unavailableReason } from '../impls/index.js';
import type { BenchOptions } from '../options.js';
import { formatAllocation, formatCpuPerOp } from '../report/compare.js';
import { summarizeRuns } from '../results.js';
import type { BenchResult, ImplName, RunSample, SkippedCase } from '../types.js';
import { describeShape, type InvokeCase, planInvokeCases } from './invoke-plan.js';
import { describeJavaSyncReference } from './invoke-reference.js';
import type { Suite, SuiteContext, SuitePlan } from './registry.js';

export function caseLabel(c: InvokeCase): string {
  return `${c.impl}${c.serialize === null ? '' : ` ${c.serialize}`} ${describeShape(c)}`;
}

/** How long a new client worker runs, unmeasured, before its first measured case. */
const WORKER_WARMUP_MS = 3000;

/** Never longer than twice a case, so tiny smoke runs stay tiny. */
function workerWarmupMs(timing: Timing): number {
  return Math.min(WORKER_WARMUP_MS, 2 * (timing.warmupMs + timing.repeat * timing.durationMs));
}

/** Generous: a case that takes twice its planned time plus a minute is stuck, not slow. */
function caseTimeoutMs(timing: Timing): number {
  return 2 * (timing.warmupMs + timing.repeat * timing.durationMs) + 60_000;
}

function selectedImpls(options: BenchOptions): ImplName[] {
  if (options.impls === undefined) return IMPLS.map((i) => i.name);
  for (const name of options.impls) {
    if (!isImplName(name))
      throw new Error(`unknown implementation "${name}" (known: ${IMPLS.map((i) => i.name).join(', ')})`);
  }
  return options.impls.filter(isImplName);
}

async function plan(options: BenchOptions): Promise<SuitePlan> {
  const impls = selectedImpls(options);
  const unavailable = new Map<ImplName, string>();
  for (const impl of impls) {
    const reason = await unavailableReason(impl);
    if (reason !== null) unavailable.set(impl, reason);
  }
  const { cases, skipped } = planInvokeCases({
    quick: options.quick,
    goalsOnly: options.goalsOnly,
    impls,
    unavailable,
    ...(options.modes === undefined ? {} : { modes: options.modes }),
    ...(options.serializations === undefined ? {} : { serializations: options.serializations }),
    ...(options.bodies === undefined ? {} : { bodies: options.bodies }),
    ...(options.connections === undefined ? {} : { connections: options.connections }),
  });
  return {
    caseCount: cases.length,
    skipped,
    notes: [
      'invoke: server and client are separate processes on 127.0.0.1; each case is a fresh set of connections.',
      'invoke: every new client worker first runs its first case unmeasured (3 s, or twice a case when that is shorter): a fresh V8 heap is still sizing its young generation, and a case measured first showed 5–8× the GC share it has later.',
      'invoke: sync = one awaited call at a time per connection; async = N callbacks in flight over the connections (caller i on connection i mod n).',
      'invoke: cpu µs/op = CPU time (user + system) of the client and of the server process during each run, over the operations completed in it.',
      'invoke: client heap/op = V8 heap bytes the client process allocated during each run (heap growth plus what each GC freed, from v8.GCProfiler) over the operations completed; gc = share of the run’s wall time spent in GC. Buffer contents live outside the heap and are not counted.',
      'invoke: oneway = send for the duration (each transport paces itself), then ask the server its count over every connection; rate = messages received / time until the last count answer.',
      'invoke: remoting-ts-blocking = the remoting-ts server called through BlockingRemotingClient.invokeSync, which parks the calling thread (client and socket in a worker thread); sequential calls on 1 connection, beside remoting-ts promise invokeSync and raw-net sync. Its client cpu µs/op counts both threads; its heap/op counts the calling thread only.',
      `invoke: ${describeJavaSyncReference()}.`,
    ],
    run: (ctx) => runCases(ctx, cases, impls, unavailable),
  };
}

async function attachServerCpu(runs: RunSample[], serverCpu: Map<string, Promise<number>>): Promise<void> {
  await Promise.all(
    runs.map(async (run, i) => {
      const start = await (serverCpu.get(`${i}:start`) ?? Number.NaN);
      const end = await (serverCpu.get(`${i}:end`) ?? Number.NaN);
      const spent = end - start;
      run.serverCpuUsPerOp = run.count > 0 && Number.isFinite(spent) ? spent / run.count : null;
    }),
  );
}

/** Where a case's server runs: one process (the invoke suite), or several under node:cluster. */
export interface CasePlacement {
  suite: string;
  serverWorkers?: number;
}

/**
 * Measures one case: the pair of processes for its implementation (the
 * server with `serverWorkers` under node:cluster when set), the client's
 * warm-up on its first case, then the runs with the server's CPU read at
 * each run's edges. Reports progress; a failure goes into the result's place
 * as a skipped case, and resets the pair so it cannot poison the next case.
 */
export async function measureCase(
  ctx: SuiteContext,
  c: InvokeCase,
  label: string,
  placement: CasePlacement,
  warmedClients: WeakSet<WorkerProcess>,
): Promise<{ result: BenchResult } | { failed: SkippedCase }> {
  ctx.progress.caseStarted(label);
  try {
    const { port, client, server } = await ctx.workers.pair(c.impl, placement.serverWorkers);
    if (!warmedClients.has(client)) {
      // A fresh process's heap is still sizing itself (young generation growth,
      // allocation-site pretenuring): a case measured first in a new worker
      // showed 5–8× the GC share of the same case measured later. So every
      // new client worker runs an unmeasured stretch of its first case.
      await client.runInvoke(
        port,
        { ...c, warmupMs: 0, durationMs: workerWarmupMs(ctx.timing), repeat: 1 },
        caseTimeoutMs(ctx.timing),
      );
      warmedClients.add(client);
    }
    // The client announces each run's edges; the server's CPU time is read right then.
    const serverCpu = new Map<string, Promise<number>>();
    client.onMark = (run, edge) => serverCpu.set(`${run}:${edge}`, server.cpu());
    let runs: RunSample[];
    try {
      runs = await client.runInvoke(port, { ...c, ...ctx.timing }, caseTimeoutMs(ctx.timing));
    } finally {
      client.onMark = null;
    }
    await attachServerCpu(runs, serverCpu);
    const result = summarizeRuns({ ...c, ...placement }, runs);
    const errors = runs.reduce((sum, r) => sum + r.errors, 0);
    const latency = result.p50us === null ? '' : `, p50 ${Math.round(result.p50us)} µs`;
    const cpu = formatCpuPerOp(result);
    const heap = formatAllocation(result);
    ctx.progress.caseDone(
      label,
      `${formatRate(result.reqPerSec)}${latency}${cpu === '' ? '' : `, cpu ${cpu} µs/op`}${heap === '' ? '' : `, heap/gc ${heap}`}${errors > 0 ? `, ${errors} errors` : ''}`,
    );
    return { result };
  } catch (error) {
    const message = error instanceof Error ? error.message.split('\n')[0]! : String(error);
    ctx.progress.caseDone(label, `FAILED: ${message}`);
    ctx.workers.reset(c.impl, placement.serverWorkers);
    return {
      failed: { suite: placement.suite, impl: c.impl, description: label, reason: `failed: ${message}` },
    };
  }
}

async function runCases(
  ctx: SuiteContext,
  cases: InvokeCase[],
  impls: ImplName[],
  unavailable: ReadonlyMap<ImplName, string>,
): Promise<{ results: BenchResult[]; failed: SkippedCase[] }> {
  const results: BenchResult[] = [];
  const failed: SkippedCase[] = [];
  await ctx.workers.warm(impls.filter((impl) => !unavailable.has(impl)));
  const warmedClients = new WeakSet<WorkerProcess>();
  for (const c of cases) {
    const outcome = await measureCase(ctx, c, caseLabel(c), { suite: 'invoke' }, warmedClients);
    if ('result' in outcome) results.push(outcome.result);
    else failed.push(outcome.failed);
  }
  return { results, failed };
}

export const invokeSuite: Suite = {
  name: 'invoke',
  description: 'sync / async / oneway echo calls: remoting-ts against raw-net and grpc-js',
  plan,
};
