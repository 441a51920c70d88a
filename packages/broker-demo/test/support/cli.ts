import { execFile } from 'node:child_process';
import path from 'node:path';
import { promisify } from 'node:util';
import { PACKAGE_DIR } from '../../src/cluster/spawn-node.js';

/*
 * The `broker` command as the tests run it: its own process, through tsx, as
 * `npx -y pnpm@10 broker ...` runs it for a person.
 */

/** The `broker` command's entry point. */
export const CLI_MAIN = path.join(PACKAGE_DIR, 'src/cli/main.ts');

/** Node's arguments for `broker ARGS`, for a long-running command a test spawns and watches itself. */
export function cliArgv(...args: string[]): string[] {
  return ['--import', 'tsx', CLI_MAIN, ...args];
}

/** How one run ended. */
export interface CliOutcome {
  code: number;
  stdout: string;
  stderr: string;
}

const run = promisify(execFile);

/** Generous: a command that starts a client and waits on a cluster, on a busy 2-core machine. */
const CLI_TIMEOUT_MS = 60_000;

/**
 * The three ways to run `broker ARGS`, with the environment `env()` gives at
 * each run (a test may set it up in its beforeAll); default: the test's own.
 */
export function cliRunner(env: () => NodeJS.ProcessEnv | undefined = () => undefined) {
  /** Resolves with the output; rejects with the exit code and output when the command fails. */
  const cli = (...args: string[]) =>
    run(process.execPath, cliArgv(...args), { cwd: PACKAGE_DIR, env: env(), timeout: CLI_TIMEOUT_MS });
  return {
    cli,
    /** A run expected to fail: its exit code and output; throws if it succeeded. */
    async cliFailure(...args: string[]): Promise<CliOutcome> {
      try {
        await cli(...args);
      } catch (err) {
        const e = err as CliOutcome;
        return { code: e.code, stdout: e.stdout, stderr: e.stderr };
      }
      throw new Error(`expected \`broker ${args.join(' ')}\` to fail`);
    },
    /** Exit code and output, whatever happened. */
    async cliOutcome(...args: string[]): Promise<CliOutcome> {
      try {
        const { stdout, stderr } = await cli(...args);
        return { code: 0, stdout, stderr };
      } catch (err) {
        const e = err as Partial<CliOutcome>;
        return {
          code: typeof e.code === 'number' ? e.code : -1,
          stdout: e.stdout ?? '',
          stderr: e.stderr ?? '',
        };
      }
    },
  };
}

export const { cli, cliFailure, cliOutcome } = cliRunner();
