import { readFileSync } from 'node:fs';

/**
 * The fields of /proc/PID/stat (Linux) from field 3 (state) on, so that
 * `fields[n - 3]` is the man page's field n; null where /proc is absent or
 * the process is gone. The command name (field 2) is in parentheses and may
 * itself hold spaces or ')', so the fields are counted from the last ')'.
 */
export function readProcStatFields(pid: number): string[] | null {
  let stat: string;
  try {
    stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  } catch {
    return null;
  }
  return stat.slice(stat.lastIndexOf(')') + 2).split(' ');
}

/** Indices into `readProcStatFields`' result of the fields this package reads (proc(5) numbering minus 3). */
export const PROC_STAT = {
  /** Field 3: R, S, D, T, t, Z, X, ... */
  state: 0,
  /** Field 14: user CPU time, clock ticks. */
  utime: 11,
  /** Field 15: system CPU time, clock ticks. */
  stime: 12,
  /** Field 22: start time, clock ticks since boot. */
  starttime: 19,
} as const;
