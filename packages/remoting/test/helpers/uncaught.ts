import { onCleanup } from './servers.js';

/** Errors that reached process 'uncaughtException' while captured, oldest first. */
export interface CapturedUncaught {
  readonly errors: unknown[];
  /** Hands 'uncaughtException' back to whoever had it (vitest), once a macrotask has passed. */
  restore(): Promise<void>;
}

/**
 * Takes over process 'uncaughtException' for one test: what the framework
 * re-throws on a later tick (a throwing callback or listener, as Node does)
 * is recorded for the test to assert on, instead of failing the run. Vitest's
 * own listeners are set aside and put back after the test. `onError` runs
 * as each error arrives (to see what had happened by then).
 */
export function captureUncaught(onError?: (error: unknown) => void): CapturedUncaught {
  const saved = process.listeners('uncaughtException');
  process.removeAllListeners('uncaughtException');
  const errors: unknown[] = [];
  const record = (error: unknown) => {
    errors.push(error);
    onError?.(error);
  };
  process.on('uncaughtException', record);
  let restored = false;
  const restore = async () => {
    if (restored) return;
    restored = true;
    // Events already scheduled (setImmediate) land here rather than on vitest's handler.
    await new Promise((resolve) => setImmediate(resolve));
    await new Promise((resolve) => setImmediate(resolve));
    process.off('uncaughtException', record);
    for (const listener of saved) process.on('uncaughtException', listener);
  };
  onCleanup(restore);
  return { errors, restore };
}
