/**
 * How `pnpm learn` watches a call without touching the framework: the
 * package's public diagnostics channels, its stats(), Node's own
 * `net.client.socket` channel for the client's socket, the stack of a
 * subscriber (who called it), and in the blocking client's worker thread a
 * preloaded module that forwards the worker's diagnostics over a
 * BroadcastChannel.
 */
import diagnosticsChannel from 'node:diagnostics_channel';
import type { Socket } from 'node:net';
import type {
  CallEndMessage,
  CallErrorMessage,
  CallStartMessage,
  CallWrittenMessage,
  ChannelMessage,
} from '../../index.js';

/** What a watched call's diagnostics tell, each once. */
export interface CallHandlers {
  start?: (message: CallStartMessage) => void;
  written?: (message: CallWrittenMessage) => void;
  end?: (message: CallEndMessage) => void;
  error?: (message: CallErrorMessage) => void;
}

const CALL_EVENTS = ['start', 'written', 'end', 'error'] as const;

/**
 * The client side's `remoting-ts:call:*` messages, handed to the handlers of
 * the call with that opaque. A handler runs inside the framework's publish:
 * synchronously, at the point of the code that published.
 */
export class CallWatcher {
  private readonly watched = new Map<number, CallHandlers>();
  private readonly listeners: Array<[string, (message: unknown) => void]> = [];

  constructor() {
    for (const event of CALL_EVENTS) {
      const listener = (message: unknown) => this.dispatch(event, message);
      diagnosticsChannel.subscribe(`remoting-ts:call:${event}`, listener);
      this.listeners.push([`remoting-ts:call:${event}`, listener]);
    }
  }

  /** Hands the next messages of the call with `opaque` to `handlers`. */
  watch(opaque: number, handlers: CallHandlers): void {
    this.watched.set(opaque, handlers);
  }

  close(): void {
    for (const [name, listener] of this.listeners) diagnosticsChannel.unsubscribe(name, listener);
    this.watched.clear();
  }

  private dispatch(event: (typeof CALL_EVENTS)[number], message: unknown): void {
    const { side, opaque, request } = message as {
      side: string;
      opaque?: number;
      request?: { opaque: number };
    };
    if (side !== 'client') return;
    const handlers = this.watched.get(opaque ?? request?.opaque ?? Number.NaN);
    const handler = handlers?.[event] as ((message: unknown) => void) | undefined;
    handler?.(message);
  }
}

/**
 * The sockets this thread's clients open (Node publishes each on
 * `net.client.socket`), found again by the local address a
 * `remoting-ts:channel:connect` message names.
 */
export class SocketWatcher {
  private readonly sockets: Socket[] = [];
  private readonly connected = new Map<string, Socket>();
  private readonly onSocket = (message: unknown) => {
    this.sockets.push((message as { socket: Socket }).socket);
  };
  private readonly onConnect = (message: unknown) => {
    const { side, localAddress } = message as ChannelMessage;
    if (side !== 'client') return;
    const port = Number(localAddress.slice(localAddress.lastIndexOf(':') + 1));
    const socket = this.sockets.find((candidate) => candidate.localPort === port);
    if (socket !== undefined) this.connected.set(localAddress, socket);
  };

  constructor() {
    diagnosticsChannel.subscribe('net.client.socket', this.onSocket);
    diagnosticsChannel.subscribe('remoting-ts:channel:connect', this.onConnect);
  }

  /** The socket of the client connection whose local end is `localAddress`. */
  socket(localAddress: string): Socket {
    const socket = this.connected.get(localAddress);
    if (socket === undefined) throw new Error(`learn: no client socket seen for ${localAddress}`);
    return socket;
  }

  /** The local address of the client connection opened last. */
  get lastLocalAddress(): string {
    const last = [...this.connected.keys()].at(-1);
    if (last === undefined) throw new Error('learn: no client connection was seen');
    return last;
  }

  close(): void {
    diagnosticsChannel.unsubscribe('net.client.socket', this.onSocket);
    diagnosticsChannel.unsubscribe('remoting-ts:channel:connect', this.onConnect);
  }
}

/**
 * Calls `onChunk` with the next chunk the socket receives, before the
 * framework's own 'data' listener decodes it (the listener goes first).
 */
export function nextChunk(socket: Socket, onChunk: (chunk: Buffer) => void): void {
  const listener = (chunk: Buffer) => {
    socket.removeListener('data', listener);
    onChunk(chunk);
  };
  socket.prependListener('data', listener);
}

/** A frame of the stack: the function and the file (under src/) it ran in. */
export interface StackFrame {
  fn: string;
  file: string;
}

/**
 * The framework's frames on the stack right now, innermost first: who called
 * the diagnostics subscriber that asks (its own frames and Node's are left
 * out). Read from V8's call sites rather than the stack text: formatting the
 * text maps every frame through the source maps, which would cost the call
 * being traced tens of milliseconds.
 */
export function frameworkFrames(): StackFrame[] {
  const { prepareStackTrace, stackTraceLimit } = Error;
  Error.prepareStackTrace = (_error, callSites) => callSites;
  Error.stackTraceLimit = 50;
  const holder: { stack?: NodeJS.CallSite[] } = {};
  Error.captureStackTrace(holder, frameworkFrames);
  const callSites = holder.stack ?? [];
  Error.prepareStackTrace = prepareStackTrace;
  Error.stackTraceLimit = stackTraceLimit;
  const frames: StackFrame[] = [];
  for (const site of callSites) {
    const location = site.getFileName() ?? '';
    const under = location.lastIndexOf('/src/');
    if (under < 0 || location.includes('/cli/') || location.includes('/node_modules/')) continue;
    frames.push({
      fn: site.getFunctionName() ?? site.getMethodName() ?? '<anonymous>',
      file: location.slice(under + 5).replace(/\.js$/, '.ts'),
    });
  }
  return frames;
}

/** `frames` outermost first, as "file fn → file fn" (a file named once for consecutive frames in it). */
export function describePath(frames: StackFrame[]): string {
  const parts: string[] = [];
  let lastFile = '';
  for (const frame of [...frames].reverse()) {
    const fn = frame.fn === '<anonymous>' ? '(a listener)' : frame.fn;
    parts.push(frame.file === lastFile ? fn : `${frame.file} ${fn}`);
    lastFile = frame.file;
  }
  return parts.join(' → ');
}

/** The BroadcastChannel a blocking client's worker reports its calls on. */
export function workerReportChannelName(): string {
  return `remoting-ts:learn:${process.pid}`;
}

/** One call event the worker thread reported. */
export interface WorkerCallReport {
  event: 'start' | 'written' | 'end' | 'error';
  opaque: number;
  /** performance.timeOrigin + performance.now() in the worker: comparable across threads. */
  at: number;
}

/**
 * Node options for a BlockingRemotingClient's worker: the process's own, plus
 * a preloaded module (a data: URL, a few lines) that subscribes to the
 * worker's `remoting-ts:call:*` channels and posts each event, timed, on a
 * BroadcastChannel. That is the README's way to observe a blocking client's
 * calls (`workerExecArgv: ['--import', './observe.js']`); messages posted
 * while the caller is parked wait for it on its loop.
 */
export function workerObserverExecArgv(): string[] {
  const code = `import diagnosticsChannel from 'node:diagnostics_channel';
const channel = new BroadcastChannel(${JSON.stringify(workerReportChannelName())});
channel.unref();
for (const event of ['start', 'written', 'end', 'error']) {
  diagnosticsChannel.subscribe('remoting-ts:call:' + event, (message) => {
    const opaque = message.opaque ?? message.request.opaque;
    channel.postMessage({ event, opaque, at: performance.timeOrigin + performance.now() });
  });
}
`;
  return [...process.execArgv, '--import', `data:text/javascript,${encodeURIComponent(code)}`];
}
