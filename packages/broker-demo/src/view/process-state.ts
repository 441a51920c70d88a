import { PROC_STAT, readProcStatFields } from '../util/proc-stat.js';
import type { ProcessState } from './view-model.js';

export interface ProcessStat {
  state: ProcessState;
  /** User plus system CPU time, in clock ticks (usually 1/100 s). */
  cpuTicks: number;
}

/** Reads /proc/PID/stat (Linux); null where /proc is absent or the process is gone. */
export function readProcessStat(pid: number): ProcessStat | null {
  const fields = readProcStatFields(pid);
  if (fields === null) return null;
  const code = fields[PROC_STAT.state];
  const state: ProcessState =
    code === 'T' || code === 't' ? 'stopped' : code === 'Z' || code === 'X' ? 'exited' : 'running';
  return { state, cpuTicks: Number(fields[PROC_STAT.utime]) + Number(fields[PROC_STAT.stime]) };
}
