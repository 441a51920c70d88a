/**
 * The thread a BlockingRemotingClient starts: it owns an ordinary
 * RemotingClient and its sockets, runs each call the caller posts, and posts
 * the outcome back, bumping the NOTIFY slot so the parked caller wakes. Its
 * event loop is the one the caller's thread gives up while it waits.
 *
 * Published as `@remoting-ts/remoting/blocking-worker` so that bundlers can
 * emit it as an entry of its own; it does nothing outside that thread.
 */
import { workerData } from 'node:worker_threads';
import { RemotingClient } from '../client.js';
import { RemotingCommand } from '../protocol/remoting-command.js';
import { transferError } from './error-transfer.js';
import {
  BLOCKING_WORKER_MARKER,
  type BlockingWorkerData,
  type CallerMessage,
  frameBuffer,
  frameBytes,
  INSIDE_BLOCKING_WORKER,
  Slot,
  UNLIMITED_FRAME,
  type WorkerMessage,
  WorkerState,
} from './thread-protocol.js';

const data = workerData as Partial<BlockingWorkerData> | null;
if (data?.marker !== BLOCKING_WORKER_MARKER) {
  throw new Error(
    '@remoting-ts/remoting/blocking-worker is the entry of the thread a BlockingRemotingClient starts; ' +
      'it does nothing on its own',
  );
}
serve(data as BlockingWorkerData);

function serve({ state: shared, port, options, nameServerAddressList }: BlockingWorkerData): void {
  (globalThis as { [INSIDE_BLOCKING_WORKER]?: boolean })[INSIDE_BLOCKING_WORKER] = true;
  const state = new Int32Array(shared);
  const wake = (): void => {
    Atomics.add(state, Slot.NOTIFY, 1);
    Atomics.notify(state, Slot.NOTIFY);
  };
  const post = (message: WorkerMessage, transfer: ArrayBuffer[] = []): void => {
    port.postMessage(message, transfer);
    wake();
  };
  // However this thread ends (an uncaught error, process.exit() from code loaded into it), the
  // caller must stop waiting for it: the last thing it does is say so.
  process.on('exit', (code) => {
    port.postMessage({
      type: 'fatal',
      error: transferError(new Error(`the blocking client's worker thread exited with code ${code}`)),
    } satisfies WorkerMessage);
    Atomics.store(state, Slot.WORKER_STATE, WorkerState.EXITED);
    wake();
  });
  process.on('uncaughtExceptionMonitor', (error) => post({ type: 'fatal', error: transferError(error) }));

  const client = new RemotingClient(options);
  if (nameServerAddressList !== undefined) client.updateNameServerAddressList(nameServerAddressList);

  const invoke = (message: Extract<CallerMessage, { type: 'invoke' }>): void => {
    const { id } = message;
    // A call the caller already gave up on (it said so in CLAIM) is never sent: that is
    // what lets its error say `written: false`.
    if (Atomics.compareExchange(state, Slot.CLAIM, id, -id) !== id) return;
    let request: RemotingCommand;
    try {
      request = RemotingCommand.decode(frameBuffer(message.frame), UNLIMITED_FRAME);
    } catch (error) {
      post({ type: 'failed', id, error: transferError(error) });
      return;
    }
    const outcome =
      message.mode === 'sync'
        ? client.invokeSync(message.address, request, message.timeoutMs).then(frameBytes)
        : client.invokeOneway(message.address, request, message.timeoutMs).then(() => null);
    outcome.then(
      (frame) => post({ type: 'done', id, frame }, frame === null ? [] : [frame.buffer as ArrayBuffer]),
      (error: unknown) => post({ type: 'failed', id, error: transferError(error) }),
    );
  };

  port.on('message', (message: CallerMessage) => {
    if (message.type === 'invoke') {
      invoke(message);
      return;
    }
    // close: flush and close every connection, then answer; the caller stops this thread.
    client.shutdown().then(
      () => post({ type: 'done', id: message.id, frame: null }),
      (error: unknown) => post({ type: 'failed', id: message.id, error: transferError(error) }),
    );
  });
  Atomics.store(state, Slot.WORKER_STATE, WorkerState.READY);
  wake();
}
