/**
 * A closed-loop figure is steady state only once its callers have cycled: a
 * warm-up cut short by its limit, or a window holding a call or two per
 * caller, makes a row "not steady", and no ratio or goal is taken against it.
 */
import { describe, expect, test } from 'vitest';
import { throughputRatio, unjudgeableReason } from '../src/report/compare.js';
import { evaluateGoals } from '../src/report/goals.js';
import { invokeTable } from '../src/report/table.js';
import { notSteadyReason } from '../src/steadiness.js';
import type { BenchResult, ImplName, RunSample } from '../src/types.js';

function asyncResult(
  impl: ImplName,
  {
    inflight = 256,
    reqPerSec,
    p50us,
    warmup,
  }: { inflight?: number; reqPerSec: number; p50us: number; warmup?: RunSample['warmup'] },
): BenchResult {
  const run = (scale: number): RunSample => ({
    reqPerSec: reqPerSec * scale,
    count: Math.round(reqPerSec * scale * 0.25),
    elapsedSec: 0.25,
    p50us,
    p99us: p50us,
    p999us: p50us,
    errors: 0,
  });
  const runs = [run(0.9), run(1), run(1.1)];
  if (warmup !== undefined) runs[0]!.warmup = warmup;
  return {
    suite: 'invoke',
    impl,
    mode: 'async',
    bodyBytes: 128,
    inflight,
    connections: 1,
    serialize: impl === 'remoting-ts' ? 'JSON' : null,
    reqPerSec,
    p50us,
    p99us: p50us,
    p999us: p50us,
    runs,
  };
}

describe('notSteadyReason', () => {
  test('the quick run that made us "168×" gRPC: 256 callers, 1,876 req/s in 0.25 s windows, is not steady', () => {
    const grpc = asyncResult('grpc-js', {
      reqPerSec: 1876,
      p50us: 189_000,
      warmup: { ms: 125, callsPerCaller: 0.9 },
    });
    const reason = notSteadyReason(grpc);
    expect(reason).toMatch(/^not steady: /);
    expect(reason).toContain('its warm-up hit its limit (0.1 s) with 0.9 calls per caller (20 wanted)');
    expect(reason).toContain('a 0.25 s window held 1.6 calls per caller at a p50 of 189 ms (5 wanted)');
  });

  test('callers that cycled many times in warm-up and window are steady', () => {
    const raw = asyncResult('raw-net', {
      reqPerSec: 400_000,
      p50us: 600,
      warmup: { ms: 130, callsPerCaller: 180 },
    });
    expect(notSteadyReason(raw)).toBeNull();
  });

  test('a long enough warm-up is not enough if the window is still too short for the latency', () => {
    const slow = asyncResult('grpc-js', {
      reqPerSec: 2000,
      p50us: 128_000,
      warmup: { ms: 2600, callsPerCaller: 20.3 },
    });
    expect(notSteadyReason(slow)).toBe(
      'not steady: a 0.25 s window held 1.8 calls per caller at a p50 of 128 ms (5 wanted): longer runs (--duration) measure it',
    );
  });

  test('oneway and codec rows are not judged this way', () => {
    const oneway = { ...asyncResult('raw-net', { reqPerSec: 10, p50us: 1 }), mode: 'oneway' as const };
    expect(notSteadyReason(oneway)).toBeNull();
    const codec = { ...asyncResult('remoting-ts', { reqPerSec: 10, p50us: 1 }), suite: 'codec' };
    expect(notSteadyReason(codec)).toBeNull();
  });
});

describe('a not-steady baseline', () => {
  const raw = asyncResult('raw-net', {
    reqPerSec: 400_000,
    p50us: 600,
    warmup: { ms: 130, callsPerCaller: 180 },
  });
  const ours = asyncResult('remoting-ts', {
    reqPerSec: 315_000,
    p50us: 800,
    warmup: { ms: 130, callsPerCaller: 160 },
  });
  const grpc = asyncResult('grpc-js', {
    reqPerSec: 1876,
    p50us: 189_000,
    warmup: { ms: 125, callsPerCaller: 0.9 },
  });

  test('gives no ratio and no goal verdict, and the goal says why', () => {
    expect(throughputRatio(ours, [raw, ours, grpc], 'grpc-js')).toBeNull();
    expect(throughputRatio(ours, [raw, ours, grpc], 'raw-net')).toBeCloseTo(0.7875);
    expect(unjudgeableReason(grpc)).toMatch(/^grpc-js not steady: /);
    const vsGrpc = evaluateGoals([raw, ours, grpc]).find(
      (g) => g.name === 'remoting-ts JSON: async ×256, 128 B, 1 conn: req/s vs grpc-js',
    );
    expect(vsGrpc?.met).toBeNull();
    expect(vsGrpc?.measured).toMatch(/^not judged: grpc-js not steady: its warm-up hit its limit/);
  });

  test('is marked in the terminal table, with the reason under it', () => {
    const text = invokeTable([raw, grpc, ours]);
    const grpcLine = text.split('\n').find((line) => line.startsWith('async') && line.includes('grpc-js'))!;
    expect(grpcLine).toMatch(/not steady$/);
    expect(text).toContain('grpc-js async ×256, 128 B, 1 conn: not steady: its warm-up hit its limit');
    expect(text).toContain('no ratio is taken against it');
  });
});
