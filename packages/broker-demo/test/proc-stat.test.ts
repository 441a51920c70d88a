import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { readFileSync } from 'node:fs';
import { describe, expect, it, vi } from 'vitest';
import { processStartTime } from '../src/cluster/process-identity.js';
import { PROC_STAT, readProcStatFields } from '../src/util/proc-stat.js';
import { readProcessStat } from '../src/view/process-state.js';

const linux = process.platform === 'linux';
if (!linux) console.log('proc-stat tests skipped: /proc/PID/stat exists on Linux only');

describe.skipIf(!linux)('/proc/PID/stat, one parser for the identity check and the view', () => {
  it('reads a live process, and null for one that is gone', async () => {
    // A command name with a space and a ')' is what makes counting from the last ')' necessary.
    const child = spawn(process.execPath, ['-e', 'process.title = "a) b"; setInterval(() => {}, 1000)']);
    await once(child, 'spawn');
    const pid = child.pid!;
    await vi.waitFor(() => expect(readFileSync(`/proc/${pid}/stat`, 'utf8')).toContain('(a) b)'), {
      timeout: 10_000,
      interval: 10,
    });
    const fields = readProcStatFields(pid)!;
    expect(fields[PROC_STAT.state]).toMatch(/^[RSD]$/);
    expect(processStartTime(pid)).toMatch(/^\d+$/);
    expect(readProcessStat(pid)?.state).toBe('running');
    child.kill('SIGSTOP');
    await vi.waitFor(() => expect(readProcessStat(pid)?.state).toBe('stopped'), {
      timeout: 10_000,
      interval: 10,
    });
    child.kill('SIGKILL');
    await once(child, 'exit');
    expect(readProcStatFields(pid)).toBeNull();
    expect(processStartTime(pid)).toBeNull();
    expect(readProcessStat(pid)).toBeNull();
  });
});
