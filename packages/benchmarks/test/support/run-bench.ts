import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { BenchReport } from '../../src/types.js';

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

/** A finished bench run that wrote its JSON and HTML reports into `dir`. */
export interface BenchReportRun {
  run: BenchRun;
  report: BenchReport;
  /** A fresh temp dir holding out.json and out.html; the caller removes it. */
  dir: string;
}

/**
 * Runs the bench with `--json` and `--html` into a fresh temp dir (named
 * after `prefix`) and reads the JSON report back; a non-zero exit throws
 * with everything the bench printed.
 */
export async function runBenchReport(
  args: string[],
  timeoutMs: number,
  prefix: string,
): Promise<BenchReportRun> {
  const dir = mkdtempSync(path.join(tmpdir(), prefix));
  const run = await runBench(
    [...args, '--json', path.join(dir, 'out.json'), '--html', path.join(dir, 'out.html')],
    timeoutMs,
  );
  if (run.code !== 0) throw new Error(`bench exited with ${run.code}\n${run.stderr}\n${run.stdout}`);
  const report = JSON.parse(readFileSync(path.join(dir, 'out.json'), 'utf8')) as BenchReport;
  return { run, report, dir };
}
