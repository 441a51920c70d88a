import { type ChildProcess, spawn } from 'node:child_process';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { onCleanup } from './servers.js';

const testDir = path.join(path.dirname(fileURLToPath(import.meta.url)), '..');

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
  const child = spawn(
    process.execPath,
    ['--import', 'tsx', path.join(testDir, 'fixtures', 'killable-server.ts')],
    {
      cwd: path.join(testDir, '..'),
      env: { ...process.env, PORT: String(port) },
      stdio: ['ignore', 'pipe', 'inherit'],
    },
  );
  onCleanup(() => {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
  });
  let received = 0;
  let buffered = '';
  const bound = await new Promise<number>((resolve, reject) => {
    const timer = setTimeout(
      () => reject(new Error('the child server did not print its port in 15 s')),
      15_000,
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
