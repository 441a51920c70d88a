import { type ParseArgsConfig, parseArgs } from 'node:util';

/**
 * The usage convention every command of the workspace follows:
 * - `--help` / `-h` (or `COMMAND --help`): that command's usage on stdout, exit 0;
 * - an unknown option, a missing argument or a bad value: the problem and the
 *   usage on stderr, exit 2, no stack trace;
 * - a failure of the work itself: a one-line message on stderr, exit 1.
 */
export const EXIT_USAGE = 2;

/** Bad command-line usage: the CLI prints the message and the usage on stderr, and exits 2. */
export class UsageError extends Error {
  override readonly name = 'UsageError';
}

/** True for the errors `util.parseArgs` throws on an unknown option or a bad value. */
export function isParseArgsError(error: unknown): boolean {
  return String((error as { code?: unknown } | null)?.code).startsWith('ERR_PARSE_ARGS');
}

/** `--help` or `-h` anywhere before a `--` terminator. */
export function wantsHelp(args: readonly string[]): boolean {
  const end = args.indexOf('--');
  return (end === -1 ? args : args.slice(0, end)).some((arg) => arg === '--help' || arg === '-h');
}

/**
 * Prints what a command-line error means by the convention above and returns
 * the exit code: 2 with `usage` for a usage error (UsageError or a parseArgs
 * error), otherwise 1 with `describe(error)` (the message by default).
 */
export function reportCliError(
  program: string,
  usage: string,
  error: unknown,
  describe: (error: unknown) => string = (e) => (e instanceof Error ? e.message : String(e)),
): number {
  if (error instanceof UsageError || isParseArgsError(error)) {
    console.error(`${program}: ${(error as Error).message}\n${usage}`);
    return EXIT_USAGE;
  }
  console.error(`${program}: ${describe(error)}`);
  return 1;
}

/**
 * Parses a command's arguments with `--help` / `-h` added: on help, prints
 * `usage` to stdout and sets exit code 0; on an unknown option or a bad
 * value, prints the problem and `usage` to stderr and sets exit code 2 (no
 * stack trace). Returns null in both cases, the parsed arguments otherwise.
 */
export function parseCommandLine<T extends ParseArgsConfig>(
  program: string,
  usage: string,
  config: T,
): ReturnType<typeof parseArgs<T>> | null {
  const withHelp = {
    ...config,
    options: { ...config.options, help: { type: 'boolean', short: 'h' } },
  } as T;
  let parsed: ReturnType<typeof parseArgs<T>>;
  try {
    parsed = parseArgs(withHelp);
  } catch (error) {
    process.exitCode = reportCliError(program, usage, error);
    return null;
  }
  if ((parsed.values as { help?: boolean }).help === true) {
    console.log(usage);
    process.exitCode = 0;
    return null;
  }
  return parsed;
}
