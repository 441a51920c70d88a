/**
 * Every command of the workspace answers `--help` with its usage on stdout and
 * exit 0 (`COMMAND --help`: that command's usage), and an unknown option or a
 * bad value with the problem and the usage on stderr, exit 2, and no stack
 * trace. Real processes, run the way the root package.json scripts run them
 * (tsx, from the package directory); the `remoting` CLI from its bundle (see
 * support/child-bundles.ts), which is the same sources.
 */
import { execFile } from 'node:child_process';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, test } from 'vitest';
import { childEntry } from './support/child-entry.js';

const PACKAGES = fileURLToPath(new URL('../..', import.meta.url));

interface Command {
  /** The root script that runs it (`pnpm <name>`). */
  name: string;
  packageDir: string;
  entry: string;
  /** Arguments before the option under test (a subcommand). */
  prefix?: string[];
  /** A word the usage text contains. */
  usageMentions: string;
  /** A word only another command's usage contains: a subcommand's help is its own. */
  usageOmits?: string;
  /** Arguments with a value the command refuses (after `prefix`). */
  badValue?: string[];
}

const COMMANDS: Command[] = [
  {
    name: 'remoting',
    packageDir: 'remoting',
    entry: 'src/cli/main.ts',
    usageMentions: 'remoting call HOST:PORT',
  },
  {
    name: 'remoting call',
    packageDir: 'remoting',
    entry: 'src/cli/main.ts',
    prefix: ['call'],
    usageMentions: 'remoting call HOST:PORT',
    usageOmits: 'remoting echo-server',
    badValue: ['localhost', '--code', '1'],
  },
  {
    name: 'remoting echo-server',
    packageDir: 'remoting',
    entry: 'src/cli/main.ts',
    prefix: ['echo-server'],
    usageMentions: 'remoting echo-server',
    usageOmits: 'remoting call',
    badValue: ['--port', 'x'],
  },
  {
    name: 'remoting-demo',
    packageDir: 'remoting',
    entry: 'src/cli/demo.ts',
    usageMentions: 'npx -y pnpm@10 remoting-demo',
  },
  {
    name: 'tour',
    packageDir: 'remoting',
    entry: 'src/cli/protocol-tour.ts',
    usageMentions: 'npx -y pnpm@10 tour',
  },
  { name: 'learn', packageDir: 'remoting', entry: 'src/cli/learn.ts', usageMentions: 'npx -y pnpm@10 learn' },
  {
    name: 'broker',
    packageDir: 'broker-demo',
    entry: 'src/cli/main.ts',
    usageMentions: 'npx -y pnpm@10 broker',
  },
  {
    name: 'broker produce',
    packageDir: 'broker-demo',
    entry: 'src/cli/main.ts',
    prefix: ['produce'],
    usageMentions: 'npx -y pnpm@10 broker',
  },
  { name: 'demo', packageDir: 'broker-demo', entry: 'src/cli/demo.ts', usageMentions: 'npx -y pnpm@10 demo' },
  {
    name: 'bench',
    packageDir: 'benchmarks',
    entry: 'src/cli.ts',
    usageMentions: 'npx -y pnpm@10 bench',
    badValue: ['--suite', 'nope'],
  },
];

interface Result {
  code: number | null;
  stdout: string;
  stderr: string;
}

function runCommand(command: Command, args: string[]): Promise<Result> {
  const cwd = path.join(PACKAGES, command.packageDir);
  const program =
    command.packageDir === 'remoting' && command.entry === 'src/cli/main.ts'
      ? childEntry('cli')
      : ['--import', 'tsx', command.entry];
  return new Promise((resolve) => {
    execFile(
      process.execPath,
      [...program, ...(command.prefix ?? []), ...args],
      // A guard against a hang, not a speed claim.
      { cwd, timeout: 110_000 },
      (error, stdout, stderr) => {
        const code = error === null ? 0 : typeof error.code === 'number' ? error.code : null;
        resolve({ code, stdout, stderr });
      },
    );
  });
}

describe.each(COMMANDS)('$name', (command) => {
  test.concurrent('--help prints the usage on stdout and exits 0', async () => {
    const result = await runCommand(command, ['--help']);
    expect(result.code, result.stderr).toBe(0);
    expect(result.stdout).toContain(command.usageMentions);
    if (command.usageOmits !== undefined) expect(result.stdout).not.toContain(command.usageOmits);
    expect(result.stderr).toBe('');
  });

  test.concurrent('an unknown option prints the problem and the usage on stderr, exits 2, no stack trace', async () => {
    const result = await runCommand(command, ['--no-such-option']);
    expect(result.code, result.stdout + result.stderr).toBe(2);
    expect(result.stderr).toMatch(/--no-such-option/);
    expect(result.stderr).toContain(command.usageMentions);
    expect(result.stderr).not.toMatch(/^\s+at .*:\d+:\d+\)?$/m);
  });
});

describe.each(COMMANDS.filter((command) => command.badValue !== undefined))('$name', (command) => {
  test.concurrent(`a bad value (${command.badValue?.join(' ')}) prints the problem and the usage on stderr, exits 2, no stack trace`, async () => {
    const result = await runCommand(command, command.badValue ?? []);
    expect(result.code, result.stdout + result.stderr).toBe(2);
    expect(result.stderr).toContain(command.usageMentions);
    expect(result.stderr).not.toMatch(/^\s+at .*:\d+:\d+\)?$/m);
    expect(result.stdout).toBe('');
  });
});
