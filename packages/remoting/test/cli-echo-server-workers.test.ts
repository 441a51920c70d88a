/**
 * `remoting echo-server --workers N` as a user runs it: one address printed,
 * connections served by several worker processes, and every worker stopped
 * gracefully by SIGTERM to the primary or by a terminal's Ctrl-C (SIGINT to
 * the whole process group).
 *
 * "Every worker exited" is observed without signalling anyone: the workers
 * share the primary's stdout pipe, so its 'close' fires only once the last of
 * them has exited.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterEach, describe, expect, test } from 'vitest';
import { RemotingCommand } from '../src/index.js';
import { CLUSTER_PATIENCE_MS } from './helpers/cluster-fixture.js';
import { eventually, newClient } from './helpers/servers.js';

const packageDir = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const children = new Set<ChildProcess>();

afterEach(() => {
  for (const child of children) child.kill('SIGKILL');
  children.clear();
});

interface ClusterCli {
  child: ChildProcess;
  address: string;
  workerPids: number[];
  output: () => string;
  /** Resolves when the primary and every worker holding its stdout have exited. */
  closed: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
}

/** Starts the CLI in a process group of its own (as a shell's job), so Ctrl-C can be imitated. */
async function startClusterCli(extra: string[]): Promise<ClusterCli> {
  const child = spawn(
    process.execPath,
    ['--import', 'tsx', path.join('src', 'cli', 'main.ts'), 'echo-server', '--port', '0', ...extra],
    { cwd: packageDir, stdio: ['ignore', 'pipe', 'pipe'], detached: true },
  );
  children.add(child);
  let output = '';
  child.stdout?.on('data', (chunk: Buffer) => {
    output += chunk.toString();
  });
  child.stderr?.on('data', (chunk: Buffer) => {
    output += chunk.toString();
  });
  const closed = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
    child.once('close', (code, signal) => resolve({ code, signal })),
  );
  let gone = false;
  void closed.then(() => {
    gone = true;
  });
  await eventually(
    () => /listening on \S+:\d+/.test(output) || gone,
    CLUSTER_PATIENCE_MS,
    'echo-server --workers to print where it listens',
  );
  const match = /listening on (\S+:\d+) \(.*workers: pids ([\d, ]+);/.exec(output);
  if (match === null) throw new Error(`echo-server --workers did not start: ${output}`);
  const workerPids = (match[2] as string).split(', ').map(Number);
  return { child, address: match[1] as string, workerPids, output: () => output, closed };
}

/** Connects `count` clients (one connection each), echoes once on each, and returns them. */
async function echoOnConnections(address: string, count: number) {
  const clients = Array.from({ length: count }, () => newClient({ connectTimeoutMs: 10_000 }));
  for (const [i, client] of clients.entries()) {
    const response = await client.invokeSync(
      address,
      RemotingCommand.createRequest(1).setBody(`hello ${i}`),
      10_000,
    );
    expect(response.body?.toString()).toBe(`hello ${i}`);
  }
  return clients;
}

describe('echo-server --workers', () => {
  test(
    'prints one address; connections are served by every worker; SIGTERM stops them all and it exits 0',
    async () => {
      const cli = await startClusterCli(['--workers', '2']);
      expect(cli.workerPids).toHaveLength(2);
      expect(cli.output().match(/listening on/g)).toHaveLength(1);
      await echoOnConnections(cli.address, 4);
      // Each worker logs the connections it was handed.
      for (const pid of cli.workerPids) {
        await eventually(
          () => new RegExp(`worker \\d \\(pid ${pid}\\): connect `).test(cli.output()),
          CLUSTER_PATIENCE_MS,
          `a connection served by worker pid ${pid}`,
        );
      }
      cli.child.kill('SIGTERM');
      expect(await cli.closed).toEqual({ code: 0, signal: null });
      expect(cli.output()).toContain('echo-server: SIGTERM received, stopping 2 workers');
      for (const pid of cli.workerPids) expect(cli.output()).toContain(`(pid ${pid}) stopped: exit code 0`);
      expect(cli.output()).toMatch(/echo-server: stopped\n$/);
    },
    CLUSTER_PATIENCE_MS * 2,
  );

  test(
    'Ctrl-C (SIGINT to the whole process group): workers leave the stopping to the primary and exit cleanly',
    async () => {
      const cli = await startClusterCli(['--workers', '2']);
      await echoOnConnections(cli.address, 2);
      // A terminal signals the foreground process group: the primary and its workers alike.
      process.kill(-(cli.child.pid as number), 'SIGINT');
      expect(await cli.closed).toEqual({ code: 0, signal: null });
      expect(cli.output()).toContain('echo-server: SIGINT received, stopping 2 workers');
      // Not "signal SIGINT": each worker ignored it and shut its server down when the primary said so.
      for (const pid of cli.workerPids) expect(cli.output()).toContain(`(pid ${pid}) stopped: exit code 0`);
    },
    CLUSTER_PATIENCE_MS * 2,
  );

  test('--workers must be a whole number ≥ 1 (exit 2 with the usage)', async () => {
    const child = spawn(
      process.execPath,
      ['--import', 'tsx', path.join('src', 'cli', 'main.ts'), 'echo-server', '--workers', '0'],
      { cwd: packageDir, stdio: ['ignore', 'pipe', 'pipe'] },
    );
    children.add(child);
    let stderr = '';
    child.stderr?.on('data', (chunk: Buffer) => {
      stderr += chunk.toString();
    });
    const code = await new Promise<number | null>((resolve) => child.once('close', resolve));
    expect(code).toBe(2);
    expect(stderr).toContain('--workers must be an integer ≥ 1, got 0');
    expect(stderr).toContain('usage:');
  });
});
