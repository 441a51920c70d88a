import { closeSync, fsyncSync, mkdirSync, openSync, readFileSync, renameSync, writeSync } from 'node:fs';
import path from 'node:path';
import type { PersistedControllerState } from './controller-state.js';

export const CONTROLLER_STATE_FILE = 'controller-state.json';

export class ControllerStoreError extends Error {
  override readonly name = 'ControllerStoreError';
  readonly code = 'CONTROLLER_STATE_CORRUPT';
}

/**
 * The controller's state on disk: one JSON snapshot, replaced whole through a
 * temp file, fsync and rename (then the directory is fsynced), so a SIGKILL at
 * any moment leaves the previous snapshot or the new one, never a mix.
 *
 * Writes are synchronous on purpose: a decision (a new leader epoch, an ISR)
 * must be on disk before any broker hears of it, or a restarted controller
 * could hand out an epoch twice. The file is a few KiB and changes only when
 * the cluster does, so blocking the event loop for one fsync costs nothing
 * that matters here.
 */
export class ControllerStore {
  readonly file: string;
  private readonly dir: string;

  constructor(dir: string) {
    this.dir = dir;
    this.file = path.join(dir, CONTROLLER_STATE_FILE);
    mkdirSync(dir, { recursive: true });
  }

  /** The persisted state, or null when this controller never ran in this directory. */
  load(): PersistedControllerState | null {
    let text: string;
    try {
      text = readFileSync(this.file, 'utf8');
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return null;
      throw err;
    }
    try {
      const parsed = JSON.parse(text) as PersistedControllerState;
      if (
        !Number.isInteger(parsed.version) ||
        !Array.isArray(parsed.partitions) ||
        !Array.isArray(parsed.brokers)
      )
        throw new Error('missing version, brokers or partitions');
      return parsed;
    } catch (err) {
      // The rename makes a half-written file impossible; anything unreadable is damage, and guessing would fork epochs.
      throw new ControllerStoreError(`${this.file} is not a controller state: ${String(err)}`, {
        cause: err,
      });
    }
  }

  save(state: PersistedControllerState): void {
    const temp = `${this.file}.tmp`;
    const fd = openSync(temp, 'w');
    try {
      writeSync(fd, `${JSON.stringify(state)}\n`);
      fsyncSync(fd);
    } finally {
      closeSync(fd);
    }
    renameSync(temp, this.file);
    const dirFd = openSync(this.dir, 'r');
    try {
      fsyncSync(dirFd);
    } finally {
      closeSync(dirFd);
    }
  }
}
