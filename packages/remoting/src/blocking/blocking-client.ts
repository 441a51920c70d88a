import type { RemotingClientOptions } from '../client.js';
import { NameServerList } from '../name-server/list.js';
import { commandDefaults, RemotingCommand } from '../protocol/remoting-command.js';
import { type InvocationFacts, RemotingShutdownError } from '../remoting/errors.js';
import { reviveError } from './error-transfer.js';
import { type BlockingWorkerFailure, RemotingReentrantCallError, RemotingWorkerError } from './errors.js';
import {
  frameBuffer,
  frameBytes,
  INSIDE_BLOCKING_WORKER,
  UNLIMITED_FRAME,
  WORKER_CLIENT_OPTION_KEYS,
  type WorkerClientOptions,
} from './thread-protocol.js';
import { workerEntry } from './worker-launch.js';
import { WorkerLink } from './worker-link.js';

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
  private readonly link: WorkerLink;
  private readonly language: number | undefined;
  private readonly startTimeoutMs: number;
  private readonly startDeadline: number;
  private readonly graceMs: number;
  private ready = false;
  private closed = false;
  /** Once the worker failed: how, and why; every later call fails with it. */
  private broken: { failure: BlockingWorkerFailure; cause: unknown } | null = null;

  /**
   * Starts the worker thread (without waiting for it: the first call does).
   * @throws TypeError on a bad `nameServerAddressList`, or options that cannot cross a thread
   * @throws RemotingReentrantCallError inside a blocking client's own worker thread
   */
  constructor(options: BlockingRemotingClientOptions = {}) {
    refuseInsideBlockingWorker();
    const { nameServerAddressList, workerStartTimeoutMs, workerGraceMs, workerExecArgv, workerUrl } = options;
    // The same rule, and the same TypeError, as RemotingClient.updateNameServerAddressList.
    if (nameServerAddressList !== undefined) new NameServerList().update(nameServerAddressList);
    this.language = options.language;
    this.graceMs = workerGraceMs ?? DEFAULT_WORKER_GRACE_MS;
    this.startTimeoutMs = workerStartTimeoutMs ?? DEFAULT_WORKER_START_TIMEOUT_MS;
    this.startDeadline = performance.now() + this.startTimeoutMs;
    try {
      this.link = new WorkerLink({
        entry: workerEntry(workerUrl),
        execArgv: workerExecArgv,
        options: workerClientOptions(options),
        nameServerAddressList: nameServerAddressList === undefined ? undefined : [...nameServerAddressList],
      });
    } catch (error) {
      if (error instanceof Error && error.name === 'DataCloneError') {
        throw new TypeError(
          `BlockingRemotingClient options must be cloneable to reach its worker thread (${error.message}); ` +
            'tls may hold strings and Buffers only',
          { cause: error },
        );
      }
      throw error;
    }
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
    enterCall();
    this.closed = true;
    try {
      // A worker still loading has sent nothing: there is nothing to flush.
      if (this.broken === null && this.link.ready) {
        // Whatever comes back (or nothing), the worker is stopped below.
        this.link.awaitAnswer(this.link.sendClose(), performance.now() + CLOSE_WAIT_MS);
      }
    } finally {
      this.link.stop();
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
    enterCall();
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
      if (this.broken === null) this.awaitReady();
      if (this.broken !== null) {
        throw new RemotingWorkerError(this.broken.failure, facts(false), this.graceMs, this.broken.cause);
      }
      const frame = this.encode(request);
      const id = this.link.sendCall({ type: 'invoke', mode, address, timeoutMs, frame });
      const outcome = this.link.awaitAnswer(id, performance.now() + timeoutMs + this.graceMs);
      if (outcome === 'exited' || outcome === 'timed-out') {
        const taken = this.link.abandon(id);
        const failure = this.breakDown(outcome === 'exited' ? 'exited' : 'unresponsive');
        throw new RemotingWorkerError(failure.failure, facts(taken), this.graceMs, failure.cause);
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

  /** Parks until the worker listens; a worker that will not is broken down as 'start-failed'. */
  private awaitReady(): void {
    if (this.ready) return;
    const outcome = this.link.awaitReady(this.startDeadline);
    if (outcome === 'ready') {
      this.ready = true;
      return;
    }
    if (outcome === 'timed-out') {
      this.link.fault ??= new Error(
        `the worker thread did not start within workerStartTimeoutMs (${this.startTimeoutMs} ms)`,
      );
    }
    this.breakDown('start-failed');
  }

  /** The client is unusable from now on: its worker is stopped, and the first failure is kept. */
  private breakDown(failure: BlockingWorkerFailure): { failure: BlockingWorkerFailure; cause: unknown } {
    this.broken ??= { failure, cause: this.link.fault };
    this.link.stop();
    return this.broken;
  }
}

function refuseInsideBlockingWorker(): void {
  if (threadGlobal[INSIDE_BLOCKING_WORKER] === true) throw new RemotingReentrantCallError('blocking-worker');
}

function enterCall(): void {
  refuseInsideBlockingWorker();
  if (threadGlobal[CALL_IN_PROGRESS] === true) throw new RemotingReentrantCallError('nested-call');
  threadGlobal[CALL_IN_PROGRESS] = true;
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
