import { createHash } from 'node:crypto';
import {
  existsSync,
  mkdirSync,
  readdirSync,
  readFileSync,
  renameSync,
  rmSync,
  statSync,
  writeFileSync,
} from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { type ClusterStateFile, STATE_FILE } from '../cluster/local-cluster.js';
import { checkProcessIdentity, type IdentityCheck } from '../cluster/process-identity.js';
import { BrokerConfigError } from '../protocol/errors.js';

/** pnpm runs package scripts in the package directory; paths the user typed are relative to where they typed them. */
export function userPath(p: string): string {
  return path.resolve(process.env.INIT_CWD ?? process.cwd(), p);
}

/**
 * Where this user's running `cluster` commands register their directories:
 * $XDG_RUNTIME_DIR (per user, made by the login manager) when set, else a
 * directory of our own in the temp dir named after the uid. Never shared
 * between users: a directory owned by someone else is refused.
 */
export function clusterRegistryDir(): string {
  const uid = typeof process.getuid === 'function' ? process.getuid() : 0;
  const runtime = process.env.XDG_RUNTIME_DIR;
  const dir =
    runtime !== undefined && runtime !== ''
      ? path.join(runtime, 'remoting-ts-broker-demo', 'clusters')
      : path.join(os.tmpdir(), `remoting-ts-${uid}`, 'broker-demo-clusters');
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  const owner = statSync(dir).uid;
  if (typeof process.getuid === 'function' && owner !== uid) {
    throw new BrokerConfigError(
      `${dir} belongs to uid ${owner}, not to you (uid ${uid}); refusing to use it`,
    );
  }
  return dir;
}

function registryEntry(clusterDir: string): string {
  const name = createHash('sha256').update(clusterDir).digest('hex').slice(0, 16);
  return path.join(clusterRegistryDir(), `${name}.json`);
}

/** Called by the `cluster` command once its processes run. */
export function registerCluster(clusterDir: string): void {
  const entry = registryEntry(clusterDir);
  writeFileSync(`${entry}.tmp`, `${JSON.stringify({ dir: clusterDir, pid: process.pid })}\n`);
  renameSync(`${entry}.tmp`, entry);
}

export function unregisterCluster(clusterDir: string): void {
  rmSync(registryEntry(clusterDir), { force: true });
}

/** The state file of the cluster in `dir`; an error naming the file if there is none. */
export function readStateFile(clusterDir: string): ClusterStateFile {
  const file = path.join(clusterDir, STATE_FILE);
  if (!existsSync(file)) {
    throw new BrokerConfigError(`no cluster state file ${file}; pass --dir of a running cluster`);
  }
  return JSON.parse(readFileSync(file, 'utf8')) as ClusterStateFile;
}

/** Whether the `cluster` process named in a state file is still that process. */
export function checkClusterOwner(state: ClusterStateFile): IdentityCheck {
  return checkProcessIdentity({
    pid: state.startedBy,
    startTime: state.startedByStartTime ?? null,
    // The directory as typed may be relative, so the start time is what pins the process; these pin the role.
    arguments: ['main.ts', 'cluster'],
  });
}

/**
 * This user's clusters that are running now: registered directories whose
 * state file names a live `cluster` process (verified, not just a live PID).
 * Entries of clusters that are gone are removed on the way.
 */
export function runningClusters(): Array<{ dir: string; state: ClusterStateFile }> {
  const registry = clusterRegistryDir();
  const found: Array<{ dir: string; state: ClusterStateFile }> = [];
  for (const name of readdirSync(registry).filter((n) => n.endsWith('.json'))) {
    const entryFile = path.join(registry, name);
    let dir: string;
    try {
      dir = (JSON.parse(readFileSync(entryFile, 'utf8')) as { dir: string }).dir;
      const state = readStateFile(dir);
      if (checkClusterOwner(state).ok) {
        found.push({ dir, state });
        continue;
      }
    } catch {
      // Unreadable entry or state file: the cluster is not usable, so it is not running as far as we can tell.
    }
    rmSync(entryFile, { force: true });
  }
  return found.sort((a, b) => a.dir.localeCompare(b.dir));
}

/**
 * The cluster a `kill` or `restart` acts on: the one in `--dir`, or, without
 * it, the only cluster of this user running. Several running: refused, with
 * the list, since guessing could signal the wrong cluster's processes.
 */
export function resolveCluster(dir: string | undefined): {
  dir: string;
  state: ClusterStateFile;
  chosen: string;
} {
  if (dir !== undefined) {
    const clusterDir = userPath(dir);
    return { dir: clusterDir, state: readStateFile(clusterDir), chosen: 'given with --dir' };
  }
  const running = runningClusters();
  if (running.length === 0) {
    throw new BrokerConfigError('no cluster of yours is running (none registered and alive); pass --dir');
  }
  if (running.length > 1) {
    const list = running.map((c) => `  ${c.dir} (cluster pid ${c.state.startedBy})`).join('\n');
    throw new BrokerConfigError(
      `${running.length} clusters of yours are running; pass --dir with one of:\n${list}`,
    );
  }
  return { ...running[0]!, chosen: 'the only cluster of yours running' };
}
