/**
 * The shapes every part of the benchmark agrees on: what a case is, what one
 * measured run yields, and what the JSON report holds.
 */
import type { BrokerSection } from './suites/broker-types.js';

/**
 * `remoting-ts-blocking` is remoting-ts called through BlockingRemotingClient:
 * the same server, a call that parks the calling thread.
 */
export type ImplName = 'remoting-ts' | 'remoting-ts-blocking' | 'raw-net' | 'grpc-js';
export type InvokeMode = 'sync' | 'async' | 'oneway';
export type CodecMode = 'encode+decode' | 'frame-decoder';
export type Mode = InvokeMode | CodecMode;
/** Header serialization of remoting-ts; null for implementations that have no such choice. */
export type Serialize = 'JSON' | 'ROCKETMQ' | null;

/** One measured repetition of a case. */
export interface RunSample {
  /** Completed operations per second over the measured window. */
  reqPerSec: number;
  /** Operations completed inside the window. */
  count: number;
  elapsedSec: number;
  /** Latency percentiles of this run in microseconds; null where latency is not measured (oneway, codec). */
  p50us: number | null;
  p99us: number | null;
  p999us: number | null;
  /** Calls that failed (timeouts, busy responses); a run with errors is reported, never hidden. */
  errors: number;
  /**
   * CPU time the client and the server process spent per completed operation
   * in this run, in µs (invoke cases). Unlike a rate it barely moves when other
   * work shares the machine, so it is the figure to compare across runs.
   */
  clientCpuUsPerOp?: number | null;
  serverCpuUsPerOp?: number | null;
  /**
   * V8 heap bytes the client process allocated per completed operation in this
   * run (Buffer contents, which live outside the heap, not included), and the
   * share of the run's wall time it spent collecting garbage (0..1).
   */
  clientHeapBytesPerOp?: number | null;
  clientGcShare?: number | null;
  /**
   * On the first run of a request/response case only: how long the warm-up
   * before it lasted (ms) and how many calls each caller completed in it on
   * average (it lasts until they have cycled, within limits; see measure.ts).
   */
  warmup?: { ms: number; callsPerCaller: number };
}

/** One row of the JSON report: a case and the summary of its runs. */
export interface BenchResult {
  suite: string;
  impl: ImplName;
  mode: Mode;
  bodyBytes: number;
  /** Requests in flight in total (over all connections); null for codec cases. */
  inflight: number | null;
  connections: number | null;
  serialize: Serialize;
  /** Median over runs. */
  reqPerSec: number;
  p50us: number | null;
  p99us: number | null;
  p999us: number | null;
  runs: RunSample[];
  /** Only for frame-decoder cases: the size of the chunks the stream was cut into. */
  chunkBytes?: number;
  /** Only for cluster cases: server processes sharing the port under node:cluster. */
  serverWorkers?: number;
}

export interface MachineInfo {
  cpuModel: string;
  cores: number;
  nodeVersion: string;
  platform: string;
  arch: string;
  totalMemoryBytes: number;
  loadAverage: number[];
  /** Always true: client and server run as separate processes on this one machine. */
  clientAndServerShareMachine: true;
  note: string;
}

/** A case the run did not measure, and why (quick subset, not applicable, implementation missing, failure). */
export interface SkippedCase {
  suite: string;
  impl: ImplName | '*';
  description: string;
  reason: string;
}

export interface GoalVerdict {
  name: string;
  target: string;
  measured: string;
  /** null when a figure the goal needs is missing from the run. */
  met: boolean | null;
  /**
   * True in a quick run: short runs on a shared machine make the verdict a
   * hint, not a finding (judge with a full run or `--goals`).
   */
  indicative?: boolean;
}

export interface RunSettings {
  quick: boolean;
  suites: string[];
  durationSec: number;
  /** The least warm-up per case; a request/response case warms up until its callers have cycled, up to `maxWarmupSec`. */
  warmupSec: number;
  maxWarmupSec?: number;
  repeat: number;
  /** How the workers ran: TypeScript through tsx, or an esbuild bundle (--bundle). */
  workers: 'tsx' | 'bundle';
  startedAt: string;
  finishedAt: string;
}

export interface BenchReport {
  machine: MachineInfo;
  settings: RunSettings;
  results: BenchResult[];
  /** The broker suite's rows, fetch-path rows and Kafka reference, when it ran. */
  broker?: BrokerSection;
  skipped: SkippedCase[];
  goals: GoalVerdict[];
  notes: string[];
}
