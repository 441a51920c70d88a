import {
  closeSync,
  linkSync,
  mkdirSync,
  openSync,
  readFileSync,
  renameSync,
  rmSync,
  writeSync,
} from 'node:fs';
import path from 'node:path';
import { processStartTime } from './process-identity.js';

/** The lock file in a locked directory (Kafka's log directories have one of the same name). */
export const LOCK_FILE = '.lock';

/** Who holds a directory: what the lock file says. */
export interface LockHolder {
  pid: number;
  /** The holder's start time from /proc/PID/stat: what tells it from a later process with the same PID. */
  startTime: string | null;
  /** What the holder is, for people: "broker 2", "the cluster process (main.ts cluster --dir /tmp/c1)". */
  description: string;
  /** When it took the lock (ISO 8601). */
  since: string;
}

/** The directory is in use by a live process; nothing was changed. */
export class DirectoryInUseError extends Error {
  readonly code = 'DIRECTORY_IN_USE';
  constructor(
    readonly dir: string,
    readonly holder: LockHolder,
  ) {
    super(
      `${dir} is in use by ${holder.description} (pid ${holder.pid}, since ${holder.since}; ` +
        `lock ${path.join(dir, LOCK_FILE)}). Stop it first or use another directory; nothing was changed.`,
    );
    this.name = 'DirectoryInUseError';
  }
}

/** A lock file that names no holder: nobody can tell whether its directory is in use. */
export class UnreadableLockError extends Error {
  readonly code = 'LOCK_UNREADABLE';
  constructor(readonly file: string) {
    super(`${file} names no holder (damaged?); remove it if no process uses its directory`);
    this.name = 'UnreadableLockError';
  }
}

/** A lock this process holds on a directory, for as long as the process lives or until `release()`. */
export interface DirectoryLock {
  readonly dir: string;
  readonly holder: LockHolder;
  /** A stale lock this one replaced (its holder was gone), for the log. */
  readonly replaced: LockHolder | null;
  /** Removes the lock file if it is still ours. Also done when the process exits. */
  release(): void;
}

/**
 * Locks `dir` for this process (created if missing), as Kafka locks each of
 * its log directories: a second broker, controller or cluster pointed at a
 * directory in use must refuse before it touches a file there.
 *
 * Node has no flock(2), so the lock is a file created atomically (written to
 * a temp file, then hard-linked into place, which fails if one is there)
 * naming the holder's PID and start time. A lock whose holder is gone (a
 * SIGKILL leaves the file behind) or is another process now (the PID was
 * reused: the start time differs) is stale and taken over; a live holder is
 * never signalled, only named. Where the start time cannot be read (no
 * /proc), a lock is never judged stale: the message names the file to remove.
 *
 * @throws DirectoryInUseError when a live process holds the directory
 * @throws UnreadableLockError when the lock file there names no holder
 */
export function lockDirectory(dir: string, description: string): DirectoryLock {
  mkdirSync(dir, { recursive: true });
  const file = path.join(dir, LOCK_FILE);
  const holder: LockHolder = {
    pid: process.pid,
    startTime: processStartTime(process.pid),
    description,
    since: new Date().toISOString(),
  };
  const text = `${JSON.stringify(holder)}\n`;
  let replaced: LockHolder | null = null;
  // A few rounds: a stale lock is removed and the creation tried again, and
  // another process may win that race (then it is the live holder we name).
  for (let round = 0; round < 5; round++) {
    if (createExclusive(file, text)) {
      const lock: DirectoryLock = {
        dir,
        holder,
        replaced,
        release: () => {
          process.off('exit', lock.release);
          if (readText(file) === text) rmSync(file, { force: true });
        },
      };
      process.on('exit', lock.release);
      return lock;
    }
    const found = readText(file);
    if (found === null) continue; // removed meanwhile: try again
    const current = parseHolder(found);
    if (current !== null && isAlive(current)) throw new DirectoryInUseError(dir, current);
    // A lock file is complete from the moment it exists (see createExclusive): one that names
    // no holder was damaged or written by something else, and nobody can tell whose it is.
    if (current === null) throw new UnreadableLockError(file);
    if (removeIfStill(file, found)) replaced = current;
  }
  throw new Error(`could not lock ${dir}: the lock kept changing hands`);
}

/** Whether the holder recorded is this very process still (same PID, same start time). */
function isAlive(holder: LockHolder): boolean {
  // Without /proc nothing can be verified: assume alive rather than take a live process's directory.
  if (holder.startTime === null || processStartTime(process.pid) === null) return true;
  return processStartTime(holder.pid) === holder.startTime;
}

/** Creates `file` holding `text` only if it does not exist, with its content complete from the start. */
function createExclusive(file: string, text: string): boolean {
  const temp = `${file}.${process.pid}.tmp`;
  const fd = openSync(temp, 'w');
  try {
    writeSync(fd, text);
  } finally {
    closeSync(fd);
  }
  try {
    linkSync(temp, file);
    return true;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'EEXIST') return false;
    throw err;
  } finally {
    rmSync(temp, { force: true });
  }
}

/**
 * Removes a stale lock, unless it changed since it was judged: it is moved
 * aside first and checked there, so a lock another process has just taken is
 * put back, not deleted. True when the stale one was removed.
 */
function removeIfStill(file: string, judged: string): boolean {
  const aside = `${file}.stale.${process.pid}`;
  try {
    renameSync(file, aside);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return false;
    throw err;
  }
  if (readText(aside) === judged) {
    rmSync(aside, { force: true });
    return true;
  }
  // Someone else's fresh lock: back it goes (unless yet another one is there now, which then stands).
  try {
    linkSync(aside, file);
  } catch {
    // EEXIST: the one in place is the holder now.
  }
  rmSync(aside, { force: true });
  return false;
}

function readText(file: string): string | null {
  try {
    return readFileSync(file, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return null;
    throw err;
  }
}

function parseHolder(text: string): LockHolder | null {
  try {
    const h = JSON.parse(text) as Partial<LockHolder>;
    if (typeof h.pid !== 'number' || typeof h.description !== 'string') return null;
    return {
      pid: h.pid,
      startTime: typeof h.startTime === 'string' ? h.startTime : null,
      description: h.description,
      since: typeof h.since === 'string' ? h.since : '?',
    };
  } catch {
    return null;
  }
}
