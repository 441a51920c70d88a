/** Messages between the parent (the bench command) and its worker processes. */
import type { CodecMode, ImplName, InvokeMode, RunSample, Serialize } from '../types.js';

export interface Timing {
  /** The least warm-up per case, in ms. */
  warmupMs: number;
  /**
   * The most warm-up of a request/response case, in ms: it goes on past
   * `warmupMs` until its callers have cycled (see WARMUP_CALLS_PER_CALLER).
   */
  maxWarmupMs?: number;
  durationMs: number;
  repeat: number;
}

export interface InvokeCaseSpec extends Timing {
  impl: ImplName;
  mode: InvokeMode;
  bodyBytes: number;
  inflight: number;
  connections: number;
  serialize: Serialize;
}

export interface CodecCaseSpec extends Timing {
  mode: CodecMode;
  serialize: 'JSON' | 'ROCKETMQ';
  bodyBytes: number;
  /** frame-decoder only: the stream is fed in chunks of this many bytes. */
  chunkBytes?: number;
}

export type ParentMessage =
  | { type: 'run-invoke'; id: number; port: number; spec: InvokeCaseSpec }
  | { type: 'run-codec'; id: number; spec: CodecCaseSpec }
  | { type: 'cpu'; id: number }
  | { type: 'stop' };

/** A measured run's edge, announced by the client so the parent can read the server's CPU time there. */
export type RunEdge = 'start' | 'end';

export type WorkerMessage =
  | { type: 'ready'; port?: number }
  | { type: 'run-done'; id: number; runs: RunSample[] }
  | { type: 'run-failed'; id: number; message: string }
  | { type: 'mark'; id: number; run: number; edge: RunEdge }
  | { type: 'cpu'; id: number; cpuUs: number }
  | { type: 'fatal'; message: string };

export type WorkerRole = 'server' | 'client' | 'codec';
