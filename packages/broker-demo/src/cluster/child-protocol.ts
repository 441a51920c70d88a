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
