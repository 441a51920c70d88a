import { MessageChannel, type MessagePort, receiveMessageOnPort, Worker } from 'node:worker_threads';
import { NameServerList } from '../client/name-server-list.js';
import type { RemotingClientOptions } from '../client.js';
import { commandDefaults, RemotingCommand } from '../protocol/remoting-command.js';
import { type InvocationFacts, RemotingShutdownError } from '../remoting/errors.js';
import { reviveError } from './error-transfer.js';
import { type BlockingWorkerFailure, RemotingReentrantCallError, RemotingWorkerError } from './errors.js';
import {
  BLOCKING_WORKER_MARKER,
  type BlockingWorkerData,
  type CallerMessage,
  frameBuffer,
  frameBytes,
  INSIDE_BLOCKING_WORKER,
  SLOT_COUNT,
  Slot,
  UNLIMITED_FRAME,
  WORKER_CLIENT_OPTION_KEYS,
  type WorkerClientOptions,
  type WorkerMessage,
  WorkerState,
} from './thread-protocol.js';
import { workerEntry } from './worker-launch.js';

/**
 * Settings of a {@link BlockingRemotingClient}: those of
 * {@link RemotingClientOptions} that can cross into a worker thread, and how
 * that thread is run. `rpcHooks` and `channelEventListener` are not among
 * them: functions cannot cross a thread, and the calls run in the worker, not
 * in the caller's thread. To observe them there, load a module into the
 * worker with `workerExecArgv: ['--import', './observe.js']` that subscribes
 * to the `diagnosticsChannels` (they publish in the thread that makes the
 * call). `tls` must hold cloneable values only (strings and Buffers such as
 * `ca`, `cert`, `key`; no `checkServerIdentity` function, no SecureContext).
 */
export interface BlockingRemotingClientOptions
  extends Pick<
    RemotingClientOptions,
    | 'connectTimeoutMs'
    | 'permitsOneway'
    | 'channelMaxIdleTimeSeconds'
    | 'closeSocketIfTimeout'
    | 'maxFrameBytes'
    | 'writeBufferHighWaterMark'
    | 'writeBufferLowWaterMark'
    | 'responseTableScan'
    | 'tls'
    | 'language'
    | 'scanAvailableNameServers'
    | 'scanAvailableNameServersIntervalMs'
  > {
  /**
   * The name servers calls with a `null` address go to (RemotingClient
   * updateNameServerAddressList). Throws TypeError at construction when empty
   * or when an address is not host:port.
   */
  nameServerAddressList?: readonly string[];
  /** How long the first call waits for the worker thread to load and start listening. Default 10000. */
  workerStartTimeoutMs?: number;
  /**
   * How long past a call's timeout the caller waits for the worker's answer
   * before declaring the worker unresponsive and stopping it. The worker
   * fails a call at its own deadline; this only bounds a worker that hangs.
   * Default 1000.
   */
  workerGraceMs?: number;
  /** Node options of the worker thread (e.g. `['--import', './observe.js']`). Default: the process's own. */
  workerExecArgv?: string[];
  /**
   * Where the worker's entry module is, for bundled applications (a file
   * path or URL). Default: `blocking-worker.js` beside this module.
   */
  workerUrl?: string | URL;
}

/** The first call waits this long for a new worker thread to load and start listening. */
const DEFAULT_WORKER_START_TIMEOUT_MS = 10_000;
/**
 * Past a call's timeout, the caller waits this much longer for the worker's
 * answer. RocketMQ's response-table sweep also allows a call 1 s past its
 * deadline before failing it.
 */
const DEFAULT_WORKER_GRACE_MS = 1000;
/** close() lets the worker flush and close its connections for this long, then stops it regardless. */
const CLOSE_WAIT_MS = 5000;
/** What errors name as the remote of a call made with no address (it goes to the name server list). */
const NAME_SERVER_TARGET = '(name server list)';

/** Per thread (globalThis is): set while a blocking call parks this thread. */
const CALL_IN_PROGRESS = Symbol.for('remoting-ts.blocking-call-in-progress');

type GuardedGlobal = { [CALL_IN_PROGRESS]?: boolean; [INSIDE_BLOCKING_WORKER]?: boolean };
const threadGlobal = globalThis as GuardedGlobal;

function refuseInsideBlockingWorker(): void {
  if (threadGlobal[INSIDE_BLOCKING_WORKER] === true) throw new RemotingReentrantCallError('blocking-worker');
}

type Outcome = Extract<WorkerMessage, { id: number }> | 'exited' | 'timed-out';

/**
 * A RocketMQ remoting client whose calls block the calling thread until they
 * end, as Java's `invokeSync` does: `invokeSync` returns the response itself,
 * not a promise. The connections live in a worker thread running an ordinary
 * {@link RemotingClient}; the caller posts each request there as frame bytes
 * and parks on `Atomics.wait` over a SharedArrayBuffer until the worker posts
 * the outcome (the design synckit uses). Timeouts and failures arrive as the
 * same typed errors RemotingClient raises (RemotingTimeoutError,
 * RemotingSendRequestError, RemotingConnectError, …) with `code`,
 * `retriable`, `written`, the facts and the message intact.
 *
 * Use it where code must stay synchronous: scripts, start-up configuration
 * read before anything else runs, a synchronous plugin or callback API.
 * **Never on a server's own event loop**, or on any thread that serves other
 * work: while a call waits, that thread runs nothing else (no timers, no I/O,
 * no other connection), so a RemotingServer on it answers nobody, itself
 * included (a call to it times out). Everywhere else, `RemotingClient` and
 * `await` cost less and block nothing.
 *
 * The worker thread never keeps the process alive, even without close(); a
 * call from inside another blocking call, or from the worker thread itself,
 * throws RemotingReentrantCallError. If the worker dies or hangs, the call
 * fails with RemotingWorkerError after at most its timeout plus
 * `workerGraceMs`, and the client makes no more calls.
 */
export class BlockingRemotingClient {
  private readonly worker: Worker;
  private readonly port: MessagePort;
  private readonly state: Int32Array;
  private readonly language: number | undefined;
  private readonly startTimeoutMs: number;
  private readonly startDeadline: number;
  private readonly graceMs: number;
  private ready = false;
  private closed = false;
  private lastId = 0;
  /** Once the worker failed: how, and why; every later call fails with it. */
  private broken: { failure: BlockingWorkerFailure; cause: unknown } | null = null;
  /** What the worker reported before it went (an uncaught error), or the Worker's 'error' event. */
  private workerFault: unknown;

  /**
   * Starts the worker thread (without waiting for it: the first call does).
   * @throws TypeError on a bad `nameServerAddressList`, or options that cannot cross a thread
   * @throws RemotingReentrantCallError inside a blocking client's own worker thread
   */
  constructor(options: BlockingRemotingClientOptions = {}) {
    refuseInsideBlockingWorker();
    const {
      nameServerAddressList,
      workerStartTimeoutMs,
      workerGraceMs,
      workerExecArgv,
      workerUrl,
      language,
    } = options;
    // The same rule, and the same TypeError, as RemotingClient.updateNameServerAddressList.
    if (nameServerAddressList !== undefined) new NameServerList().update(nameServerAddressList);
    this.language = language;
    this.graceMs = workerGraceMs ?? DEFAULT_WORKER_GRACE_MS;
    this.startTimeoutMs = workerStartTimeoutMs ?? DEFAULT_WORKER_START_TIMEOUT_MS;
    this.startDeadline = performance.now() + this.startTimeoutMs;
    const entry = workerEntry(workerUrl);
    const shared = new SharedArrayBuffer(SLOT_COUNT * Int32Array.BYTES_PER_ELEMENT);
    this.state = new Int32Array(shared);
    const { port1, port2 } = new MessageChannel();
    this.port = port1;
    const workerData: BlockingWorkerData = {
      marker: BLOCKING_WORKER_MARKER,
      state: shared,
      port: port2,
      options: workerClientOptions(options),
      nameServerAddressList: nameServerAddressList === undefined ? undefined : [...nameServerAddressList],
    };
    try {
      this.worker = new Worker(entry, {
        workerData,
        transferList: [port2],
        ...(workerExecArgv === undefined ? {} : { execArgv: workerExecArgv }),
      });
    } catch (error) {
      port1.close();
      if (error instanceof Error && error.name === 'DataCloneError') {
        throw new TypeError(
          `BlockingRemotingClient options must be cloneable to reach its worker thread (${error.message}); ` +
            'tls may hold strings and Buffers only',
          { cause: error },
        );
      }
      throw error;
    }
    // The caller's process exits when its own work is done, whether or not close() was called.
    this.worker.unref();
    // Without a listener a worker's uncaught error would be rethrown in this thread.
    this.worker.on('error', (error) => {
      this.workerFault ??= error;
    });
  }

  /**
   * Sends `request` to `address` ("host:port", or `null` for the name server
   * list) and blocks this thread until the response arrives, then returns it
   * (RocketMQ's invokeSync). Whatever the response code, it is returned.
   * `timeoutMs` covers connecting, waiting for a writable connection and the
   * response, as in RemotingClient.invokeSync.
   * @throws RemotingTimeoutError no response in time (`written` says whether the peer may have it)
   * @throws RemotingSendRequestError could not be sent, or the connection closed before the response
   * @throws RemotingConnectError could not connect
   * @throws RemotingShutdownError the client was closed
   * @throws RemotingWorkerError the worker thread failed to start, exited, or stopped answering
   * @throws RemotingReentrantCallError called from inside a blocking call, or in the worker thread
   * @throws RangeError `timeoutMs` is not a finite number ≥ 0 (the wait must be bounded)
   */
  invokeSync(address: string | null, request: RemotingCommand, timeoutMs: number): RemotingCommand {
    const frame = this.call('sync', address, request, timeoutMs, this.invokeSync);
    return RemotingCommand.decode(frameBuffer(frame as Uint8Array), UNLIMITED_FRAME);
  }

  /**
   * Sends a request that gets no response (RocketMQ's invokeOneway), blocking
   * until it is handed to the connection, as RemotingClient.invokeOneway
   * resolves.
   * @throws RemotingTooMuchRequestError no oneway permit in time
   * @throws RemotingTimeoutError the connection stayed unwritable past `timeoutMs` (not sent)
   * @throws RemotingSendRequestError, RemotingConnectError, RemotingShutdownError, RemotingWorkerError,
   *   RemotingReentrantCallError, RangeError: as invokeSync
   */
  invokeOneway(address: string | null, request: RemotingCommand, timeoutMs: number): void {
    this.call('oneway', address, request, timeoutMs, this.invokeOneway);
  }

  /**
   * Flushes what is queued, closes every connection and stops the worker
   * thread, waiting for that at most a few seconds. Later calls throw
   * RemotingShutdownError. Calling it again does nothing.
   */
  close(): void {
    if (this.closed) return;
    this.enterCall();
    this.closed = true;
    try {
      // A worker still loading has sent nothing: there is nothing to flush.
      if (this.broken === null && Atomics.load(this.state, Slot.WORKER_STATE) === WorkerState.READY) {
        const id = this.nextId();
        this.post({ type: 'close', id });
        // Whatever comes back (or nothing), the worker is stopped below.
        this.awaitOutcome(id, performance.now() + CLOSE_WAIT_MS);
      }
    } finally {
      this.stopWorker();
      leaveCall();
    }
  }

  private call(
    mode: 'sync' | 'oneway',
    address: string | null,
    request: RemotingCommand,
    timeoutMs: number,
    api: (...args: never[]) => unknown,
  ): Uint8Array | null {
    const started = performance.now();
    if (!Number.isFinite(timeoutMs) || timeoutMs < 0) {
      throw new RangeError(
        `timeoutMs must be a finite number ≥ 0 (a blocking wait must end), got ${timeoutMs}`,
      );
    }
    this.enterCall();
    try {
      const facts = (written: boolean): InvocationFacts => ({
        remoteAddress: address ?? NAME_SERVER_TARGET,
        requestCode: request.code,
        opaque: request.opaque,
        elapsedMs: Math.round(performance.now() - started),
        timeoutMs,
        written,
      });
      if (this.closed) throw new RemotingShutdownError('client');
      if (this.broken !== null) {
        throw new RemotingWorkerError(this.broken.failure, facts(false), this.graceMs, this.broken.cause);
      }
      const startFailure = this.awaitReady();
      if (startFailure !== null) {
        throw new RemotingWorkerError(startFailure, facts(false), this.graceMs, this.workerFault);
      }
      const frame = this.encode(request);
      const id = this.nextId();
      Atomics.store(this.state, Slot.CLAIM, id);
      this.post({ type: 'invoke', id, mode, address, timeoutMs, frame }, [frame.buffer as ArrayBuffer]);
      const outcome = this.awaitOutcome(id, performance.now() + timeoutMs + this.graceMs);
      if (outcome === 'exited' || outcome === 'timed-out') {
        // Whoever moves CLAIM first wins: if the worker never took the request, it never will.
        const taken = Atomics.compareExchange(this.state, Slot.CLAIM, id, 0) !== id;
        const failure = outcome === 'exited' ? 'exited' : 'unresponsive';
        this.breakDown(failure);
        throw new RemotingWorkerError(failure, facts(taken), this.graceMs, this.workerFault);
      }
      if (outcome.type === 'failed') throw reviveError(outcome.error);
      return outcome.frame;
    } catch (error) {
      // The stack starts at the caller's line, not in this file or the worker.
      if (error instanceof Error) Error.captureStackTrace(error, api);
      throw error;
    } finally {
      leaveCall();
    }
  }

  /** The request's frame. Like RemotingClient, stamps `language` on a request that kept the process default. */
  private encode(request: RemotingCommand): Uint8Array {
    if (this.language !== undefined && request.language === commandDefaults.language) {
      request.language = this.language;
    }
    return frameBytes(request);
  }

  /** Parks until the worker is listening; returns null then, or how it failed. */
  private awaitReady(): BlockingWorkerFailure | null {
    if (this.ready) return null;
    for (;;) {
      const seen = Atomics.load(this.state, Slot.NOTIFY);
      const state = Atomics.load(this.state, Slot.WORKER_STATE);
      if (state === WorkerState.READY) {
        this.ready = true;
        return null;
      }
      const remaining = this.startDeadline - performance.now();
      if (state === WorkerState.EXITED || remaining <= 0) {
        this.drainMessages(0);
        if (state !== WorkerState.EXITED) {
          this.workerFault ??= new Error(
            `the worker thread did not start within workerStartTimeoutMs (${this.startTimeoutMs} ms)`,
          );
        }
        this.breakDown('start-failed');
        return 'start-failed';
      }
      Atomics.wait(this.state, Slot.NOTIFY, seen, remaining);
    }
  }

  /**
   * Parks until the worker answers call `id`, exits, or `deadline` passes.
   * NOTIFY is read before the port is looked at: a message posted after the
   * look bumps NOTIFY past `seen`, so the wait returns at once instead of
   * sleeping through it.
   */
  private awaitOutcome(id: number, deadline: number): Outcome {
    for (;;) {
      const seen = Atomics.load(this.state, Slot.NOTIFY);
      const answer = this.drainMessages(id);
      if (answer !== null) return answer;
      if (Atomics.load(this.state, Slot.WORKER_STATE) === WorkerState.EXITED) {
        // Everything it posted was posted before it said it exited.
        return this.drainMessages(id) ?? 'exited';
      }
      const remaining = deadline - performance.now();
      if (remaining <= 0) return 'timed-out';
      Atomics.wait(this.state, Slot.NOTIFY, seen, remaining);
    }
  }

  /** Takes every queued message; returns the answer to `id` if one was there. */
  private drainMessages(id: number): Extract<WorkerMessage, { id: number }> | null {
    let answer: Extract<WorkerMessage, { id: number }> | null = null;
    for (let received = receiveMessageOnPort(this.port); received !== undefined; ) {
      const message = received.message as WorkerMessage;
      if (message.type === 'fatal') this.workerFault ??= reviveError(message.error);
      // Anything else is the late answer to a call the caller stopped waiting for: dropped.
      else if (message.id === id) answer = message;
      received = receiveMessageOnPort(this.port);
    }
    return answer;
  }

  private post(message: CallerMessage, transfer: ArrayBuffer[] = []): void {
    this.port.postMessage(message, transfer);
  }

  private nextId(): number {
    // Positive int32s only: CLAIM holds -id once the worker has taken a call, and 0 means nobody.
    this.lastId = this.lastId >= 0x7fffffff ? 1 : this.lastId + 1;
    return this.lastId;
  }

  private breakDown(failure: BlockingWorkerFailure): void {
    this.broken ??= { failure, cause: this.workerFault };
    this.stopWorker();
  }

  private stopWorker(): void {
    void this.worker.terminate();
    this.port.close();
  }

  private enterCall(): void {
    refuseInsideBlockingWorker();
    if (threadGlobal[CALL_IN_PROGRESS] === true) throw new RemotingReentrantCallError('nested-call');
    threadGlobal[CALL_IN_PROGRESS] = true;
  }
}

function leaveCall(): void {
  threadGlobal[CALL_IN_PROGRESS] = false;
}

/**
 * The RemotingClient settings sent to the worker, taken key by key so that a
 * key the type does not know (a hook copied from RemotingClientOptions) stays
 * behind instead of failing to clone.
 */
function workerClientOptions(options: BlockingRemotingClientOptions): WorkerClientOptions {
  const picked: Record<string, unknown> = {};
  for (const key of WORKER_CLIENT_OPTION_KEYS) {
    if (options[key] !== undefined) picked[key] = options[key];
  }
  return picked as WorkerClientOptions;
}
