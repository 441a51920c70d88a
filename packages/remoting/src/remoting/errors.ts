import { RemotingError } from '../protocol/errors.js';
import type { RemotingCommand } from '../protocol/remoting-command.js';

/** What a person needs to know about a call that went wrong. */
export interface InvocationFacts {
  /** Address (`host:port`) of the peer the request was for. */
  remoteAddress: string;
  /** The request's command code (RocketMQ RemotingCommand `code`). */
  requestCode: number;
  /** The request's opaque: the id that pairs a response with its request (RocketMQ `opaque`). */
  opaque: number;
  /** Milliseconds from the start of the call until it failed. */
  elapsedMs: number;
  /** The call's timeout in milliseconds, as the caller gave it (RocketMQ `timeoutMillis`). */
  timeoutMs: number;
  /**
   * Whether any byte of the request may have reached the peer. `false` is a
   * guarantee: the peer never receives this request (it was refused, stayed
   * queued, or its bytes were dropped before leaving this process).
   */
  written: boolean;
}

function describe(kind: string, f: InvocationFacts, detail: string): string {
  return (
    `${kind} to ${f.remoteAddress} (code ${f.requestCode}, opaque ${f.opaque}) ${detail} ` +
    `after ${f.elapsedMs} ms of a ${f.timeoutMs} ms timeout; ` +
    `request ${f.written ? 'was' : 'was not'} written to the socket`
  );
}

abstract class InvocationError extends RemotingError implements InvocationFacts {
  readonly remoteAddress: string;
  readonly requestCode: number;
  readonly opaque: number;
  readonly elapsedMs: number;
  readonly timeoutMs: number;
  override readonly written: boolean;

  constructor(
    code: string,
    message: string,
    facts: InvocationFacts,
    options: { cause?: unknown; retriable: boolean },
  ) {
    super(code, message, options);
    this.remoteAddress = facts.remoteAddress;
    this.requestCode = facts.requestCode;
    this.opaque = facts.opaque;
    this.elapsedMs = facts.elapsedMs;
    this.timeoutMs = facts.timeoutMs;
    this.written = facts.written;
  }
}

/** No response came within the timeout (RocketMQ's RemotingTimeoutException). */
export class RemotingTimeoutError extends InvocationError {
  constructor(facts: InvocationFacts, detail = 'got no response', cause?: unknown) {
    super('REMOTING_TIMEOUT', describe('call', facts, detail), facts, { cause, retriable: true });
  }
}

/**
 * The caller's AbortSignal ended the call (`code` REMOTING_ABORTED). When
 * `written` is false the request was never sent; when true it was, and the
 * response, if one comes, is dropped and counted as unmatched. `cause` is the
 * signal's reason (a DOMException named TimeoutError for `AbortSignal.timeout()`).
 */
export class RemotingAbortError extends InvocationError {
  constructor(facts: InvocationFacts, reason: unknown) {
    super('REMOTING_ABORTED', describe('call', facts, 'was aborted by its signal'), facts, {
      cause: reason,
      retriable: false,
    });
  }
}

/**
 * The request was refused before sending: another call with the same opaque
 * is still waiting for its response (a RemotingCommand reused while in
 * flight). Nothing was written and the connection is left alone; the call
 * already in flight is unaffected.
 */
export class RemotingOpaqueInUseError extends InvocationError {
  constructor(facts: InvocationFacts) {
    super(
      'REMOTING_OPAQUE_IN_USE',
      describe('call', facts, 'was refused: another call with this opaque is still waiting for its response'),
      facts,
      { retriable: false },
    );
  }
}

/**
 * The request could not be sent, or its connection closed before the
 * response came (RocketMQ's RemotingSendRequestException).
 */
export class RemotingSendRequestError extends InvocationError {
  constructor(facts: InvocationFacts, detail: string, cause?: unknown) {
    super('REMOTING_SEND_REQUEST', describe('call', facts, detail), facts, { cause, retriable: true });
  }
}

/**
 * No permit for an async or oneway call came in time: too many calls are
 * already in flight. RocketMQ reports this as a timeout; it is not one, the
 * request was never sent, and the counts say how crowded it is.
 */
export class RemotingTooMuchRequestError extends RemotingError {
  /** Address (`host:port`) of the peer the request was for. */
  readonly remoteAddress: string;
  /** The request's command code (RocketMQ RemotingCommand `code`). */
  readonly requestCode: number;
  /** Which permit pool was exhausted: `async` (RocketMQ semaphoreAsync) or `oneway` (semaphoreOneway). */
  readonly mode: 'async' | 'oneway';
  /** Size of that permit pool (the configured limit on calls of this mode in flight). */
  readonly permitsTotal: number;
  /** Permits free in that pool when the wait ended. */
  readonly permitsAvailable: number;
  /** Other callers still queued for a permit of that pool when the wait ended. */
  readonly permitsWaiting: number;
  /** Milliseconds this call waited for a permit before giving up. */
  readonly waitedMs: number;

  constructor(args: {
    remoteAddress: string;
    requestCode: number;
    mode: 'async' | 'oneway';
    permitsTotal: number;
    permitsAvailable: number;
    permitsWaiting: number;
    waitedMs: number;
  }) {
    super(
      'REMOTING_TOO_MUCH_REQUEST',
      `no ${args.mode} permit for a call to ${args.remoteAddress} (code ${args.requestCode}) within ${args.waitedMs} ms: ` +
        `${args.permitsTotal - args.permitsAvailable} of ${args.permitsTotal} permits in use, ` +
        `${args.permitsWaiting} other callers waiting; the request was not sent`,
      { retriable: true, written: false },
    );
    this.remoteAddress = args.remoteAddress;
    this.requestCode = args.requestCode;
    this.mode = args.mode;
    this.permitsTotal = args.permitsTotal;
    this.permitsAvailable = args.permitsAvailable;
    this.permitsWaiting = args.permitsWaiting;
    this.waitedMs = args.waitedMs;
  }
}

/** The peer answered, but with a non-success code where the caller required success (thrown by `invokeSyncOk`). */
export class RemotingCommandError extends RemotingError {
  /** Address (`host:port`) of the peer that answered. */
  readonly remoteAddress: string;
  /** The request's command code (RocketMQ RemotingCommand `code`). */
  readonly requestCode: number;
  /** The non-success code the peer answered with (e.g. RocketMQ ResponseCode SYSTEM_ERROR = 1). */
  readonly responseCode: number;
  /** The response's remark (RocketMQ `remark`): the peer's reason, or null when it gave none. */
  readonly remark: string | null;
  /** The whole response command, for its header fields and body. */
  readonly response: RemotingCommand;

  constructor(remoteAddress: string, requestCode: number, response: RemotingCommand) {
    super(
      'REMOTING_COMMAND',
      `call to ${remoteAddress} (code ${requestCode}) answered with code ${response.code}` +
        (response.remark ? `: ${response.remark}` : ''),
      { written: true },
    );
    this.remoteAddress = remoteAddress;
    this.requestCode = requestCode;
    this.responseCode = response.code;
    this.remark = response.remark;
    this.response = response;
  }
}

/** The client or server was shut down; it makes no more calls. */
export class RemotingShutdownError extends RemotingError {
  constructor(side: 'client' | 'server') {
    super('REMOTING_SHUTDOWN', `the remoting ${side} is shut down and makes no more calls`, {
      written: false,
    });
  }
}
