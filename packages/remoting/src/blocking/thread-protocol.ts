/**
 * What the calling thread and the blocking client's worker thread say to each
 * other: the messages on their MessagePort, the slots of the shared Int32Array
 * the caller parks on, and how a RemotingCommand crosses as frame bytes.
 *
 * The caller never listens on its port (a listener would need its event loop,
 * which is exactly what it cannot run while it waits): it parks in
 * `Atomics.wait` on the NOTIFY slot and, once woken, takes whatever is queued
 * with `receiveMessageOnPort`. The worker posts a message first and bumps
 * NOTIFY after, so a caller that reads NOTIFY before it looks at the port can
 * never sleep through a message (synckit's order, for the same reason).
 */
import type { MessagePort } from 'node:worker_threads';
import type { RemotingClientOptions } from '../client.js';
import type { RemotingCommand } from '../protocol/remoting-command.js';
import type { TransferredError } from './error-transfer.js';

/** Index of each Int32 slot in the shared state. */
export const Slot = {
  /** Bumped (never reset) after every message the worker posts, and when it exits; the caller waits on it. */
  NOTIFY: 0,
  /** The worker's life: one of {@link WorkerState}. */
  WORKER_STATE: 1,
  /**
   * The call the caller waits for: its id while the worker has not taken it,
   * minus its id once the worker has, 0 when the caller gave up first. The
   * worker takes a call and the caller gives up on one with compareExchange,
   * so exactly one of them wins, and a call the caller gave up on is never
   * sent: that is how `written: false` stays a guarantee.
   */
  CLAIM: 2,
} as const;

/** Slots in the shared state. */
export const SLOT_COUNT = 3;

/** Values of the WORKER_STATE slot. */
export const WorkerState = {
  /** Loading its modules; not yet listening. */
  STARTING: 0,
  /** Listening for calls. */
  READY: 1,
  /** Gone: exited, crashed, or failed to load. Set by the worker itself, as its last act. */
  EXITED: 2,
} as const;

/**
 * The RemotingClientOptions the worker's client is given: plain data that can
 * cross a thread. Not `rpcHooks` or `channelEventListener` (functions), not
 * `permitsAsync` (a blocking client makes no async calls), not `language`
 * (stamped on the request in the caller's thread, before it is encoded).
 */
export const WORKER_CLIENT_OPTION_KEYS = [
  'connectTimeoutMs',
  'permitsOneway',
  'channelMaxIdleTimeSeconds',
  'closeSocketIfTimeout',
  'maxFrameBytes',
  'writeBufferHighWaterMark',
  'writeBufferLowWaterMark',
  'responseTableScan',
  'tls',
  'scanAvailableNameServers',
  'scanAvailableNameServersIntervalMs',
] as const satisfies readonly (keyof RemotingClientOptions)[];

/** The settings of the worker's RemotingClient. */
export type WorkerClientOptions = Pick<RemotingClientOptions, (typeof WORKER_CLIENT_OPTION_KEYS)[number]>;

/** What the worker's entry module finds in `workerData`. */
export interface BlockingWorkerData {
  /** Tells the entry module it was started by a BlockingRemotingClient. */
  marker: typeof BLOCKING_WORKER_MARKER;
  /** The shared state, {@link SLOT_COUNT} Int32 slots. */
  state: SharedArrayBuffer;
  /** The worker's end of the channel. */
  port: MessagePort;
  options: WorkerClientOptions;
  /** Given to the client's updateNameServerAddressList before the first call, when set. */
  nameServerAddressList: string[] | undefined;
}

export const BLOCKING_WORKER_MARKER = 'remoting-ts.blocking-worker';

/**
 * Set on `globalThis` in the worker thread, where a blocking call would wait
 * for the very thread that has to answer it.
 */
export const INSIDE_BLOCKING_WORKER = Symbol.for('remoting-ts.inside-blocking-worker');

/** Caller → worker. */
export type CallerMessage =
  | {
      type: 'invoke';
      id: number;
      mode: 'sync' | 'oneway';
      address: string | null;
      timeoutMs: number;
      /** The request, a whole frame (length prefix included). */
      frame: Uint8Array;
    }
  | { type: 'close'; id: number };

/** Worker → caller. */
export type WorkerMessage =
  /** The call (or close) `id` succeeded; `frame` is the response, null for oneway and close. */
  | { type: 'done'; id: number; frame: Uint8Array | null }
  /** The call `id` failed with `error`. */
  | { type: 'failed'; id: number; error: TransferredError }
  /** Something the worker did not survive (an uncaught error, a failed load); it exits next. */
  | { type: 'fatal'; error: TransferredError };

/**
 * The whole frame of `command` in a buffer of its own, ready to be moved
 * (transferred, not copied) to the other thread. A Buffer from the encoder
 * may be a slice of Node's shared pool, and structured cloning a view copies
 * its entire backing store, so the bytes are gathered into an exact-size
 * ArrayBuffer once.
 */
export function frameBytes(command: RemotingCommand): Uint8Array {
  const [head, body] = command.encodeParts();
  const frame = new Uint8Array(head.length + (body?.length ?? 0));
  frame.set(head, 0);
  if (body !== null) frame.set(body, head.length);
  return frame;
}

/** `frame` as a Buffer over the same bytes (no copy), for RemotingCommand.decode. */
export function frameBuffer(frame: Uint8Array): Buffer {
  return Buffer.from(frame.buffer, frame.byteOffset, frame.byteLength);
}

/**
 * Frames crossing the thread boundary were produced by this package's own
 * encoder, not read from a peer: the peer-facing limit (maxFrameBytes)
 * applied where they came off the socket, not here.
 */
export const UNLIMITED_FRAME = { maxFrameBytes: Number.MAX_SAFE_INTEGER } as const;
