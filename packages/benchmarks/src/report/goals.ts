/**
 * The goals, judged from one run's results. Reported, never asserted:
 * on a shared machine a miss is a finding to investigate, not a test failure.
 */
import { formatInteger, formatRatio } from '../format.js';
import { GOAL_SHAPES, type InvokeShape, sameShape } from '../suites/invoke-plan.js';
import type { BenchResult, GoalVerdict, ImplName, Serialize } from '../types.js';

export function findResult(
  results: readonly BenchResult[],
  impl: ImplName,
  shape: InvokeShape,
  serialize: Serialize = null,
): BenchResult | undefined {
  return results.find(
    (r) =>
      r.suite === 'invoke' &&
      r.impl === impl &&
      r.serialize === serialize &&
      r.inflight !== null &&
      r.connections !== null &&
      sameShape(r as InvokeShape, shape),
  );
}

const [asyncGoal, syncGoal, onewayGoal] = GOAL_SHAPES as [InvokeShape, InvokeShape, InvokeShape];

interface Comparison {
  name: string;
  shape: InvokeShape;
  baseline: ImplName;
  /** 'throughput': ours / baseline ≥ target; 'latency': ours p50 / baseline p50 ≤ target. */
  kind: 'throughput' | 'latency';
  target: number;
}

const COMPARISONS: readonly Comparison[] = [
  {
    name: 'async ×256, 128 B, 1 conn: req/s vs raw-net',
    shape: asyncGoal,
    baseline: 'raw-net',
    kind: 'throughput',
    target: 0.8,
  },
  {
    name: 'async ×256, 128 B, 1 conn: req/s vs grpc-js',
    shape: asyncGoal,
    baseline: 'grpc-js',
    kind: 'throughput',
    target: 3,
  },
  {
    name: 'sync, 128 B, 1 conn: p50 latency vs raw-net',
    shape: syncGoal,
    baseline: 'raw-net',
    kind: 'latency',
    target: 1.3,
  },
  {
    name: 'oneway, 128 B, 1 conn: msgs/s vs raw-net',
    shape: onewayGoal,
    baseline: 'raw-net',
    kind: 'throughput',
    target: 0.8,
  },
];

function judge(comparison: Comparison, results: readonly BenchResult[], serialize: Serialize): GoalVerdict {
  const name = `remoting-ts ${serialize}: ${comparison.name}`;
  const target =
    comparison.kind === 'throughput'
      ? `≥ ${comparison.target}× ${comparison.baseline}`
      : `p50 ≤ ${comparison.target}× ${comparison.baseline}`;
  const ours = findResult(results, 'remoting-ts', comparison.shape, serialize);
  const theirs = findResult(results, comparison.baseline, comparison.shape);
  if (ours === undefined || theirs === undefined) {
    const missing = [
      ours === undefined ? 'remoting-ts' : null,
      theirs === undefined ? comparison.baseline : null,
    ]
      .filter((m) => m !== null)
      .join(' and ');
    return { name, target, measured: `not measured (${missing} missing)`, met: null };
  }
  if (comparison.kind === 'throughput') {
    const ratio = ours.reqPerSec / theirs.reqPerSec;
    return {
      name,
      target,
      measured: `${formatRatio(ratio)} (${formatInteger(ours.reqPerSec)}/s vs ${formatInteger(theirs.reqPerSec)}/s)`,
      met: ratio >= comparison.target,
    };
  }
  if (ours.p50us === null || theirs.p50us === null) {
    return { name, target, measured: 'not measured (no latency figures)', met: null };
  }
  const ratio = ours.p50us / theirs.p50us;
  return {
    name,
    target,
    measured: `${formatRatio(ratio)} (${ours.p50us} µs vs ${theirs.p50us} µs)`,
    met: ratio <= comparison.target,
  };
}

/** One verdict per goal and per remoting-ts serialization (JSON always; ROCKETMQ when measured). */
export function evaluateGoals(results: readonly BenchResult[]): GoalVerdict[] {
  const serializations: Serialize[] = ['JSON'];
  if (results.some((r) => r.suite === 'invoke' && r.impl === 'remoting-ts' && r.serialize === 'ROCKETMQ')) {
    serializations.push('ROCKETMQ');
  }
  return serializations.flatMap((serialize) => COMPARISONS.map((c) => judge(c, results, serialize)));
}
