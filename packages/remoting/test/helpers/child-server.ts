import { type ChildProcess, spawn } from 'node:child_process';
import { childEntry } from '../support/child-entry.js';
import { onCleanup } from './servers.js';

export interface ChildServer {
  child: ChildProcess;
  port: number;
  address: string;
  /** Requests of code 2 (which it never answers) the child has received so far. */
  received(): number;
}

/**
 * Starts test/fixtures/killable-server.ts in its own process on `port` (0 = any),
 * so a test can SIGKILL it mid-call. It is killed after the test, pass or fail.
 */
export async function spawnChildServer(port = 0): Promise<ChildServer> {
  const child = spawn(process.execPath, childEntry('killable-server'), {
    env: { ...process.env, PORT: String(port) },
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  onCleanup(() => {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
  });
  let received = 0;
  let buffered = '';
  const bound = await new Promise<number>((resolve, reject) => {
    // A guard against a hang, not a speed claim: a loaded machine may take seconds.
    const timer = setTimeout(
      () => reject(new Error('the child server did not print its port in 90 s')),
      90_000,
    );
    child.once('exit', (code, signal) =>
      reject(new Error(`the child server exited early (${code ?? signal})`)),
    );
    child.stdout?.setEncoding('utf8');
    child.stdout?.on('data', (text: string) => {
      buffered += text;
      const lines = buffered.split('\n');
      buffered = lines.pop() ?? '';
      for (const line of lines) {
        if (line.startsWith('PORT ')) {
          clearTimeout(timer);
          resolve(Number(line.slice(5)));
        } else if (line.startsWith('GOT ')) {
          received += 1;
        }
      }
    });
  });
  return { child, port: bound, address: `127.0.0.1:${bound}`, received: () => received };
}
