import { type ChildProcess, spawn } from 'node:child_process';
import { closeSync, openSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { isReadyMessage, type ReadyMessage } from './child-protocol.js';

/** The broker-demo package directory: children run from it so `--import tsx` resolves. */
export const PACKAGE_DIR = fileURLToPath(new URL('../../', import.meta.url));

export function entryPoint(relativeToSrc: string): string {
  return path.join(PACKAGE_DIR, 'src', relativeToSrc);
}

export class ChildStartError extends Error {
  readonly code = 'CHILD_START';
  constructor(message: string) {
    super(message);
    this.name = 'ChildStartError';
  }
}

/**
 * Starts a TypeScript entry point as a separate Node process (through tsx),
 * its output appended to `logFile`, and waits for its ready message over IPC.
 */
export async function spawnNode(
  entry: string,
  args: string[],
  logFile: string,
  readyTimeoutMs = 20_000,
): Promise<{ child: ChildProcess; ready: ReadyMessage }> {
  const name = path.relative(path.join(PACKAGE_DIR, 'src'), entry);
  const fd = openSync(logFile, 'a');
  let child: ChildProcess;
  try {
    child = spawn(process.execPath, ['--import', 'tsx', entry, ...args], {
      cwd: PACKAGE_DIR,
      stdio: ['ignore', fd, fd, 'ipc'],
    });
  } finally {
    closeSync(fd);
  }
  const ready = await new Promise<ReadyMessage>((resolve, reject) => {
    const timer = setTimeout(() => {
      cleanup();
      child.kill('SIGKILL');
      reject(
        new ChildStartError(`${name} did not report ready within ${readyTimeoutMs} ms (see ${logFile})`),
      );
    }, readyTimeoutMs);
    const onMessage = (msg: unknown) => {
      if (!isReadyMessage(msg)) return;
      cleanup();
      resolve(msg);
    };
    const onExit = (code: number | null, signal: NodeJS.Signals | null) => {
      cleanup();
      reject(new ChildStartError(`${name} exited (${signal ?? code}) before ready; see ${logFile}`));
    };
    function cleanup() {
      clearTimeout(timer);
      child.off('message', onMessage);
      child.off('exit', onExit);
    }
    child.on('message', onMessage);
    child.on('exit', onExit);
  });
  return { child, ready };
}

/** Resolves when the process has exited (at once if it already has). */
export function exited(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
  return new Promise((resolve) => child.once('exit', () => resolve()));
}

/**
 * Stops a child for good: SIGCONT first (a stopped process cannot act on
 * SIGTERM), then SIGTERM, then SIGKILL if it has not gone within `graceMs`.
 */
export async function stopChild(child: ChildProcess, graceMs = 3000): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const gone = exited(child);
  child.kill('SIGCONT');
  child.kill('SIGTERM');
  const timer = setTimeout(() => child.kill('SIGKILL'), graceMs);
  await gone;
  clearTimeout(timer);
}
