import { MessageChannel, type MessagePort, receiveMessageOnPort, Worker } from 'node:worker_threads';
import { reviveError } from './error-transfer.js';
import {
  BLOCKING_WORKER_MARKER,
  type BlockingWorkerData,
  type CallerMessage,
  SLOT_COUNT,
  Slot,
  type WorkerClientOptions,
  type WorkerMessage,
  WorkerState,
} from './thread-protocol.js';

/** The worker's answer to one message: the outcome it posted. */
export type WorkerAnswer = Extract<WorkerMessage, { id: number }>;

/** How a wait for the worker ended: its answer, or why there is none. */
export type WaitOutcome = WorkerAnswer | 'exited' | 'timed-out';

/** What the worker thread is started with. */
export interface WorkerSetup {
  /** The entry module (see worker-launch.ts). */
  entry: URL;
  /** Node options of the worker thread; the process's own when undefined. */
  execArgv: string[] | undefined;
  options: WorkerClientOptions;
  nameServerAddressList: string[] | undefined;
}

/**
 * The calling thread's end of a blocking client's worker thread: it starts
 * the thread, posts to it, and parks (Atomics.wait on NOTIFY) until the
 * thread answers, exits, or a deadline passes. It knows the thread protocol,
 * not remoting: what a call is and which error it ends in is
 * BlockingRemotingClient's business.
 */
export class WorkerLink {
  private readonly worker: Worker;
  private readonly port: MessagePort;
  private readonly state: Int32Array;
  private lastId = 0;
  /** What the worker reported before it went (an uncaught error, its exit), or its 'error' event: the first. */
  fault: unknown;

  /** @throws DataCloneError when the options hold something a thread cannot take (a function) */
  constructor(setup: WorkerSetup) {
    const shared = new SharedArrayBuffer(SLOT_COUNT * Int32Array.BYTES_PER_ELEMENT);
    this.state = new Int32Array(shared);
    const { port1, port2 } = new MessageChannel();
    this.port = port1;
    const workerData: BlockingWorkerData = {
      marker: BLOCKING_WORKER_MARKER,
      state: shared,
      port: port2,
      options: setup.options,
      nameServerAddressList: setup.nameServerAddressList,
    };
    try {
      this.worker = new Worker(setup.entry, {
        workerData,
        transferList: [port2],
        ...(setup.execArgv === undefined ? {} : { execArgv: setup.execArgv }),
      });
    } catch (error) {
      port1.close();
      throw error;
    }
    // The caller's process exits when its own work is done, whether or not the client was closed.
    this.worker.unref();
    // Without a listener a worker's uncaught error would be rethrown in this thread.
    this.worker.on('error', (error) => {
      this.fault ??= error;
    });
  }

  /** Whether the worker is listening, without waiting. */
  get ready(): boolean {
    return Atomics.load(this.state, Slot.WORKER_STATE) === WorkerState.READY;
  }

  /** Parks until the worker listens, has gone, or `deadline` (performance.now() time) passes. */
  awaitReady(deadline: number): 'ready' | 'exited' | 'timed-out' {
    for (;;) {
      const seen = Atomics.load(this.state, Slot.NOTIFY);
      const state = Atomics.load(this.state, Slot.WORKER_STATE);
      if (state === WorkerState.READY) return 'ready';
      if (state === WorkerState.EXITED) {
        this.drain(0);
        return 'exited';
      }
      const remaining = deadline - performance.now();
      if (remaining <= 0) return 'timed-out';
      Atomics.wait(this.state, Slot.NOTIFY, seen, remaining);
    }
  }

  /**
   * Posts a call and marks it, in CLAIM, as the one this thread waits for;
   * `frame` moves to the worker (its buffer is detached here). Returns its id.
   */
  sendCall(call: Omit<Extract<CallerMessage, { type: 'invoke' }>, 'id'>): number {
    const id = this.nextId();
    Atomics.store(this.state, Slot.CLAIM, id);
    this.port.postMessage({ ...call, id } satisfies CallerMessage, [call.frame.buffer as ArrayBuffer]);
    return id;
  }

  /** Asks the worker to close its client; returns the id its answer will carry. */
  sendClose(): number {
    const id = this.nextId();
    this.port.postMessage({ type: 'close', id } satisfies CallerMessage);
    return id;
  }

  /**
   * Stops waiting for call `id`. Returns whether the worker had already taken
   * it: when it had not, it never will (both sides move CLAIM with
   * compareExchange, so exactly one wins), and the request is never sent.
   */
  abandon(id: number): boolean {
    return Atomics.compareExchange(this.state, Slot.CLAIM, id, 0) !== id;
  }

  /**
   * Parks until the worker answers message `id`, exits, or `deadline` passes.
   * NOTIFY is read before the port is looked at: a message posted after the
   * look bumps NOTIFY past `seen`, so the wait returns at once instead of
   * sleeping through it.
   */
  awaitAnswer(id: number, deadline: number): WaitOutcome {
    for (;;) {
      const seen = Atomics.load(this.state, Slot.NOTIFY);
      const answer = this.drain(id);
      if (answer !== null) return answer;
      if (Atomics.load(this.state, Slot.WORKER_STATE) === WorkerState.EXITED) {
        // Everything it posted was posted before it said it exited.
        return this.drain(id) ?? 'exited';
      }
      const remaining = deadline - performance.now();
      if (remaining <= 0) return 'timed-out';
      Atomics.wait(this.state, Slot.NOTIFY, seen, remaining);
    }
  }

  /** Stops the worker thread (whatever it is doing) and closes this end of the channel. */
  stop(): void {
    void this.worker.terminate();
    this.port.close();
  }

  /** Takes every queued message; returns the answer to `id` if one was there. */
  private drain(id: number): WorkerAnswer | null {
    let answer: WorkerAnswer | null = null;
    for (let received = receiveMessageOnPort(this.port); received !== undefined; ) {
      const message = received.message as WorkerMessage;
      if (message.type === 'fatal') this.fault ??= reviveError(message.error);
      // Anything else answers a call the caller stopped waiting for: dropped.
      else if (message.id === id) answer = message;
      received = receiveMessageOnPort(this.port);
    }
    return answer;
  }

  private nextId(): number {
    // Positive int32s only: CLAIM holds -id once the worker has taken a call, and 0 means nobody.
    this.lastId = this.lastId >= 0x7fffffff ? 1 : this.lastId + 1;
    return this.lastId;
  }
}
