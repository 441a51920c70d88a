import type { ImplName, Serialize } from '../types.js';

/** The echo server one implementation runs in the server process. */
export interface EchoServer {
  /** Listens on 127.0.0.1, port 0; resolves with the port the OS chose. */
  start(): Promise<number>;
  stop(): Promise<void>;
}

export interface ConnectOptions {
  host: string;
  port: number;
  bodyBytes: number;
  serialize: Serialize;
}

/**
 * One client connection in the client process. Every implementation offers
 * the same three ways to call, so the measuring loops are shared and only the
 * transport differs.
 */
export interface EchoConnection {
  /** Sends one echo request; `done` runs once when its echo (or an error) arrives. */
  call(done: (error: Error | null) => void): void;
  /** An awaited call: the way "sync" user code waits for its answer. */
  callSync(): Promise<void>;
  /**
   * Sends oneway messages as fast as this transport accepts them (its own
   * back-pressure decides) until `shouldStop()` is true; resolves with the count sent.
   */
  sendOnewayUntil?(shouldStop: () => boolean): Promise<number>;
  /**
   * The server's total of oneway messages received. The answer travels on this
   * connection after everything sent before it, so it counts all of those.
   */
  onewayReceived?(): Promise<number>;
  close(): Promise<void>;
}

/**
 * The echo server run by several processes under node:cluster, seen from the
 * primary (the bench's server process): one port, round-robin over workers.
 */
export interface ClusteredEchoServer {
  /** The port every worker shares. */
  readonly port: number;
  /** CPU time (user + system, µs) of the primary and every worker so far. */
  cpuUs(): Promise<number>;
  stop(): Promise<void>;
}

export interface Impl {
  readonly name: ImplName;
  createServer(): EchoServer;
  connect(options: ConnectOptions): Promise<EchoConnection>;
  /**
   * In the primary: forks `workers` processes (each runs this same script and
   * reaches `serveClusterWorker`) and resolves once all listen on one port.
   * Absent when the implementation is not measured under node:cluster.
   */
  startCluster?(workers: number): Promise<ClusteredEchoServer>;
  /** In a worker forked by `startCluster`: serve until the primary says stop. */
  serveClusterWorker?(): Promise<void>;
}

/** Request code of the echo processor (remoting-ts); raw-net uses the same number as its frame kind. */
export const ECHO_CODE = 1;
/** Request code that counts oneway messages, and answers a count query. */
export const ONEWAY_COUNT_CODE = 2;
/** Per-call timeout: generous, because 1024 × 256 KiB in flight on a loaded machine is slow, not broken. */
export const CALL_TIMEOUT_MS = 30_000;
