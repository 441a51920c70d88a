/**
 * Runs an example or a script the way the README tells a reader to, from
 * packages/remoting in a fresh shell: `npx -y pnpm@10 exec tsx FILE ARGS...`.
 * pnpm puts the workspace's `--conditions=@remoting-ts/source` (.npmrc) into
 * NODE_OPTIONS, which is what makes `@remoting-ts/remoting` resolve to the
 * sources in a clone with no dist/; so the child gets no NODE_OPTIONS of ours.
 *
 * Each run is its own process group (npx, pnpm and node), signalled as one, so
 * a signal reaches the program however npx and pnpm forward signals, and no
 * grandchild outlives the test.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { onCleanup } from '../helpers/servers.js';

export const PACKAGE_DIR = fileURLToPath(new URL('../..', import.meta.url));

/** The command line the README shows, before the file and its arguments. */
export const DOCUMENTED_RUNNER = ['npx', '-y', 'pnpm@10', 'exec', 'tsx'] as const;

/** `npx -y pnpm@10 exec tsx FILE ARGS...` as one string, as the README spells it. */
export function documentedCommand(file: string, args: readonly string[] = []): string {
  return [...DOCUMENTED_RUNNER, file, ...args].join(' ');
}

/** The environment of a fresh shell: nothing the test runner or an outer pnpm set. */
function freshShellEnv(): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = { ...process.env, npm_config_update_notifier: 'false' };
  delete env.NODE_OPTIONS;
  for (const key of Object.keys(env)) {
    if ((key.startsWith('npm_') || key.startsWith('PNPM_')) && key !== 'npm_config_update_notifier')
      delete env[key];
  }
  return env;
}

export interface DocumentedRun {
  child: ChildProcess;
  /** Everything printed so far, stdout and stderr interleaved as they arrived. */
  output(): string;
  stdout(): string;
  stderr(): string;
  exited: Promise<number | null>;
  /** Sends `signal` to the whole group (npx, pnpm, the program). */
  signal(signal: NodeJS.Signals): void;
}

/** Starts FILE the documented way; the group is SIGKILLed after the test if still there. */
export function startDocumented(file: string, args: readonly string[] = []): DocumentedRun {
  const [command, ...runnerArgs] = DOCUMENTED_RUNNER;
  const child = spawn(command, [...runnerArgs, file, ...args], {
    cwd: PACKAGE_DIR,
    env: freshShellEnv(),
    stdio: ['ignore', 'pipe', 'pipe'],
    detached: true,
  });
  let output = '';
  let stdout = '';
  let stderr = '';
  child.stdout?.setEncoding('utf8').on('data', (text: string) => {
    stdout += text;
    output += text;
  });
  child.stderr?.setEncoding('utf8').on('data', (text: string) => {
    stderr += text;
    output += text;
  });
  // 'close': the pipes are drained too, and every process holding them is gone.
  const exited = new Promise<number | null>((resolve) => child.once('close', (code) => resolve(code)));
  let closed = false;
  void exited.then(() => {
    closed = true;
  });
  const signal = (name: NodeJS.Signals) => {
    if (closed || child.pid === undefined) return;
    try {
      process.kill(-child.pid, name);
    } catch {
      // The group is already gone.
    }
  };
  onCleanup(() => signal('SIGKILL'));
  return { child, output: () => output, stdout: () => stdout, stderr: () => stderr, exited, signal };
}

/** Runs FILE the documented way to completion. */
export async function runDocumented(
  file: string,
  args: readonly string[] = [],
): Promise<{ code: number | null; stdout: string; stderr: string }> {
  const started = startDocumented(file, args);
  const code = await started.exited;
  return { code, stdout: started.stdout(), stderr: started.stderr() };
}
