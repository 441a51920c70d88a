import { readFileSync } from 'node:fs';
import type { ProcessState } from './view-model.js';

export interface ProcessStat {
  state: ProcessState;
  /** User plus system CPU time, in clock ticks (usually 1/100 s). */
  cpuTicks: number;
}

/**
 * Reads /proc/PID/stat (Linux). The command name in parentheses may itself
 * hold spaces or parentheses, so the fields are counted from the last ')'.
 * Returns null where /proc is absent or the process is gone.
 */
export function readProcessStat(pid: number): ProcessStat | null {
  let text: string;
  try {
    text = readFileSync(`/proc/${pid}/stat`, 'utf8');
  } catch {
    return null;
  }
  const fields = text.slice(text.lastIndexOf(')') + 2).split(' ');
  // fields[0] is stat's 3rd field (state); utime and stime are its 14th and 15th.
  const code = fields[0];
  const state: ProcessState =
    code === 'T' || code === 't' ? 'stopped' : code === 'Z' || code === 'X' ? 'exited' : 'running';
  return { state, cpuTicks: Number(fields[11]) + Number(fields[12]) };
}
