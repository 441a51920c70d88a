import { debugLog } from './debug-log.js';
import { diagnosticsChannels, type EndpointSide, type UserCodeErrorMessage } from './diagnostics.js';

/**
 * Reports a failure of user code (a callback, hook, processor or listener
 * that threw) on `remoting-ts:user-code:error` and in the NODE_DEBUG log.
 * Every guarded call site calls this once, then surfaces the failure its own
 * way (`outcome`).
 */
export function userCodeFailed(message: UserCodeErrorMessage): void {
  debugLog(
    '%s: %s threw (%s, peer %s): %s',
    message.side,
    message.kind,
    message.outcome,
    message.remoteAddress ?? '-',
    message.error instanceof Error ? message.error.message : String(message.error),
  );
  if (diagnosticsChannels.userCodeError.hasSubscribers) diagnosticsChannels.userCodeError.publish(message);
}

/**
 * Throws `error` again on a later tick, off the I/O path: what Node does with
 * a callback or listener that throws (an `uncaughtException`), without letting
 * it unwind through the socket's read loop or the framework's bookkeeping.
 */
export function rethrowLater(error: unknown): void {
  process.nextTick(rethrow, error);
}

function rethrow(error: unknown): never {
  throw error;
}

/** What was thrown, as an Error: an Error as is, anything else wrapped (kept as `cause`). */
export function asError(thrown: unknown): Error {
  return thrown instanceof Error
    ? thrown
    : new Error(`non-Error thrown: ${String(thrown)}`, { cause: thrown });
}

/**
 * Calls an async call's callback. It is user code that runs after the call
 * ended, so what it throws cannot change the call's outcome: it is reported
 * and re-thrown on a later tick, as Node does with a callback that throws,
 * never inside the socket's read loop (where it would cut short the other
 * commands of the same read).
 */
export function runInvokeCallback<E, R>(
  side: EndpointSide,
  callback: (error: E | null, response: R | null) => void,
  error: E | null,
  response: R | null,
  remoteAddress: string,
  requestCode: number,
): void {
  try {
    callback(error, response);
  } catch (thrown) {
    userCodeFailed({
      side,
      kind: 'invokeCallback',
      outcome: 'uncaught',
      remoteAddress,
      requestCode,
      error: thrown,
    });
    rethrowLater(thrown);
  }
}
