/**
 * Every runnable example in examples/ runs as a user would run it (its own
 * Node process through tsx) and does what its comment says. Children are
 * killed after the suite, pass or fail.
 */
import { type ChildProcess, execFile, spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, test } from 'vitest';
import { hasOpenssl } from '../src/cli/self-signed.js';
import { eventually } from './helpers/servers.js';

const PACKAGE_DIR = fileURLToPath(new URL('..', import.meta.url));
const children = new Set<ChildProcess>();
afterAll(() => {
  for (const child of children)
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
});

function runExample(
  file: string,
  args: string[] = [],
): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(
      process.execPath,
      ['--import', 'tsx', file, ...args],
      { cwd: PACKAGE_DIR, timeout: 30_000 },
      (error, stdout, stderr) => {
        resolve({
          code: error === null ? 0 : typeof error.code === 'number' ? error.code : null,
          stdout,
          stderr,
        });
      },
    );
  });
}

describe('key-value store example', () => {
  test('kv-client runs every kind of call against kv-server, which logs the oneway audit', async () => {
    const server = spawn(process.execPath, ['--import', 'tsx', 'examples/kv-server.ts'], {
      cwd: PACKAGE_DIR,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    children.add(server);
    let output = '';
    server.stdout?.setEncoding('utf8').on('data', (text: string) => {
      output += text;
    });
    server.stderr?.setEncoding('utf8').on('data', (text: string) => {
      output += text;
    });
    await eventually(() => /listening on \S+:\d+/.test(output), 20_000, 'kv-server to listen');
    const address = /listening on (\S+:\d+)/.exec(output)?.[1] as string;

    const client = await runExample('examples/kv-client.ts', [address]);
    expect(client.code, client.stderr).toBe(0);
    expect(client.stdout).toContain('put greeting -> version 1');
    expect(client.stdout).toMatch(
      /stale put -> code 1 \(version conflict on greeting: expected 0, stored 1\)/,
    );
    expect(client.stdout).toContain('get greeting -> "hello" at version 1');
    expect(client.stdout).toContain('get nope -> code KEY_NOT_FOUND');
    expect(client.stdout).toContain('kv-client: all calls behaved');
    await eventually(() => output.includes('audit: client read greeting'), 5000, 'the audit line');

    const exited = new Promise((resolve) => server.once('exit', resolve));
    server.kill('SIGTERM');
    await exited;
    expect(output).toContain('kv-server stopped');
  });

  test('kv-client without an address prints its usage and exits 2', async () => {
    const client = await runExample('examples/kv-client.ts');
    expect(client.code).toBe(2);
    expect(client.stderr).toContain('usage: kv-client HOST:PORT');
  });
});

const openssl = hasOpenssl();
if (!openssl) console.warn('examples.test.ts: tls example skipped: the openssl CLI is not installed');
describe.skipIf(!openssl)('TLS example', () => {
  test('a verifying client is served over TLS; a plain client is refused', async () => {
    const run = await runExample('examples/tls.ts');
    expect(run.code, run.stderr).toBe(0);
    expect(run.stdout).toContain('verified client: echo over TLS: hello');
    expect(run.stdout).toContain('plain client: refused (REMOTING_SEND_REQUEST)');
    expect(run.stdout).toMatch(/plain-text connection refused: this server enforces TLS/);
  });
});
