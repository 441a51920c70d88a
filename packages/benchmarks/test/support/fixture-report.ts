import type { BenchReport, BenchResult, ImplName, InvokeMode, Serialize } from '../../src/types.js';

/** A small made-up report: three implementations, async at three in-flight levels, sync, oneway, one codec row. */
export function fixtureReport(): BenchReport {
  const results: BenchResult[] = [];
  const add = (
    impl: ImplName,
    serialize: Serialize,
    mode: InvokeMode,
    inflight: number,
    reqPerSec: number,
  ) => {
    const latency = mode === 'oneway' ? null : Math.round((1e6 * inflight) / reqPerSec);
    const run = (scale: number) => ({
      reqPerSec: reqPerSec * scale,
      count: reqPerSec * scale,
      elapsedSec: 1,
      p50us: latency,
      p99us: latency === null ? null : latency * 3,
      p999us: latency === null ? null : latency * 9,
      errors: 0,
      // gRPC spends tens of times the CPU per call of the others, as measured.
      clientCpuUsPerOp: (impl === 'grpc-js' ? 80 : 2) / scale,
      serverCpuUsPerOp: (impl === 'grpc-js' ? 40 : 1) / scale,
      clientHeapBytesPerOp: 500,
      clientGcShare: 0.02,
    });
    results.push({
      suite: 'invoke',
      impl,
      mode,
      bodyBytes: 128,
      inflight,
      connections: 1,
      serialize,
      reqPerSec,
      p50us: latency,
      p99us: latency === null ? null : latency * 3,
      p999us: latency === null ? null : latency * 9,
      // Three runs around the median: the charts draw their spread as error bars.
      runs: [run(0.9), run(1), run(1.1)],
    });
    // gRPC at 256 in flight warmed up like the quick run that made us "168×" it: not steady.
    const added = results.at(-1)!;
    if (impl === 'grpc-js' && mode === 'async' && inflight === 256)
      added.runs[0]!.warmup = { ms: 125, callsPerCaller: 0.9 };
  };
  const series: [ImplName, Serialize, number][] = [
    ['raw-net', null, 1],
    ['grpc-js', null, 0.05],
    ['remoting-ts', 'JSON', 0.8],
    ['remoting-ts', 'ROCKETMQ', 0.85],
  ];
  for (const [impl, serialize, factor] of series) {
    add(impl, serialize, 'sync', 1, 30_000 * factor);
    for (const inflight of [1, 16, 256])
      add(impl, serialize, 'async', inflight, Math.min(inflight, 20) * 30_000 * factor);
    if (impl !== 'grpc-js') add(impl, serialize, 'oneway', 256, 1_000_000 * factor);
  }
  results.push({
    suite: 'codec',
    impl: 'remoting-ts',
    mode: 'frame-decoder',
    bodyBytes: 128,
    inflight: null,
    connections: null,
    serialize: 'JSON',
    chunkBytes: 1,
    reqPerSec: 9000,
    p50us: null,
    p99us: null,
    p999us: null,
    runs: [
      { reqPerSec: 9000, count: 9000, elapsedSec: 1, p50us: null, p99us: null, p999us: null, errors: 0 },
    ],
  });
  return {
    machine: {
      cpuModel: 'Test CPU <with markup & quotes">',
      cores: 2,
      nodeVersion: process.version,
      platform: 'linux',
      arch: 'x64',
      totalMemoryBytes: 1 << 30,
      loadAverage: [0, 0, 0],
      clientAndServerShareMachine: true,
      note: 'client and server share this machine',
    },
    settings: {
      quick: true,
      suites: ['invoke', 'codec'],
      durationSec: 1,
      warmupSec: 0.5,
      repeat: 1,
      workers: 'tsx',
      startedAt: '2026-01-01T00:00:00.000Z',
      finishedAt: '2026-01-01T00:01:00.000Z',
    },
    results,
    skipped: [{ suite: 'invoke', impl: 'grpc-js', description: 'oneway', reason: 'not applicable' }],
    goals: [
      { name: 'a goal', target: '≥ 0.8× raw-net', measured: '0.80×', met: true, indicative: true },
      { name: 'another goal', target: '≥ 3× grpc-js', measured: '0.95×', met: false, indicative: true },
    ],
    notes: ['a note'],
  };
}
