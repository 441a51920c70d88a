import { type DirectoryLock, lockDirectory } from './dir-lock.js';

/** The message a controller or broker process sends its parent over IPC once it listens. */
export interface ReadyMessage {
  type: 'ready';
  role: 'controller' | 'broker';
  brokerId: number | null;
  host: string;
  port: number;
  pid: number;
}

export function isReadyMessage(value: unknown): value is ReadyMessage {
  return typeof value === 'object' && value !== null && (value as { type?: unknown }).type === 'ready';
}

/**
 * Shared by the process entry points: report readiness to the parent (over
 * IPC when there is a channel, and as a stdout line for people), exit when
 * the parent goes away, and shut down cleanly on SIGINT/SIGTERM.
 */
export function runAsChild(message: Omit<ReadyMessage, 'type' | 'pid'>, shutdown: () => Promise<void>): void {
  const ready: ReadyMessage = { type: 'ready', pid: process.pid, ...message };
  process.stdout.write(`READY ${JSON.stringify(ready)}\n`);
  process.send?.(ready);
  let closing = false;
  const stop = (code: number) => {
    if (closing) return;
    closing = true;
    const force = setTimeout(() => process.exit(code), 3000);
    force.unref();
    shutdown().then(
      () => process.exit(code),
      () => process.exit(1),
    );
  };
  process.on('SIGINT', () => stop(0));
  process.on('SIGTERM', () => stop(0));
  // An orphan must not outlive the cluster (or a test) that started it.
  process.on('disconnect', () => stop(0));
}

/**
 * Locks a process's data directory for its life (see lockDirectory); if
 * another live process holds it, says so and exits with status 1 before the
 * process has touched anything there.
 */
export function lockOrExit(dir: string, description: string): DirectoryLock {
  try {
    return lockDirectory(dir, description);
  } catch (err) {
    process.stderr.write(`refusing to start: ${err instanceof Error ? err.message : String(err)}\n`);
    process.exit(1);
  }
}
