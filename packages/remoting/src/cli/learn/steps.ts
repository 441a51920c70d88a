/**
 * The steps `pnpm learn` traces, in the order each section shows them, and
 * where each happens in the code: a file under packages/remoting/src and the
 * function there that does it. test/learn.test.ts keeps every `where` true
 * (the file defines the function) and checks that a run reports the steps of
 * each section in this order.
 */

/** Where a step happens: a file under packages/remoting/src and the function in it ("Class.method" or "function"). */
export interface StepLocation {
  file: string;
  fn: string;
}

/** How the trace saw a step happen. */
export type SeenBy =
  /** A `remoting-ts:*` diagnostics channel message (named in the step's text). */
  | 'diagnostics'
  /** `client.stats()` read at that moment. */
  | 'stats'
  /** The client's own socket, watched through Node's `net.client.socket` diagnostics channel. */
  | 'socket'
  /** The stack of a diagnostics subscriber: who called it. */
  | 'stack'
  /** What the caller's own code saw (a return, a rejection, the request's fields, its timer). */
  | 'caller'
  /** Not observable on its own: it runs in the same synchronous run as the step before it. */
  | 'same run'
  /** Reported from the blocking client's worker thread, over a BroadcastChannel. */
  | 'worker';

/** A step's place in the code and how the trace sees it. */
export interface StepDefinition {
  where: StepLocation;
  seenBy: SeenBy;
}

const at = (file: string, fn: string, seenBy: SeenBy): StepDefinition => ({ where: { file, fn }, seenBy });

/** Every step, by section, in the order a run reports them. */
export const LEARN_STEPS = {
  sync: {
    opaque: at('protocol/remoting-command.ts', 'nextOpaque', 'caller'),
    start: at('remoting/outbound-invoker.ts', 'OutboundInvoker.invokeSync', 'diagnostics'),
    table: at('remoting/response-table.ts', 'ResponseTable.put', 'stats'),
    deadline: at('remoting/deadline-wheel.ts', 'DeadlineWheel.add', 'same run'),
    permit: at('remoting/outbound-invoker.ts', 'OutboundInvoker.invokeSync', 'stats'),
    waiting: at('remoting/count-down-latch.ts', 'CountDownLatch.await', 'caller'),
    written: at('transport/write-batch.ts', 'WriteBatch.flush', 'diagnostics'),
    arrived: at('transport/channel.ts', 'Channel.onData', 'socket'),
    decoded: at('protocol/frame-decoder.ts', 'FrameDecoder.pushTo', 'stack'),
    matched: at('remoting/response-table.ts', 'ResponseTable.take', 'stats'),
    countedDown: at('remoting/count-down-latch.ts', 'CountDownLatch.countDown', 'same run'),
    resumed: at('client.ts', 'RemotingClient.invokeSync', 'caller'),
  },
  timeout: {
    deadline: at('remoting/call-deadlines.ts', 'CallDeadlines.add', 'stats'),
    written: at('transport/write-batch.ts', 'WriteBatch.flush', 'diagnostics'),
    expired: at('remoting/deadline-wheel.ts', 'DeadlineWheel.tick', 'stack'),
    failed: at('remoting/outbound-invoker.ts', 'OutboundInvoker.failCall', 'stats'),
    rejected: at('remoting/errors.ts', 'RemotingTimeoutError', 'caller'),
    late: at('remoting/outbound-invoker.ts', 'OutboundInvoker.onResponse', 'stats'),
  },
  permits: {
    taken: at('remoting/permits.ts', 'Permits.tryTake', 'stats'),
    waiting: at('remoting/permits.ts', 'Permits.tryAcquire', 'stats'),
    exhausted: at('remoting/outbound-invoker.ts', 'OutboundInvoker.acquire', 'caller'),
    released: at('remoting/response-future.ts', 'ResponseFuture.releasePermit', 'stats'),
  },
  oneway: {
    permit: at('remoting/outbound-invoker.ts', 'OutboundInvoker.invokeOneway', 'stats'),
    ended: at('remoting/call-telemetry.ts', 'CallTelemetry.onewayWritten', 'diagnostics'),
    written: at('transport/write-batch.ts', 'WriteBatch.flush', 'diagnostics'),
    released: at('remoting/outbound-invoker.ts', 'OutboundInvoker.releaseOnewayPermit', 'stats'),
  },
  blocking: {
    ready: at('blocking/worker-link.ts', 'WorkerLink.awaitReady', 'caller'),
    promise: at('remoting/count-down-latch.ts', 'CountDownLatch.await', 'caller'),
    parked: at('blocking/worker-link.ts', 'WorkerLink.awaitAnswer', 'caller'),
    workerStart: at('blocking/blocking-worker.ts', 'invoke', 'worker'),
    workerWritten: at('transport/write-batch.ts', 'WriteBatch.flush', 'worker'),
    workerEnd: at('remoting/outbound-invoker.ts', 'OutboundInvoker.completeCall', 'worker'),
    returned: at('blocking/blocking-client.ts', 'BlockingRemotingClient.invokeSync', 'caller'),
  },
} as const satisfies Record<string, Record<string, StepDefinition>>;

/** A section of the trace. */
export type Section = keyof typeof LEARN_STEPS;

/** A step of `section`. */
export type StepName<S extends Section> = keyof (typeof LEARN_STEPS)[S] & string;

/** The sections in the order a run shows them. */
export const SECTIONS = Object.keys(LEARN_STEPS) as Section[];

/** What a run reports for one step: the catalogue's facts plus what it measured. */
export interface TracedStep {
  section: Section;
  step: string;
  /** Milliseconds since the section began (performance.now()). */
  atMs: number;
  where: StepLocation;
  seenBy: SeenBy;
  /** One sentence with the values it saw. */
  text: string;
  /** The values themselves, for a reader of --json. */
  values: Record<string, string | number | boolean | null>;
}
