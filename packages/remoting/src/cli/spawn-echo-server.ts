import { type ChildProcess, spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';

// From the sources (tsx) main.ts runs through tsx; from the built package, main.js runs as is.
const FROM_SOURCES = import.meta.url.endsWith('.ts');
const MAIN = fileURLToPath(new URL(FROM_SOURCES ? './main.ts' : './main.js', import.meta.url));
const LOADER_ARGS = FROM_SOURCES ? ['--import', 'tsx'] : [];

/** An echo server in its own OS process, as `remoting echo-server` runs it. */
export interface EchoServerProcess {
  readonly child: ChildProcess;
  readonly address: string;
  stop(signal?: NodeJS.Signals): Promise<number | null>;
}

/** Starts `remoting echo-server --port 0` in a child process and resolves with the address it printed. */
export function spawnEchoServer(extraArgs: string[] = [], timeoutMs = 20_000): Promise<EchoServerProcess> {
  const child = spawn(process.execPath, [...LOADER_ARGS, MAIN, 'echo-server', '--port', '0', ...extraArgs], {
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  const stop = async (signal: NodeJS.Signals = 'SIGTERM') => {
    if (child.exitCode === null && child.signalCode === null) child.kill(signal);
    return exited;
  };
  return new Promise((resolve, reject) => {
    let output = '';
    const timer = setTimeout(() => {
      void stop('SIGKILL');
      reject(new Error(`echo-server did not report its address within ${timeoutMs} ms; output: ${output}`));
    }, timeoutMs);
    child.stdout?.setEncoding('utf8');
    child.stderr?.setEncoding('utf8');
    child.stderr?.on('data', (text: string) => {
      output += text;
    });
    child.stdout?.on('data', (text: string) => {
      output += text;
      const match = /listening on (\S+:\d+)/.exec(output);
      if (match) {
        clearTimeout(timer);
        resolve({ child, address: match[1] as string, stop });
      }
    });
    child.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`echo-server exited with ${code} before listening; output: ${output}`));
    });
  });
}
