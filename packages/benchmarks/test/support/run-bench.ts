import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';

const PACKAGE_DIR = fileURLToPath(new URL('../..', import.meta.url));

export interface BenchRun {
  code: number | null;
  stdout: string;
  stderr: string;
}

/**
 * Runs the bench command as a user would (tsx src/cli.ts) and collects its
 * output. The child is killed if the test gives up on it, so a hung run
 * cannot outlive the test process.
 */
export function runBench(args: string[], timeoutMs: number): Promise<BenchRun> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['--import', import.meta.resolve('tsx'), 'src/cli.ts', ...args], {
      cwd: PACKAGE_DIR,
      env: { ...process.env, INIT_CWD: PACKAGE_DIR },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk: Buffer) => {
      stdout += chunk.toString();
    });
    child.stderr.on('data', (chunk: Buffer) => {
      stderr += chunk.toString();
    });
    const timer = setTimeout(() => {
      child.kill('SIGTERM');
      reject(new Error(`bench ${args.join(' ')} did not finish in ${timeoutMs} ms\n${stderr}`));
    }, timeoutMs);
    child.on('error', reject);
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    });
  });
}
