import { median, medianOrNull } from './stats.js';
import type { BenchResult, ImplName, Mode, RunSample, Serialize } from './types.js';

export interface CaseIdentity {
  suite: string;
  impl: ImplName;
  mode: Mode;
  bodyBytes: number;
  inflight: number | null;
  connections: number | null;
  serialize: Serialize;
  chunkBytes?: number;
  /** Server processes under node:cluster (the cluster suite); absent for a single-process server. */
  serverWorkers?: number;
}

/** A result row from the runs of one case: each figure is the median over runs. */
export function summarizeRuns(identity: CaseIdentity, runs: RunSample[]): BenchResult {
  const result: BenchResult = {
    suite: identity.suite,
    impl: identity.impl,
    mode: identity.mode,
    bodyBytes: identity.bodyBytes,
    inflight: identity.inflight,
    connections: identity.connections,
    serialize: identity.serialize,
    reqPerSec: median(runs.map((r) => r.reqPerSec)),
    p50us: medianOrNull(runs.map((r) => r.p50us)),
    p99us: medianOrNull(runs.map((r) => r.p99us)),
    p999us: medianOrNull(runs.map((r) => r.p999us)),
    runs,
  };
  if (identity.chunkBytes !== undefined) result.chunkBytes = identity.chunkBytes;
  if (identity.serverWorkers !== undefined) result.serverWorkers = identity.serverWorkers;
  return result;
}
