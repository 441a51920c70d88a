/**
 * Errors across the thread boundary. Structured cloning keeps an Error's
 * message but drops its class and its own properties (`code`, `written`, the
 * call's facts, a socket error's `errno`), so an error crosses as plain data
 * and is rebuilt on the calling thread with the class it had in the worker:
 * `instanceof`, `code`, `retriable`, `written`, every fact and the message
 * come out as they went in, and so does the chain of causes.
 */

import {
  ClusterRestartLimitError,
  type ClusterWorkerFacts,
  ClusterWorkerStartError,
} from '../cluster/errors.js';
import { type NameServerAttempt, NameServerUnavailableError } from '../name-server/errors.js';
import {
  RemotingEncodeError,
  RemotingError,
  RemotingHeaderError,
  RemotingProtocolError,
} from '../protocol/errors.js';
import { RemotingCommand } from '../protocol/remoting-command.js';
import {
  type InvocationFacts,
  RemotingAbortError,
  RemotingCommandError,
  RemotingOpaqueInUseError,
  RemotingSendRequestError,
  RemotingShutdownError,
  RemotingTimeoutError,
  RemotingTooMuchRequestError,
} from '../remoting/errors.js';
import { ChannelClosedError, RemotingConnectError } from '../transport/errors.js';
import { PartialFramesOverBudgetError } from '../transport/partial-frame-budget.js';
import { RemotingReentrantCallError, RemotingWorkerError } from './errors.js';
import { frameBuffer, frameBytes, UNLIMITED_FRAME } from './thread-protocol.js';

/** An error as plain, cloneable data. */
export interface TransferredError {
  /** `error.name`: the class name for every error of this package, which picks the class to rebuild. */
  name: string;
  message: string;
  /** Where it was made, in the worker (kept on causes; the error thrown to the caller gets the caller's). */
  stack: string | undefined;
  /** Own enumerable properties but `name`: `code`, `retriable`, `written`, the facts, `errno`, … */
  fields: Record<string, TransferredValue>;
  /** Whether the error had a `cause` at all (a cause may be undefined). */
  hasCause: boolean;
  cause: TransferredValue;
}

/** A property value as plain, cloneable data. */
export type TransferredValue =
  | string
  | number
  | boolean
  | bigint
  | null
  | undefined
  | { kind: 'error'; error: TransferredError }
  | { kind: 'command'; frame: Uint8Array }
  | { kind: 'array'; items: TransferredValue[] }
  | { kind: 'object'; entries: Record<string, TransferredValue> };

/** Causes nest a few levels at most; this only stops a cycle. */
const MAX_DEPTH = 8;

/** Anything thrown, as plain data; a thrown non-Error becomes an Error with its text. */
export function transferError(thrown: unknown): TransferredError {
  const error = thrown instanceof Error ? thrown : new Error(String(thrown));
  return transferErrorAt(error, 0);
}

function transferErrorAt(error: Error, depth: number): TransferredError {
  const fields: Record<string, TransferredValue> = {};
  for (const [key, value] of Object.entries(error)) {
    if (key !== 'name') fields[key] = transferValue(value, depth + 1);
  }
  // Not enumerable, but what an AggregateError (a failed happy-eyeballs connect) is about.
  if (error instanceof AggregateError) fields.errors = transferValue(error.errors, depth + 1);
  const hasCause = Object.hasOwn(error, 'cause');
  return {
    name: error.name,
    message: error.message,
    stack: error.stack,
    fields,
    hasCause,
    cause: hasCause ? transferValue(error.cause, depth + 1) : undefined,
  };
}

function transferValue(value: unknown, depth: number): TransferredValue {
  if (value === null || value === undefined) return value;
  switch (typeof value) {
    case 'string':
    case 'number':
    case 'boolean':
    case 'bigint':
      return value;
    case 'function':
      return undefined;
    case 'symbol':
      return String(value);
  }
  if (depth > MAX_DEPTH) return String(value);
  if (value instanceof Error) return { kind: 'error', error: transferErrorAt(value, depth) };
  if (value instanceof RemotingCommand) return { kind: 'command', frame: frameBytes(value) };
  if (Array.isArray(value))
    return { kind: 'array', items: value.map((item) => transferValue(item, depth + 1)) };
  if (Object.getPrototypeOf(value) === Object.prototype) {
    const entries: Record<string, TransferredValue> = {};
    for (const [key, item] of Object.entries(value)) entries[key] = transferValue(item, depth + 1);
    return { kind: 'object', entries };
  }
  return String(value);
}

/**
 * Rebuilds a transferred error with its class (this package's, or a built-in
 * one), its own properties and its cause chain. The message is the original
 * one, word for word, and so is the stack (the worker's: where the caller
 * throws it, it may point the stack at its own line instead).
 */
export function reviveError(transferred: TransferredError): Error {
  const fields: Fields = {};
  for (const [key, value] of Object.entries(transferred.fields)) fields[key] = reviveValue(value);
  const cause = transferred.hasCause ? reviveValue(transferred.cause) : undefined;
  const rebuild = REBUILDERS.get(transferred.name) ?? rebuildOther;
  const error = rebuild({ name: transferred.name, message: transferred.message, fields, cause });
  // Constructors word their messages from their arguments; the worker's wording is the true one.
  Object.defineProperty(error, 'message', {
    value: transferred.message,
    writable: true,
    configurable: true,
    enumerable: false,
  });
  // Every own property as the worker had it (a constructor may derive some of them, e.g. `retriable`).
  Object.assign(error, fields);
  if (transferred.stack !== undefined) {
    Object.defineProperty(error, 'stack', {
      value: transferred.stack,
      writable: true,
      configurable: true,
      enumerable: false,
    });
  }
  if (transferred.hasCause && !Object.hasOwn(error, 'cause')) {
    Object.defineProperty(error, 'cause', { value: cause, writable: true, configurable: true });
  }
  return error;
}

function reviveValue(value: TransferredValue): unknown {
  if (value === null || typeof value !== 'object') return value;
  switch (value.kind) {
    case 'error':
      return reviveError(value.error);
    case 'command':
      return RemotingCommand.decode(frameBuffer(value.frame), UNLIMITED_FRAME);
    case 'array':
      return value.items.map(reviveValue);
    case 'object':
      return Object.fromEntries(Object.entries(value.entries).map(([key, item]) => [key, reviveValue(item)]));
  }
}

type Fields = Record<string, unknown>;

interface Parts {
  name: string;
  message: string;
  fields: Fields;
  cause: unknown;
}

const text = (fields: Fields, key: string): string => String(fields[key] ?? '');
const num = (fields: Fields, key: string): number => Number(fields[key] ?? Number.NaN);

function workerFacts(fields: Fields): ClusterWorkerFacts {
  return {
    slot: num(fields, 'slot'),
    workerId: num(fields, 'workerId'),
    pid: fields.pid === undefined ? undefined : num(fields, 'pid'),
  };
}

function facts(fields: Fields): InvocationFacts {
  return {
    remoteAddress: text(fields, 'remoteAddress'),
    requestCode: num(fields, 'requestCode'),
    opaque: num(fields, 'opaque'),
    elapsedMs: num(fields, 'elapsedMs'),
    timeoutMs: num(fields, 'timeoutMs'),
    written: fields.written === true,
  };
}

/**
 * How to construct each error class of this package. The arguments only need
 * to produce an instance of the right class: its message and properties are
 * set from the transferred ones afterwards. A test checks that every
 * RemotingError subclass the package exports is here.
 */
const REBUILDERS = new Map<string, (parts: Parts) => Error>([
  [
    'RemotingError',
    ({ fields, message, cause }) => new RemotingError(text(fields, 'code'), message, { cause }),
  ],
  ['RemotingTimeoutError', ({ fields, cause }) => new RemotingTimeoutError(facts(fields), undefined, cause)],
  ['RemotingSendRequestError', ({ fields, cause }) => new RemotingSendRequestError(facts(fields), '', cause)],
  ['RemotingAbortError', ({ fields, cause }) => new RemotingAbortError(facts(fields), cause)],
  ['RemotingOpaqueInUseError', ({ fields }) => new RemotingOpaqueInUseError(facts(fields))],
  [
    'RemotingTooMuchRequestError',
    ({ fields }) =>
      new RemotingTooMuchRequestError({
        remoteAddress: text(fields, 'remoteAddress'),
        requestCode: num(fields, 'requestCode'),
        mode: fields.mode === 'async' ? 'async' : 'oneway',
        permitsTotal: num(fields, 'permitsTotal'),
        permitsAvailable: num(fields, 'permitsAvailable'),
        permitsWaiting: num(fields, 'permitsWaiting'),
        waitedMs: num(fields, 'waitedMs'),
      }),
  ],
  [
    'RemotingCommandError',
    ({ fields }) =>
      new RemotingCommandError(
        text(fields, 'remoteAddress'),
        num(fields, 'requestCode'),
        fields.response instanceof RemotingCommand
          ? fields.response
          : RemotingCommand.createResponse(num(fields, 'responseCode')),
      ),
  ],
  ['RemotingShutdownError', () => new RemotingShutdownError('client')],
  [
    'RemotingConnectError',
    ({ fields, cause }) =>
      new RemotingConnectError(
        text(fields, 'remoteAddress'),
        num(fields, 'elapsedMs'),
        num(fields, 'timeoutMs'),
        cause,
      ),
  ],
  ['ChannelClosedError', ({ fields, cause }) => new ChannelClosedError(text(fields, 'remoteAddress'), cause)],
  [
    'NameServerUnavailableError',
    ({ fields }) =>
      new NameServerUnavailableError(
        Array.isArray(fields.attempts) ? (fields.attempts as NameServerAttempt[]) : [],
        num(fields, 'elapsedMs'),
        num(fields, 'timeoutMs'),
      ),
  ],
  ['RemotingProtocolError', ({ message, cause }) => new RemotingProtocolError(message, { cause })],
  [
    'PartialFramesOverBudgetError',
    ({ fields }) =>
      new PartialFramesOverBudgetError(
        text(fields, 'remoteAddress'),
        num(fields, 'heldBytes'),
        num(fields, 'totalHeldBytes'),
        num(fields, 'maxPartialFrameBytesTotal'),
      ),
  ],
  [
    'RemotingHeaderError',
    ({ fields, message }) =>
      new RemotingHeaderError(
        text(fields, 'headerClass'),
        typeof fields.field === 'string' ? fields.field : undefined,
        message,
      ),
  ],
  [
    'RemotingWorkerError',
    ({ fields, cause }) =>
      new RemotingWorkerError(
        fields.failure === 'start-failed' || fields.failure === 'exited' ? fields.failure : 'unresponsive',
        facts(fields),
        0,
        cause,
      ),
  ],
  [
    'RemotingEncodeError',
    ({ fields, message }) =>
      new RemotingEncodeError(
        fields.field === 'version' || fields.field === 'extFields key' ? fields.field : 'code',
        num(fields, 'value'),
        message,
      ),
  ],
  // A blocking call never starts a cluster; rebuilt all the same, so that no class of the package comes back as another.
  [
    'ClusterWorkerStartError',
    ({ fields, cause }) => new ClusterWorkerStartError(workerFacts(fields), text(fields, 'reason'), cause),
  ],
  [
    'ClusterRestartLimitError',
    ({ fields, cause }) =>
      new ClusterRestartLimitError(
        workerFacts(fields),
        'died',
        {
          restartsInWindow: num(fields, 'restartsInWindow'),
          maxRestarts: 0,
          windowMs: num(fields, 'windowMs'),
        },
        cause,
      ),
  ],
  [
    'RemotingReentrantCallError',
    ({ fields }) =>
      new RemotingReentrantCallError(fields.site === 'blocking-worker' ? 'blocking-worker' : 'nested-call'),
  ],
]);

/** The class names reviveError rebuilds as this package's own classes. */
export function rebuiltErrorNames(): string[] {
  return [...REBUILDERS.keys()];
}

const BUILT_IN_ERRORS: Record<string, new (message?: string, options?: { cause?: unknown }) => Error> = {
  Error,
  TypeError,
  RangeError,
  SyntaxError,
  ReferenceError,
  EvalError,
  URIError,
};

/**
 * A built-in error class, a socket error (an Error with `code`, `errno`,
 * `syscall`), or a class this package does not know: rebuilt as the
 * built-in class of that name, or as an Error (a RemotingError when it has a
 * `code` and `retriable`, so retry loops still work) carrying the name.
 */
function rebuildOther({ name, message, fields, cause }: Parts): Error {
  const options = cause === undefined ? undefined : { cause };
  if (name === 'AggregateError') {
    return new AggregateError(Array.isArray(fields.errors) ? fields.errors : [], message, options);
  }
  const BuiltIn = BUILT_IN_ERRORS[name];
  if (BuiltIn !== undefined) return new BuiltIn(message, options);
  const error =
    typeof fields.code === 'string' && typeof fields.retriable === 'boolean'
      ? new RemotingError(fields.code, message, { cause })
      : new Error(message, options);
  Object.defineProperty(error, 'name', { value: name, writable: true, configurable: true, enumerable: true });
  return error;
}
