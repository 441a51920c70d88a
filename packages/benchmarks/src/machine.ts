import os from 'node:os';
import type { MachineInfo } from './types.js';

export function describeMachine(): MachineInfo {
  const cpus = os.cpus();
  return {
    cpuModel: cpus[0]?.model.trim() ?? 'unknown',
    cores: os.availableParallelism?.() ?? cpus.length,
    nodeVersion: process.version,
    platform: os.platform(),
    arch: os.arch(),
    totalMemoryBytes: os.totalmem(),
    loadAverage: os.loadavg().map((l) => Math.round(l * 100) / 100),
    clientAndServerShareMachine: true,
    note: 'client and server share this machine (separate processes over 127.0.0.1): compare ratios within one run, not absolute figures across machines',
  };
}
