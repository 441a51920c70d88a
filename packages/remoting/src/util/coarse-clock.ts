/** Reads of one clock value, at most, before the clock is read again. */
const REUSES = 32;

let lastReading = 0;
let reusesLeft = 0;
let forgetQueued = false;

function forget(): void {
  reusesLeft = 0;
  forgetQueued = false;
}

/**
 * performance.now(), read at most once per synchronous run of JavaScript
 * and per 32 calls: when a call starts, for its deadline, its error facts
 * and its latency statistics. A burst of calls made in one run (the
 * callbacks of one socket read, a sending loop) shares one reading, which
 * is then at most that run's length old; the next run, or the 33rd call,
 * reads the clock again. The clock costs about 50 ns a read (Node 20),
 * some 5 % of an async call; the deadline wheel it feeds has 4 ms slots.
 */
export function coarseNow(): number {
  if (reusesLeft > 0) {
    reusesLeft -= 1;
    return lastReading;
  }
  lastReading = performance.now();
  reusesLeft = REUSES - 1;
  if (!forgetQueued) {
    forgetQueued = true;
    // Runs once this run of JavaScript (and the microtasks queued before it) is over.
    queueMicrotask(forget);
  }
  return lastReading;
}
