/**
 * The cluster suite: the server run by 1 and by 2 processes under
 * node:cluster (remoting-ts's ServerCluster; raw-net under plain node:cluster,
 * the same technique), measured with the invoke suite's client and loops.
 * Four connections, because the cluster hands out connections, not requests:
 * one connection would keep one worker busy and the other idle.
 */
import type { WorkerProcess } from '../harness/workers.js';
import { IMPLS } from '../impls/index.js';
import type { BenchOptions } from '../options.js';
import type { BenchResult, ImplName, Serialize, SkippedCase } from '../types.js';
import { caseLabel, measureCase } from './invoke.js';
import type { InvokeCase, InvokeShape } from './invoke-plan.js';
import type { Suite, SuitePlan } from './registry.js';

export const CLUSTER_CONNECTIONS = 4;
export const SERVER_WORKER_COUNTS = [1, 2] as const;

/** The shapes the issue names: async ×256 128 B for throughput, sync for latency (p50). */
export const CLUSTER_SHAPES: readonly InvokeShape[] = [
  { mode: 'async', bodyBytes: 128, inflight: 256, connections: CLUSTER_CONNECTIONS },
  { mode: 'sync', bodyBytes: 128, inflight: CLUSTER_CONNECTIONS, connections: CLUSTER_CONNECTIONS },
];

/** raw-net is the baseline; remoting-ts in its binary header, the faster of its two. */
const CLUSTER_SERIES: readonly { impl: ImplName; serialize: Serialize }[] = [
  { impl: 'raw-net', serialize: null },
  { impl: 'remoting-ts', serialize: 'ROCKETMQ' },
];

export interface ClusterCase extends InvokeCase {
  serverWorkers: number;
}

export function clusterCaseLabel(c: ClusterCase): string {
  return `${caseLabel(c)}, ${c.serverWorkers} server worker${c.serverWorkers === 1 ? '' : 's'}`;
}

/**
 * Shape by shape, then worker count, implementations taking turns inside:
 * the two figures a ratio divides are measured back to back.
 */
export function planClusterCases(options: Pick<BenchOptions, 'impls' | 'modes' | 'serializations'>): {
  cases: ClusterCase[];
  skipped: SkippedCase[];
} {
  const skipped: SkippedCase[] = [];
  const series = CLUSTER_SERIES.filter(
    (s) =>
      (options.impls === undefined || options.impls.includes(s.impl)) &&
      (s.serialize === null ||
        options.serializations === undefined ||
        options.serializations.includes(s.serialize)),
  );
  for (const traits of IMPLS) {
    const wanted = options.impls === undefined || options.impls.includes(traits.name);
    if (wanted && !CLUSTER_SERIES.some((s) => s.impl === traits.name))
      skipped.push({
        suite: 'cluster',
        impl: traits.name,
        description: 'every case',
        reason: 'not measured under node:cluster: the rows compare remoting-ts with its raw-net baseline',
      });
  }
  const shapes = CLUSTER_SHAPES.filter(
    (shape) => options.modes === undefined || options.modes.includes(shape.mode),
  );
  const cases: ClusterCase[] = [];
  for (const shape of shapes) {
    for (const serverWorkers of SERVER_WORKER_COUNTS) {
      for (const { impl, serialize } of series) cases.push({ ...shape, impl, serialize, serverWorkers });
    }
  }
  return { cases, skipped };
}

function plan(options: BenchOptions): Promise<SuitePlan> {
  const { cases, skipped } = planClusterCases(options);
  return Promise.resolve({
    caseCount: cases.length,
    skipped,
    notes: [
      `cluster: the server runs as 1 and as 2 worker processes under node:cluster (one port, the primary deals connections out round-robin; Node 20 has no reusePort): remoting-ts through its ServerCluster, raw-net under plain node:cluster. ${CLUSTER_CONNECTIONS} client connections, so that connections reach both workers; "vs raw-net" compares at the same worker count, "2 / 1 workers" is each implementation's own scaling.`,
      'cluster: server cpu µs/op sums the primary and every worker. The client is one process (one core at most) on the same machine: on two cores, the client and two server workers share two cores, so this shows that the server spreads and what a second worker costs, not how a server scales on a machine with cores to spare. Measure that with the client on another machine.',
    ],
    run: async (ctx) => {
      const results: BenchResult[] = [];
      const failed: SkippedCase[] = [];
      const warmedClients = new WeakSet<WorkerProcess>();
      for (const c of cases) {
        const outcome = await measureCase(
          ctx,
          c,
          clusterCaseLabel(c),
          { suite: 'cluster', serverWorkers: c.serverWorkers },
          warmedClients,
        );
        if ('result' in outcome) results.push(outcome.result);
        else failed.push(outcome.failed);
      }
      return { results, failed };
    },
  });
}

export const clusterSuite: Suite = {
  name: 'cluster',
  description: 'the server on 1 and 2 processes under node:cluster: remoting-ts (ROCKETMQ) against raw-net',
  plan,
};
