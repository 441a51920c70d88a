import { readFileSync } from 'node:fs';
import { PROC_STAT, readProcStatFields } from '../util/proc-stat.js';

/**
 * Tells whether a PID still is the process a state file recorded. PIDs are
 * reused, so a PID alone proves nothing: the process's start time (field 22
 * of /proc/PID/stat, clock ticks since boot) must match the recorded one, and
 * its command line must hold the arguments that make it that process.
 * Linux only (/proc); elsewhere nothing can be verified and callers refuse.
 */

/** The start time of `pid` as /proc records it, or null if there is no such process (or no /proc). */
export function processStartTime(pid: number): string | null {
  return readProcStatFields(pid)?.[PROC_STAT.starttime] ?? null;
}

/** The arguments `pid` was started with, or null if it cannot be read. */
export function processCommandLine(pid: number): string[] | null {
  try {
    const raw = readFileSync(`/proc/${pid}/cmdline`, 'utf8');
    return raw.split('\0').filter((a) => a !== '');
  } catch {
    return null;
  }
}

export interface ExpectedProcess {
  pid: number;
  /** As recorded when the process was started; null = not recorded (an old state file). */
  startTime: string | null;
  /** Each pair must appear as consecutive arguments (e.g. ['--id', '2']); a lone string must appear anywhere. */
  arguments: Array<string | [string, string]>;
}

export type IdentityCheck = { ok: true } | { ok: false; reason: string };

/** Whether `expected.pid` is still the process that was recorded; the reason when not. */
export function checkProcessIdentity(expected: ExpectedProcess): IdentityCheck {
  const { pid } = expected;
  if (expected.startTime === null) {
    return {
      ok: false,
      reason: `the state file records no start time for pid ${pid}, so it cannot be verified`,
    };
  }
  const startTime = processStartTime(pid);
  if (startTime === null) return { ok: false, reason: `pid ${pid} is not running (or /proc is unavailable)` };
  if (startTime !== expected.startTime) {
    return {
      ok: false,
      reason: `pid ${pid} started at tick ${startTime}, not ${expected.startTime}: it is another process now`,
    };
  }
  const args = processCommandLine(pid);
  if (args === null) return { ok: false, reason: `cannot read the command line of pid ${pid}` };
  for (const want of expected.arguments) {
    const found =
      typeof want === 'string'
        ? args.some((a) => a === want || a.endsWith(want))
        : args.some((a, i) => a === want[0] && args[i + 1] === want[1]);
    if (!found) {
      const shown = typeof want === 'string' ? want : want.join(' ');
      return { ok: false, reason: `pid ${pid} was not started with "${shown}": it is another process` };
    }
  }
  return { ok: true };
}
