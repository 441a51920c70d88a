/**
 * The sections of `pnpm learn`: real calls against a real server, each step
 * reported the moment the trace sees it (or, for the blocking call, the moment
 * this thread can run again), with the values it saw.
 */
import type { Socket } from 'node:net';
import {
  BlockingRemotingClient,
  RemotingClient,
  RemotingCommand,
  RemotingTimeoutError,
  RemotingTooMuchRequestError,
} from '../../index.js';
import { EchoServerCode } from '../echo-server.js';
import {
  type CallWatcher,
  describePath,
  frameworkFrames,
  nextChunk,
  type WorkerCallReport,
  workerObserverExecArgv,
  workerReportChannelName,
} from './observers.js';
import { LEARN_STEPS, type Section, type StepDefinition, type StepName, type TracedStep } from './steps.js';

/** The server answers SLEEP after this long in the sync call: long enough for the caller's loop to run meanwhile. */
const SYNC_SLEEP_MS = 50;
/** The timeout section: the call's timeout, and when the server answers anyway. */
const TIMEOUT_MS = 100;
const LATE_ANSWER_MS = 500;
/** The permits section: a client allowing this many async calls in flight, whose calls hold them this long. */
const PERMITS_ASYNC = 2;
const PERMIT_HOLD_MS = 300;
/** The second permit holder answers this much later, so the two permits come back one at a time. */
const PERMIT_STAGGER_MS = 50;
const PERMIT_WAIT_MS = 100;
/** The blocking section: the server's answer takes this long, for the promise call and the blocking one. */
const BLOCKING_SLEEP_MS = 200;
/** The caller's own timer, whose ticks show whether its loop runs during a call. */
const TICK_INTERVAL_MS = 2;
/** How far apart two threads' `performance.timeOrigin + now()` readings of one instant may be. */
const CLOCK_SLACK_MS = 0.5;
/** Longest any awaited event may take before the trace gives up (a busy machine is slow, not this slow). */
const EVENT_WAIT_MS = 15_000;

/** Receives each step as the trace reports it. */
export type StepSink = (step: TracedStep) => void;

/** Opens a section: its title and a few lines on what it shows. */
export type SectionSink = (section: Section, title: string, lines: string[]) => void;

/** Reports the steps of one section, timed from the section's start. */
class SectionTrace<S extends Section> {
  readonly startedAt = performance.now();

  constructor(
    private readonly section: S,
    private readonly sink: StepSink,
  ) {}

  /** Reports `step` now (or at `atMs`, for a step seen after the fact). */
  step(
    step: StepName<S>,
    text: string,
    values: TracedStep['values'] = {},
    atMs = performance.now() - this.startedAt,
  ): void {
    const definition = (LEARN_STEPS[this.section] as Record<string, StepDefinition>)[step] as StepDefinition;
    this.sink({
      section: this.section,
      step,
      atMs: Math.round(atMs * 1000) / 1000,
      where: definition.where,
      seenBy: definition.seenBy,
      text,
      values,
    });
  }

  /** Milliseconds from the section's start to `at` (performance.now() of this thread). */
  since(at: number): number {
    return at - this.startedAt;
  }
}

/** Counts this thread's timer ticks: they show whether its event loop ran during a call. */
class TickCounter {
  private readonly ticks: number[] = [];
  private readonly timer = setInterval(() => this.ticks.push(performance.now()), TICK_INTERVAL_MS);

  /** Ticks strictly between `from` and `to` (performance.now() times). */
  between(from: number, to: number): number {
    return this.ticks.filter((at) => at > from && at < to).length;
  }

  /** The first tick after `at`, or null if none came yet. */
  firstAfter(at: number): number | null {
    return this.ticks.find((tick) => tick > at) ?? null;
  }

  stop(): void {
    clearInterval(this.timer);
  }
}

/** Resolves with `promise`, or rejects naming `what` if it takes longer than EVENT_WAIT_MS. */
function within<T>(promise: Promise<T>, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const expired = new Promise<never>((_, reject) => {
    timer = setTimeout(
      () => reject(new Error(`learn: ${what} did not happen within ${EVENT_WAIT_MS} ms`)),
      EVENT_WAIT_MS,
    );
  });
  return Promise.race([promise, expired]).finally(() => clearTimeout(timer));
}

/** A promise and its resolve function, for an event a handler reports. */
function signal<T = void>(): { promise: Promise<T>; resolve: (value: T) => void } {
  let resolve!: (value: T) => void;
  const promise = new Promise<T>((done) => {
    resolve = done;
  });
  return { promise, resolve };
}

function sleepRequest(sleepMs: number, body?: string): RemotingCommand {
  const request = RemotingCommand.createRequest(EchoServerCode.SLEEP).addExtField('sleepMs', String(sleepMs));
  if (body !== undefined) request.setBody(body);
  return request;
}

const ms = (value: number) => `${value.toFixed(1)} ms`;

/** What every section works with. */
export interface TraceContext {
  /** The echo server's address ("host:port"), served by a child process. */
  address: string;
  /** A client that keeps its connection when a call times out, so a late response can be seen arriving. */
  client: RemotingClient;
  /** The client's connection to the server (open before the trace starts). */
  socket: Socket;
  calls: CallWatcher;
  steps: StepSink;
  sections: SectionSink;
}

/** Runs every section in order. */
export async function runTrace(context: TraceContext): Promise<void> {
  await traceSync(context);
  await traceTimeout(context);
  await tracePermits(context);
  await traceOneway(context);
  await traceBlocking(context);
}

async function traceSync({ address, client, calls, socket, steps, sections }: TraceContext): Promise<void> {
  sections('sync', `One sync call: await client.invokeSync(address, request, 3000)`, [
    `The server's SLEEP code answers after ${SYNC_SLEEP_MS} ms, so the wait is long enough to see.`,
    'The connection is open already (a first call opened it).',
  ]);
  const trace = new SectionTrace('sync', steps);
  const ticks = new TickCounter();
  try {
    const request = sleepRequest(SYNC_SLEEP_MS, 'hello');
    trace.step(
      'opaque',
      `RemotingCommand.createRequest gave the request opaque ${request.opaque}: the id its response will carry back`,
      { opaque: request.opaque },
    );
    const bytesBefore = socket.bytesWritten;
    const written = signal();
    const ended = signal();
    calls.watch(request.opaque, {
      start: (message) =>
        trace.step(
          'start',
          `call:start: a ${message.mode} call to ${message.remoteAddress}, timeout ${message.timeoutMs} ms`,
          { mode: message.mode, timeoutMs: message.timeoutMs },
        ),
      written: () => {
        const bytes = socket.bytesWritten - bytesBefore;
        trace.step(
          'written',
          `call:written: the socket took the ${bytes}-byte frame, flushed on the tick after the call (one write per tick's frames)`,
          { bytes },
        );
        written.resolve();
      },
      end: (message) => {
        const seenAt = trace.since(performance.now());
        const path = describePath(frameworkFrames());
        const response = message.response as RemotingCommand;
        const stats = client.stats();
        trace.step(
          'decoded',
          `the frame was decoded into a response: code ${response.code}, opaque ${response.opaque}, ` +
            `flag ${response.flag} (bit 0: a response); the way it came: ${path}`,
          { code: response.code, opaque: response.opaque, flag: response.flag, path },
          seenAt,
        );
        trace.step(
          'matched',
          `the response table was searched by opaque ${response.opaque} on this connection: found the call's ` +
            `future and took it out (pendingResponses ${stats.pendingResponses}); call:end published`,
          { opaque: response.opaque, pendingResponses: stats.pendingResponses },
          seenAt,
        );
        trace.step(
          'countedDown',
          'ResponseFuture.complete counts the latch down (1 → 0) right after call:end; the caller resumes on the next microtask',
        );
        ended.resolve();
      },
    });
    const arrived = signal();
    nextChunk(socket, (chunk) => {
      trace.step(
        'arrived',
        `${chunk.length} bytes arrived on the socket; the channel's decoder reads them next`,
        {
          bytes: chunk.length,
        },
      );
      arrived.resolve();
    });

    const callStarted = performance.now();
    const pending = client.invokeSync(address, request, 3000);
    // Everything up to the write ran synchronously inside that call: it is all visible now.
    const stats = client.stats();
    trace.step(
      'table',
      `the call's ResponseFuture is in the response table under opaque ${request.opaque} (pendingResponses ${stats.pendingResponses})`,
      { pendingResponses: stats.pendingResponses },
    );
    trace.step(
      'deadline',
      "its deadline is on the deadline wheel, due 3000 ms after the call began: the call's only timer",
      {
        deadlineMs: 3000,
      },
    );
    trace.step(
      'permit',
      `no permit: a sync call takes none (asyncPermits ${stats.asyncPermits.available} of ${stats.asyncPermits.total} free, as before)`,
      { asyncPermitsAvailable: stats.asyncPermits.available, asyncPermitsTotal: stats.asyncPermits.total },
    );
    trace.step(
      'waiting',
      'the caller awaits ResponseFuture.waitResponse(): an untimed CountDownLatch(1); this thread is free meanwhile',
    );
    const response = await within(pending, 'the sync call');
    const resumedAt = performance.now();
    await within(Promise.all([written.promise, arrived.promise, ended.promise]), 'the sync call events');
    const ranTicks = ticks.between(callStarted, resumedAt);
    trace.step(
      'resumed',
      `the caller resumed with the response ("${response.body?.toString()}") ${ms(resumedAt - callStarted)} after the call; ` +
        `its ${TICK_INTERVAL_MS} ms interval ran ${ranTicks} times meanwhile: the loop was never blocked`,
      { totalMs: Math.round((resumedAt - callStarted) * 1000) / 1000, ticksWhileWaiting: ranTicks },
    );
  } finally {
    ticks.stop();
  }
}

async function traceTimeout({
  address,
  client,
  calls,
  socket,
  steps,
  sections,
}: TraceContext): Promise<void> {
  sections(
    'timeout',
    `One timeout: a ${TIMEOUT_MS} ms call to a server that answers after ${LATE_ANSWER_MS} ms`,
    [
      'Who notices the deadline, and what becomes of the answer that comes after it.',
      'This client keeps its connection on a timeout (closeSocketIfTimeout: false; RocketMQ 4.9.7 and',
      "this client's default close it), so the late answer can be seen arriving. The response-table sweep (RocketMQ's",
      'scanResponseTable: first after 3 s, then every 1 s) is only the backstop: the wheel ends the call first.',
    ],
  );
  const trace = new SectionTrace('timeout', steps);
  const request = sleepRequest(LATE_ANSWER_MS);
  const failed = signal();
  calls.watch(request.opaque, {
    written: (message) =>
      trace.step('written', `call:written: the request left ${ms(message.durationMs)} after the call began`, {
        durationMs: message.durationMs,
      }),
    error: (message) => {
      const seenAt = trace.since(performance.now());
      const frames = frameworkFrames();
      const path = describePath(frames);
      const lateMs = message.durationMs - TIMEOUT_MS;
      trace.step(
        'expired',
        `the deadline wheel's timer fired and found the call due: ${ms(message.durationMs)} after it began, ` +
          `${ms(lateMs)} past its deadline; the way it came: ${path}`,
        {
          durationMs: message.durationMs,
          lateMs,
          path,
          noticedBy: frames.some((frame) => frame.file === 'remoting/deadline-wheel.ts')
            ? 'deadline wheel'
            : 'other',
        },
        seenAt,
      );
      const stats = client.stats();
      trace.step(
        'failed',
        `failCall: ${message.error.name} [${(message.error as RemotingTimeoutError).code}], the future out of the table ` +
          `(pendingResponses ${stats.pendingResponses}), its deadline off the wheel; next, ResponseFuture.fail counts the latch down`,
        { error: (message.error as RemotingTimeoutError).code, pendingResponses: stats.pendingResponses },
      );
      failed.resolve();
    },
  });
  const unmatchedBefore = client.stats().unmatchedResponses;
  const late = signal<{ bytes: number; at: number }>();
  // The first bytes this connection receives from now on are the late answer.
  nextChunk(socket, (chunk) => {
    // The framework's listener runs after this one, in the same emit: read the count once it has.
    const at = performance.now();
    setImmediate(() => late.resolve({ bytes: chunk.length, at }));
  });
  const pending = client.invokeSync(address, request, TIMEOUT_MS).catch((error: unknown) => error);
  const stats = client.stats();
  trace.step(
    'deadline',
    `call made: its future in the table (pendingResponses ${stats.pendingResponses}), its deadline on the wheel, ` +
      `due ${TIMEOUT_MS} ms after it began`,
    { pendingResponses: stats.pendingResponses, timeoutMs: TIMEOUT_MS },
  );
  const error = await within(pending, 'the timeout');
  await within(failed.promise, 'the timeout events');
  if (!(error instanceof RemotingTimeoutError))
    throw new Error(`learn: expected a RemotingTimeoutError, got ${error}`);
  trace.step('rejected', `the caller's await threw: ${error.message}`, {
    code: error.code,
    written: error.written,
    elapsedMs: error.elapsedMs,
    timeoutMs: error.timeoutMs,
  });
  const { bytes, at: arrivedAt } = await within(late.promise, 'the late answer');
  const unmatchedAfter = client.stats().unmatchedResponses;
  trace.step(
    'late',
    `the server's answer arrived anyway (${bytes} bytes, opaque ${request.opaque}): no call waits for that opaque, ` +
      `so ResponseTable.take found nothing; unmatchedResponses ${unmatchedBefore} → ${unmatchedAfter}, the answer dropped`,
    { bytes, unmatchedBefore, unmatchedAfter },
    trace.since(arrivedAt),
  );
}

async function tracePermits({ address, steps, sections }: TraceContext): Promise<void> {
  sections('permits', `Async permits running out: a client with permitsAsync: ${PERMITS_ASYNC}`, [
    `Two async calls hold both permits for ${PERMIT_HOLD_MS} ms; a third, with a ${PERMIT_WAIT_MS} ms timeout,`,
    'waits for one (RocketMQ: semaphoreAsync.tryAcquire(timeoutMillis)) and gives up, unsent.',
  ]);
  const client = new RemotingClient({ permitsAsync: PERMITS_ASYNC });
  try {
    await client.invokeSync(address, RemotingCommand.createRequest(EchoServerCode.ECHO), 5000);
    const trace = new SectionTrace('permits', steps);
    const holding: Array<Promise<void>> = [];
    for (let i = 1; i <= PERMITS_ASYNC; i++) {
      const call = client.invokeAsync(
        address,
        sleepRequest(PERMIT_HOLD_MS + (i - 1) * PERMIT_STAGGER_MS),
        5000,
      );
      const { available, total } = client.stats().asyncPermits;
      trace.step('taken', `async call ${i} took a permit: ${available} of ${total} free`, {
        call: i,
        available,
        total,
      });
      holding.push(
        call.then(() => {
          const permits = client.stats().asyncPermits;
          trace.step(
            'released',
            `async call ${i} was answered; ending, its future gave its permit back: ${permits.available} of ${permits.total} free`,
            { call: i, available: permits.available, total: permits.total },
          );
        }),
      );
    }
    const third = client.invokeAsync(
      address,
      RemotingCommand.createRequest(EchoServerCode.ECHO),
      PERMIT_WAIT_MS,
    );
    const waiting = client.stats().asyncPermits;
    trace.step(
      'waiting',
      `async call 3 found no free permit (${waiting.available} of ${waiting.total}): it waits in the permits' FIFO queue ` +
        `for what is left of its ${PERMIT_WAIT_MS} ms`,
      { available: waiting.available, total: waiting.total },
    );
    const error = await within(
      third.then(
        () => null,
        (failure: unknown) => failure,
      ),
      'the permit wait',
    );
    if (!(error instanceof RemotingTooMuchRequestError)) {
      throw new Error(`learn: expected a RemotingTooMuchRequestError, got ${String(error)}`);
    }
    trace.step(
      'exhausted',
      `${error.name} [${error.code}] after ${error.waitedMs} ms: ${error.permitsTotal - error.permitsAvailable} of ` +
        `${error.permitsTotal} permits in use, ${error.permitsWaiting} other callers waiting, written: ${error.written}. ` +
        'RocketMQ 5.x reports this as RemotingTimeoutException, as if the call had timed out; it was never sent',
      {
        code: error.code,
        waitedMs: error.waitedMs,
        permitsTotal: error.permitsTotal,
        permitsAvailable: error.permitsAvailable,
        permitsWaiting: error.permitsWaiting,
        written: error.written === true,
      },
    );
    await within(Promise.all(holding), 'the permit holders');
  } finally {
    await client.shutdown();
  }
}

async function traceOneway({ address, client, calls, socket, steps, sections }: TraceContext): Promise<void> {
  sections('oneway', 'Oneway: await client.invokeOneway(address, request, 3000)', [
    'No response, no future, nothing in the response table; a oneway permit is held until the socket takes the bytes.',
  ]);
  const trace = new SectionTrace('oneway', steps);
  const request = RemotingCommand.createRequest(EchoServerCode.ECHO).setBody('fire and forget');
  const bytesBefore = socket.bytesWritten;
  const written = signal();
  calls.watch(request.opaque, {
    end: (message) => {
      const stats = client.stats();
      trace.step(
        'permit',
        `a oneway permit taken: ${stats.onewayPermits.available} of ${stats.onewayPermits.total} free`,
        { available: stats.onewayPermits.available, total: stats.onewayPermits.total },
      );
      trace.step(
        'ended',
        `call:end (response ${String(message.response)}): handed to the connection, the call is over for the caller; ` +
          `pendingResponses ${stats.pendingResponses}`,
        { pendingResponses: stats.pendingResponses },
      );
    },
    written: () => {
      const permits = client.stats().onewayPermits;
      trace.step(
        'written',
        `call:written: the socket took ${socket.bytesWritten - bytesBefore} bytes; the permit is still held ` +
          `(${permits.available} of ${permits.total} free)`,
        { bytes: socket.bytesWritten - bytesBefore, available: permits.available },
      );
      // The permit goes back right after this publish, in the same write callback.
      queueMicrotask(() => {
        const after = client.stats().onewayPermits;
        trace.step(
          'released',
          `the write's callback gave the permit back: ${after.available} of ${after.total} free`,
          {
            available: after.available,
            total: after.total,
          },
        );
        written.resolve();
      });
    },
  });
  await within(client.invokeOneway(address, request, 3000), 'the oneway call');
  await within(written.promise, 'the oneway write');
}

async function traceBlocking({ address, client, steps, sections }: TraceContext): Promise<void> {
  sections('blocking', 'The call that truly blocks: BlockingRemotingClient.invokeSync', [
    "Java's model: the calling thread parks until the answer. A worker thread holds a RemotingClient",
    'and the socket; this thread posts the frame and parks in Atomics.wait. Its own timer cannot tick',
    `meanwhile, and it cannot print either: the steps of the blocking call are printed once it runs again.`,
  ]);
  const trace = new SectionTrace('blocking', steps);
  const reports: WorkerCallReport[] = [];
  const channel = new BroadcastChannel(workerReportChannelName());
  channel.onmessage = (event) => reports.push((event as { data: WorkerCallReport }).data);
  const ticks = new TickCounter();
  const blocking = new BlockingRemotingClient({ workerExecArgv: workerObserverExecArgv() });
  try {
    const firstAt = performance.now();
    blocking.invokeSync(address, RemotingCommand.createRequest(EchoServerCode.ECHO), 10_000);
    trace.step(
      'ready',
      `first blocking call: the worker thread loaded, connected and answered in ${ms(performance.now() - firstAt)}`,
      { firstCallMs: Math.round(performance.now() - firstAt) },
    );

    const promiseAt = performance.now();
    await within(client.invokeSync(address, sleepRequest(BLOCKING_SLEEP_MS), 5000), 'the promise call');
    const promiseDone = performance.now();
    const promiseTicks = ticks.between(promiseAt, promiseDone);
    trace.step(
      'promise',
      `for comparison, await client.invokeSync (a promise; the server sleeps ${BLOCKING_SLEEP_MS} ms) took ` +
        `${ms(promiseDone - promiseAt)}: this thread's ${TICK_INTERVAL_MS} ms interval ticked ${promiseTicks} times meanwhile`,
      { durationMs: Math.round(promiseDone - promiseAt), ticksDuringCall: promiseTicks },
    );

    const request = sleepRequest(BLOCKING_SLEEP_MS, 'parked');
    const callAt = performance.now();
    const response = blocking.invokeSync(address, request, 5000);
    const returnedAt = performance.now();
    const parkedTicks = ticks.between(callAt, returnedAt);
    // The worker's reports were posted while this thread was parked: they are delivered now.
    await within(
      new Promise<void>((resolve) => {
        const check = () =>
          reports.some((report) => report.opaque === request.opaque && report.event === 'end')
            ? resolve()
            : setTimeout(check, 5);
        check();
      }),
      "the worker's reports",
    );
    trace.step(
      'parked',
      `this thread called blocking.invokeSync: the frame went to the worker (WorkerLink.sendCall) and this thread ` +
        `parked in Atomics.wait`,
      {},
      trace.since(callAt),
    );
    const toSection = (at: number) => at - (performance.timeOrigin + trace.startedAt);
    const report = (event: WorkerCallReport['event']) => {
      const found = reports.find(
        (candidate) => candidate.opaque === request.opaque && candidate.event === event,
      );
      if (found === undefined) throw new Error(`learn: the worker did not report call:${event}`);
      return toSection(found.at);
    };
    const parkedFrom = trace.since(callAt);
    const parkedTo = trace.since(returnedAt);
    // Times from two threads' clocks (timeOrigin + now): allow them half a millisecond of disagreement.
    const inside = (at: number) => at >= parkedFrom - CLOCK_SLACK_MS && at <= parkedTo + CLOCK_SLACK_MS;
    const startAt = report('start');
    trace.step(
      'workerStart',
      `meanwhile, in the worker thread: call:start of opaque ${request.opaque} (its own RemotingClient.invokeSync)`,
      { whileParked: inside(startAt) },
      startAt,
    );
    const writtenAt = report('written');
    trace.step(
      'workerWritten',
      'in the worker: call:written, the socket took the frame',
      { whileParked: inside(writtenAt) },
      writtenAt,
    );
    const endAt = report('end');
    trace.step(
      'workerEnd',
      'in the worker: call:end, the response arrived; the worker posts its frame back and bumps NOTIFY to wake this thread',
      { whileParked: inside(endAt) },
      endAt,
    );
    const nextTick = ticks.firstAfter(returnedAt);
    trace.step(
      'returned',
      `this thread woke and invokeSync returned the response itself ("${response.body?.toString()}"), no promise, ` +
        `${ms(returnedAt - callAt)} after the call; its interval ticked ${parkedTicks} times while it was parked`,
      {
        durationMs: Math.round(returnedAt - callAt),
        ticksDuringCall: parkedTicks,
        nextTickAfterMs: nextTick === null ? null : Math.round((nextTick - returnedAt) * 1000) / 1000,
      },
    );
  } finally {
    ticks.stop();
    blocking.close();
    channel.close();
  }
}
