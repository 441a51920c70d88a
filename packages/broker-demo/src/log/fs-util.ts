import { type FileHandle, open } from 'node:fs/promises';

/**
 * Opens a file for positional reads and writes, creating it if missing. Not
 * 'a+': on Linux O_APPEND makes every write land at the end whatever position
 * is passed, and truncation rewrites need positions honoured.
 */
export async function openReadWrite(path: string): Promise<{ file: FileHandle; created: boolean }> {
  try {
    return { file: await open(path, 'r+'), created: false };
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error;
    return { file: await open(path, 'w+'), created: true };
  }
}

/** fsyncs a directory so a created, renamed or deleted entry in it survives a crash. */
export async function syncDir(dir: string): Promise<void> {
  const handle = await open(dir, 'r');
  try {
    await handle.sync();
  } finally {
    await handle.close();
  }
}
