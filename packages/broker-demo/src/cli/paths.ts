import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { type ClusterStateFile, STATE_FILE } from '../cluster/local-cluster.js';
import { BrokerConfigError } from '../protocol/errors.js';

/** pnpm runs package scripts in the package directory; paths the user typed are relative to where they typed them. */
export function userPath(p: string): string {
  return path.resolve(process.env.INIT_CWD ?? process.cwd(), p);
}

const LAST_CLUSTER = path.join(os.tmpdir(), 'remoting-ts-broker-demo.last-cluster');

export function rememberClusterDir(dir: string): void {
  writeFileSync(LAST_CLUSTER, dir);
}

/** The cluster state file of `dir`, or of the cluster started last on this machine. */
export function readClusterState(dir: string | undefined): ClusterStateFile {
  const clusterDir =
    dir !== undefined ? userPath(dir) : existsSync(LAST_CLUSTER) ? readFileSync(LAST_CLUSTER, 'utf8') : '';
  const file = path.join(clusterDir, STATE_FILE);
  if (clusterDir === '' || !existsSync(file)) {
    throw new BrokerConfigError(
      `no cluster state file (${file || 'none started yet'}); pass --dir of a running cluster`,
    );
  }
  return JSON.parse(readFileSync(file, 'utf8')) as ClusterStateFile;
}
