import { type ParseArgsConfig, parseArgs } from 'node:util';

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
    console.error(`${program}: ${(error as Error).message}\n${usage}`);
    process.exitCode = 2;
    return null;
  }
  if ((parsed.values as { help?: boolean }).help === true) {
    console.log(usage);
    process.exitCode = 0;
    return null;
  }
  return parsed;
}
