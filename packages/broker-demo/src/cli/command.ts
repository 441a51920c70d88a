import { type EtcdCoordinates, parseCoordinatorUrl } from '../coordination/etcd/etcd-url.js';
import { parseBootstrapList } from '../net/bootstrap.js';
import { BrokerConfigError } from '../protocol/errors.js';

/** How every command a user reads is spelled: a fresh machine has npm's npx, not a bare pnpm. */
export const PNPM = 'npx -y pnpm@10';

/** One `broker` subcommand: its help text and what it does with its arguments. */
export interface CliCommand {
  name: string;
  /** One line for the list of commands. */
  summary: string;
  /** The command's whole help (`broker NAME --help`), starting with its usage line. */
  help: string;
  run(args: string[]): Promise<void> | void;
}

/**
 * The command line itself is wrong (a missing or malformed option): the
 * command says what, prints its usage on stderr and exits 2, having done
 * nothing.
 */
export class UsageError extends Error {
  readonly code = 'USAGE';
  constructor(message: string) {
    super(message);
    this.name = 'UsageError';
  }
}

/** A non-negative integer option; `fallback` when it is absent (required without one). */
export function intOption(value: string | undefined, name: string, fallback?: number): number {
  if (value === undefined) {
    if (fallback !== undefined) return fallback;
    throw new UsageError(`--${name} is required`);
  }
  const n = Number(value);
  if (!Number.isInteger(n) || n < 0)
    throw new UsageError(`--${name} must be a non-negative integer, not ${value}`);
  return n;
}

export function requiredOption(value: string | undefined, name: string): string {
  if (value === undefined || value === '') throw new UsageError(`--${name} is required`);
  return value;
}

/** `--bootstrap host:port[,host:port...]`, checked: a malformed entry is a usage error naming it. */
export function bootstrapOption(value: string | undefined): string[] {
  try {
    return parseBootstrapList(requiredOption(value, 'bootstrap'));
  } catch (err) {
    if (err instanceof BrokerConfigError) throw new UsageError(err.message);
    throw err;
  }
}

/** `--coordinator etcd://HOST:PORT[,HOST:PORT...][/ROOT]`, checked: a malformed URL is a usage error saying why. */
export function coordinatorOption(value: string): EtcdCoordinates {
  try {
    return parseCoordinatorUrl(value);
  } catch (err) {
    if (err instanceof BrokerConfigError) throw new UsageError(err.message);
    throw err;
  }
}

/** The usage of `--coordinator`, as every command that takes it shows it. */
export const COORDINATOR_USAGE = 'etcd://HOST:PORT[,HOST:PORT...][/ROOT]';
