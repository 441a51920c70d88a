/**
 * Errors from the blocking client's worker thread cross as plain data
 * (structured clone keeps an Error's message and loses the rest) and are
 * rebuilt on the calling thread: the class, `code`, `retriable`, `written`,
 * every fact, the message word for word and the chain of causes.
 */
import { describe, expect, test } from 'vitest';
import { rebuiltErrorNames, reviveError, transferError } from '../src/blocking/error-transfer.js';
import * as lib from '../src/index.js';
import {
  ChannelClosedError,
  ClusterRestartLimitError,
  ClusterWorkerStartError,
  NameServerUnavailableError,
  PartialFramesOverBudgetError,
  RemotingAbortError,
  RemotingCommand,
  RemotingCommandError,
  RemotingConnectError,
  RemotingEncodeError,
  RemotingError,
  RemotingHeaderError,
  RemotingOpaqueInUseError,
  RemotingProtocolError,
  RemotingReentrantCallError,
  RemotingSendRequestError,
  RemotingShutdownError,
  RemotingTimeoutError,
  RemotingTooMuchRequestError,
  RemotingWorkerError,
  ResponseCode,
} from '../src/index.js';

/** What crossing a thread does to a value, then what the caller's thread makes of it. */
function acrossThreads(error: unknown): Error {
  return reviveError(structuredClone(transferError(error)));
}

const facts = {
  remoteAddress: '127.0.0.1:9876',
  requestCode: 105,
  opaque: 42,
  elapsedMs: 3001,
  timeoutMs: 3000,
  written: true,
};

function socketError(): NodeJS.ErrnoException {
  return Object.assign(new Error('read ECONNRESET'), { errno: -104, code: 'ECONNRESET', syscall: 'read' });
}

/** Own enumerable properties, with commands and errors reduced to what identifies them. */
function fieldsOf(error: Error): Record<string, unknown> {
  const describe = (value: unknown): unknown => {
    if (value instanceof RemotingCommand) return value.toString();
    if (value instanceof Error)
      return { class: value.constructor.name, message: value.message, ...fieldsOf(value) };
    if (Array.isArray(value)) return value.map(describe);
    if (value !== null && typeof value === 'object') {
      return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, describe(v)]));
    }
    return value;
  };
  return Object.fromEntries(Object.entries(error).map(([key, value]) => [key, describe(value)]));
}

function causes(error: unknown): string[] {
  const chain: string[] = [];
  for (let e = error; e instanceof Error; e = e.cause) chain.push(`${e.constructor.name}: ${e.message}`);
  return chain;
}

const cases: [string, () => Error][] = [
  ['RemotingTimeoutError', () => new RemotingTimeoutError(facts)],
  [
    'RemotingSendRequestError with a socket error as cause',
    () => new RemotingSendRequestError(facts, 'lost its connection before the response', socketError()),
  ],
  [
    'RemotingConnectError with a refused connect as cause',
    () =>
      new RemotingConnectError(
        '127.0.0.1:1',
        2,
        3000,
        Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:1'), {
          errno: -111,
          code: 'ECONNREFUSED',
          syscall: 'connect',
          address: '127.0.0.1',
          port: 1,
        }),
      ),
  ],
  [
    'RemotingAbortError',
    () => new RemotingAbortError({ ...facts, written: false }, new Error('user gave up')),
  ],
  ['RemotingOpaqueInUseError', () => new RemotingOpaqueInUseError({ ...facts, written: false })],
  [
    'RemotingTooMuchRequestError',
    () =>
      new RemotingTooMuchRequestError({
        remoteAddress: '127.0.0.1:9876',
        requestCode: 10,
        mode: 'oneway',
        permitsTotal: 256,
        permitsAvailable: 0,
        permitsWaiting: 3,
        waitedMs: 100,
      }),
  ],
  [
    'RemotingCommandError carrying the response',
    () =>
      new RemotingCommandError(
        '127.0.0.1:9876',
        105,
        RemotingCommand.createResponse(ResponseCode.SYSTEM_ERROR, 'no route').setBody('details'),
      ),
  ],
  ['RemotingShutdownError', () => new RemotingShutdownError('client')],
  ['ChannelClosedError', () => new ChannelClosedError('127.0.0.1:9876', socketError())],
  [
    'NameServerUnavailableError with an error per attempt',
    () =>
      new NameServerUnavailableError(
        [
          {
            address: '10.0.0.1:9876',
            outcome: 'connect-failed',
            elapsedMs: 5,
            error: new RemotingConnectError('10.0.0.1:9876', 5, 1000, socketError()),
          },
          { address: '10.0.0.2:9876', outcome: 'not-tried', elapsedMs: 0 },
        ],
        1000,
        1000,
      ),
  ],
  ['RemotingProtocolError', () => new RemotingProtocolError('bad frame', { streamOffset: 96 })],
  ['PartialFramesOverBudgetError', () => new PartialFramesOverBudgetError('127.0.0.1:5555', 10, 20, 15)],
  [
    'RemotingHeaderError',
    () => new RemotingHeaderError('PutHeader', 'key', 'required field "key" is missing'),
  ],
  ['RemotingWorkerError', () => new RemotingWorkerError('unresponsive', facts, 1000, new Error('stuck'))],
  ['RemotingReentrantCallError', () => new RemotingReentrantCallError('nested-call')],
  [
    'RemotingEncodeError',
    () =>
      new RemotingEncodeError('code', 40_000, 'request code 40000 does not fit the ROCKETMQ binary header'),
  ],
  [
    'ClusterWorkerStartError',
    () =>
      new ClusterWorkerStartError(
        { slot: 1, workerId: 3, pid: 4242 },
        'it exited with code 1',
        new Error('boom'),
      ),
  ],
  [
    'ClusterRestartLimitError',
    () =>
      new ClusterRestartLimitError({ slot: 0, workerId: 9, pid: undefined }, 'exited with code 1', {
        restartsInWindow: 5,
        maxRestarts: 5,
        windowMs: 60_000,
      }),
  ],
  ['RemotingError itself', () => new RemotingError('REMOTING_SOMETHING', 'something', { retriable: true })],
  ['a TypeError', () => new TypeError('address must be host:port, got "x"')],
  ['an AggregateError', () => new AggregateError([socketError(), new Error('second')], 'all failed')],
];

describe('an error that crosses from the worker thread', () => {
  test.each(cases)('%s comes back with its class, fields, message, stack and causes', (_name, make) => {
    const original = make();
    const revived = acrossThreads(original);
    expect(Object.getPrototypeOf(revived)).toBe(Object.getPrototypeOf(original));
    expect(revived.name).toBe(original.name);
    expect(revived.message).toBe(original.message);
    expect(revived.stack).toBe(original.stack);
    expect(fieldsOf(revived)).toEqual(fieldsOf(original));
    expect(causes(revived)).toEqual(causes(original));
    if (original instanceof RemotingError) {
      expect(revived).toBeInstanceOf(RemotingError);
      const remoting = revived as RemotingError;
      expect(remoting.code).toBe(original.code);
      expect(remoting.retriable).toBe(original.retriable);
      expect(remoting.written).toBe(original.written);
    }
    if (original instanceof AggregateError) {
      expect((revived as AggregateError).errors.map((e: Error) => e.message)).toEqual(
        original.errors.map((e: Error) => e.message),
      );
    }
  });

  test('a class this package does not know keeps its name and message; with code and retriable it stays a RemotingError', () => {
    class FutureError extends RemotingError {
      constructor() {
        super('REMOTING_FUTURE', 'from a newer worker', { retriable: true, written: false });
      }
    }
    const revived = acrossThreads(new FutureError());
    expect(revived).toBeInstanceOf(RemotingError);
    expect(revived.name).toBe('FutureError');
    expect((revived as RemotingError).code).toBe('REMOTING_FUTURE');
    expect((revived as RemotingError).retriable).toBe(true);
    expect((revived as RemotingError).written).toBe(false);
    const plain = acrossThreads(Object.assign(new Error('odd'), { name: 'OddError' }));
    expect(plain).not.toBeInstanceOf(RemotingError);
    expect(plain.name).toBe('OddError');
  });

  test('something thrown that is not an Error arrives as an Error with its text', () => {
    const revived = acrossThreads('a string was thrown');
    expect(revived).toBeInstanceOf(Error);
    expect(revived.message).toBe('a string was thrown');
  });

  test('a request that cannot be encoded arrives as RemotingEncodeError with its field, value and written: false', () => {
    const revived = acrossThreads(
      new RemotingEncodeError('code', 40_000, 'code 40000 does not fit the ROCKETMQ header'),
    );
    expect(revived).toBeInstanceOf(RemotingEncodeError);
    expect(revived).toMatchObject({ code: 'REMOTING_ENCODE', field: 'code', value: 40_000, written: false });
    expect(revived.message).toBe('code 40000 does not fit the ROCKETMQ header');
  });

  test('every RemotingError class the package exports is rebuilt as itself', () => {
    const exported = Object.entries(lib)
      .filter(([, value]) => typeof value === 'function' && value.prototype instanceof Error)
      .filter(
        ([, value]) =>
          value === RemotingError || (value as { prototype: object }).prototype instanceof RemotingError,
      )
      .map(([name]) => name);
    expect(exported.length).toBeGreaterThan(10);
    expect(rebuiltErrorNames().sort()).toEqual(expect.arrayContaining(exported.sort()));
  });
});
