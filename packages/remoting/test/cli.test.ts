/**
 * The `remoting` CLI as a user runs it: real processes, real sockets.
 * `echo-server` prints where it listens and stops cleanly on SIGTERM/SIGINT;
 * `call` prints the response (as JSON with --json), exits 1 with the error's
 * code on stderr when the call fails, and 2 on bad usage.
 *
 * The CLI runs from a bundle built once per test run (support/child-bundles.ts),
 * so a call costs a plain `node` start, not tsx's. Every child process is
 * killed after the suite, pass or fail.
 */
import { type ChildProcess, execFile, spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { hasOpenssl, makeSelfSignedCertificate } from '../src/cli/self-signed.js';
import { type RemotingCommand, RpcFlag } from '../src/index.js';
import { eventually, startServer } from './helpers/servers.js';
import { childEntry } from './support/child-entry.js';

const packageDir = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const children = new Set<ChildProcess>();

afterAll(() => {
  for (const child of children) child.kill('SIGKILL');
});

function spawnCli(args: string[]): ChildProcess {
  const child = spawn(process.execPath, [...childEntry('cli'), ...args], {
    cwd: packageDir,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  children.add(child);
  child.once('exit', () => children.delete(child));
  return child;
}

interface Run {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}

/** Runs the CLI to completion (killing it after `timeoutMs`: a guard against a hang, not a speed claim). */
function runCli(args: string[], timeoutMs = 90_000): Promise<Run> {
  const child = spawnCli(args);
  let stdout = '';
  let stderr = '';
  child.stdout?.on('data', (chunk: Buffer) => {
    stdout += chunk.toString();
  });
  child.stderr?.on('data', (chunk: Buffer) => {
    stderr += chunk.toString();
  });
  const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
  return new Promise((resolve) => {
    child.once('close', (code, signal) => {
      clearTimeout(timer);
      resolve({ code, signal, stdout, stderr });
    });
  });
}

interface CliServer {
  child: ChildProcess;
  address: string;
  output: () => string;
  exited: Promise<Run>;
}

/** Starts `echo-server --port 0 ...extra` and waits for its "listening on HOST:PORT" line. */
async function startCliServer(extra: string[] = []): Promise<CliServer> {
  const child = spawnCli(['echo-server', '--port', '0', ...extra]);
  let stdout = '';
  let stderr = '';
  child.stdout?.on('data', (chunk: Buffer) => {
    stdout += chunk.toString();
  });
  child.stderr?.on('data', (chunk: Buffer) => {
    stderr += chunk.toString();
  });
  const exited = new Promise<Run>((resolve) => {
    child.once('close', (code, signal) => resolve({ code, signal, stdout, stderr }));
  });
  let address: string | undefined;
  let gone = false;
  void exited.then(() => {
    gone = true;
  });
  await eventually(
    () => {
      address = /listening on (\S+):(\d+)/.exec(stdout)?.slice(1, 3).join(':');
      return address !== undefined || gone;
    },
    90_000,
    'echo-server to print where it listens',
  );
  if (address === undefined) throw new Error(`echo-server exited early: ${stdout}${stderr}`);
  return { child, address, output: () => stdout, exited };
}

/** The JSON the CLI printed on its last stdout line. */
function jsonOf(run: Run): Record<string, unknown> {
  expect(run.code, run.stderr).toBe(0);
  const lines = run.stdout.trim().split('\n');
  return JSON.parse(lines.at(-1) as string) as Record<string, unknown>;
}

describe('call against a running echo-server', () => {
  let server: CliServer;
  beforeAll(async () => {
    server = await startCliServer();
  });
  afterAll(() => {
    server?.child.kill('SIGKILL');
  });

  test.concurrent('prints the echoed response as JSON', async () => {
    const run = await runCli([
      'call',
      server.address,
      '--code',
      '1',
      '--ext',
      'k=v',
      '--body',
      'hi',
      '--json',
    ]);
    const response = jsonOf(run);
    expect(response).toMatchObject({
      code: 0,
      codeName: 'SUCCESS',
      remark: null,
      flag: RpcFlag.RESPONSE,
      language: 'JAVA',
      serializeType: 'JSON',
      extFields: { k: 'v' },
      bodyBytes: 2,
      body: 'hi',
      bodyEncoding: 'utf8',
    });
    expect(response.elapsedMs).toBeTypeOf('number');
  });

  test.concurrent('--serialize rocketmq: the answer comes back in the binary header', async () => {
    const run = await runCli([
      'call',
      server.address,
      '--code',
      '1',
      '--serialize',
      'rocketmq',
      '--ext',
      'a=1',
      '--ext',
      'b=two',
      '--body',
      'bin',
      '--json',
    ]);
    expect(jsonOf(run)).toMatchObject({
      code: 0,
      serializeType: 'ROCKETMQ',
      extFields: { a: '1', b: 'two' },
      body: 'bin',
    });
  });

  test.concurrent('--async gets the same answer', async () => {
    const run = await runCli(['call', server.address, '--code', '1', '--body', 'async', '--async', '--json']);
    expect(jsonOf(run)).toMatchObject({ code: 0, body: 'async' });
  });

  test.concurrent('an unsupported code shows code 3 and its remark', async () => {
    const run = await runCli(['call', server.address, '--code', '9999', '--json']);
    expect(jsonOf(run)).toMatchObject({
      code: 3,
      codeName: 'REQUEST_CODE_NOT_SUPPORTED',
      remark: ' request type 9999 not supported',
    });
    // Without --json, for people: one field a line.
    const human = await runCli(['call', server.address, '--code', '9999', '--ext', 'k=v']);
    expect(human.code).toBe(0);
    expect(human.stdout).toMatch(/code:\s+3 \(REQUEST_CODE_NOT_SUPPORTED\)/);
    expect(human.stdout).toMatch(/remark:\s+" request type 9999 not supported"/);
  });

  test.concurrent('a timeout exits 1 with REMOTING_TIMEOUT on stderr', async () => {
    const run = await runCli([
      'call',
      server.address,
      '--code',
      '2',
      '--ext',
      'sleepMs=10000',
      '--timeout',
      '300',
    ]);
    expect(run.code).toBe(1);
    expect(run.stderr).toContain('REMOTING_TIMEOUT');
    expect(run.stderr).toContain(server.address);
    expect(run.stdout).toBe('');
  });

  test.concurrent('a refused connection exits 1 with REMOTING_CONNECT', async () => {
    // A port that was free a moment ago: nothing listens there.
    const probe = net.createServer();
    await new Promise<void>((resolve) => probe.listen(0, '127.0.0.1', resolve));
    const port = (probe.address() as net.AddressInfo).port;
    await new Promise<void>((resolve) => probe.close(() => resolve()));
    const run = await runCli(['call', `127.0.0.1:${port}`, '--code', '1', '--timeout', '2000']);
    expect(run.code).toBe(1);
    expect(run.stderr).toContain('REMOTING_CONNECT');
  });

  test.concurrent.each([
    ['no address', ['call', '--code', '1']],
    ['no --code', ['call', '127.0.0.1:9876']],
    ['an address without a port', ['call', 'localhost', '--code', '1']],
    ['a port out of range', ['call', '127.0.0.1:70000', '--code', '1']],
    ['a --version that is not a number', ['call', '127.0.0.1:9876', '--code', '1', '--version', 'x']],
    ['--oneway with --async', ['call', '127.0.0.1:9876', '--code', '1', '--oneway', '--async']],
    ['an unknown option', ['call', '127.0.0.1:9876', '--code', '1', '--bogus']],
    ['an unknown command', ['frobnicate']],
    ['echo-server --tls --cert without --key', ['echo-server', '--tls', '--cert', 'cert.pem']],
    ['echo-server --tls --key without --cert', ['echo-server', '--tls', '--key', 'key.pem']],
  ])('bad usage (%s) exits 2 with the usage text', async (_name, args) => {
    const run = await runCli(args);
    expect(run.code, run.stdout + run.stderr).toBe(2);
    expect(run.stderr).toContain('usage:');
    expect(run.stderr).not.toMatch(/^\s+at /m);
  });
});

test('--oneway sends a oneway request and reports it sent', async () => {
  const { server, address } = await startServer();
  const seen: RemotingCommand[] = [];
  server.registerProcessor(77, {
    processRequest: (_ctx, request) => {
      seen.push(request);
      return null;
    },
  });
  const run = await runCli(['call', address, '--code', '77', '--body', 'fire', '--oneway', '--json']);
  expect(jsonOf(run)).toMatchObject({ oneway: true, sent: true });
  await eventually(() => seen.length === 1, 5000, 'the oneway request to arrive');
  expect(seen[0]?.isOneway()).toBe(true);
  expect(seen[0]?.body?.toString()).toBe('fire');
});

describe('echo-server stops cleanly on a signal', () => {
  // Signalled the moment the "listening" line appears: a supervisor may do just that.
  test.concurrent.each(['SIGTERM', 'SIGINT'] as const)('%s: exits 0 and says "stopped"', async (signal) => {
    const server = await startCliServer();
    server.child.kill(signal);
    const run = await server.exited;
    expect(run.signal, `killed by ${run.signal} instead of handling it`).toBeNull();
    expect(run.code).toBe(0);
    expect(run.stdout).toContain(`${signal} received`);
    expect(run.stdout).toMatch(/stopped/);
  });
});

describe.skipIf(!hasOpenssl())('echo-server --tls', () => {
  test.concurrent('call --tls is served; a plain call is too (permissive by default)', async () => {
    const server = await startCliServer(['--tls']);
    expect(server.output()).toContain('tls: permissive');
    const [secure, plain] = await Promise.all([
      runCli(['call', server.address, '--code', '1', '--body', 'secret', '--tls', '--insecure', '--json']),
      runCli(['call', server.address, '--code', '1', '--body', 'plain', '--json']),
    ]);
    expect(jsonOf(secure)).toMatchObject({ code: 0, body: 'secret' });
    expect(jsonOf(plain)).toMatchObject({ code: 0, body: 'plain' });
    server.child.kill('SIGTERM');
    expect((await server.exited).code).toBe(0);
  });

  test.concurrent('call --tls verifies the certificate: refused without --ca, served with --ca', async () => {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'remoting-cli-tls-'));
    try {
      const { cert, key } = makeSelfSignedCertificate();
      writeFileSync(path.join(dir, 'cert.pem'), cert);
      writeFileSync(path.join(dir, 'key.pem'), key);
      const server = await startCliServer([
        '--tls',
        '--cert',
        path.join(dir, 'cert.pem'),
        '--key',
        path.join(dir, 'key.pem'),
      ]);
      const [unverified, trusted] = await Promise.all([
        runCli(['call', server.address, '--code', '1', '--body', 'x', '--tls']),
        runCli([
          'call',
          server.address,
          '--code',
          '1',
          '--body',
          'ca',
          '--tls',
          '--ca',
          path.join(dir, 'cert.pem'),
          '--json',
        ]),
      ]);
      expect(unverified.code).toBe(1);
      expect(unverified.stderr).toMatch(/REMOTING_CONNECT.*self-signed certificate/);
      expect(jsonOf(trusted)).toMatchObject({ code: 0, body: 'ca' });
      server.child.kill('SIGTERM');
      await server.exited;
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  test.concurrent('a plain call to a TLS-only server says TLS may be required; the server logs the refusal', async () => {
    const server = await startCliServer(['--tls', '--tls-mode', 'enforcing']);
    const plain = await runCli(['call', server.address, '--code', '1', '--body', 'plain']);
    expect(plain.code).toBe(1);
    expect(plain.stderr).toContain('may require TLS');
    expect(plain.stderr).toContain('--tls');
    await eventually(
      () =>
        /protocol error from 127\.0\.0\.1:\d+ \[REMOTING_PROTOCOL\]: plain-text connection refused/.test(
          server.output(),
        ),
      5000,
      'the refusal line',
    );
    server.child.kill('SIGTERM');
    await server.exited;
  });
});

describe('echo-server logs and call --json output', () => {
  test('one line per connection event and per protocol error; call --json prints only JSON', async () => {
    const server = await startCliServer();
    const run = await runCli(['call', server.address, '--code', '1', '--body', 'one', '--json']);
    expect(run.code).toBe(0);
    // stdout is exactly one JSON document and nothing else.
    expect(() => JSON.parse(run.stdout)).not.toThrow();
    expect(run.stdout.trim().split('\n')).toHaveLength(1);
    await eventually(() => /close 127\.0\.0\.1:\d+/.test(server.output()), 5000, 'the close line');
    expect(server.output()).toMatch(/^connect 127\.0\.0\.1:\d+$/m);
    // A frame whose length is below the minimum: a protocol error, that connection closed.
    const [host, port] = server.address.split(':');
    const socket = net.connect(Number(port), host);
    await new Promise<void>((resolve) => socket.once('connect', () => resolve()));
    socket.end(Buffer.from([0, 0, 0, 1, 0, 0, 0, 0]));
    await eventually(
      () => /protocol error from 127\.0\.0\.1:\d+ \[REMOTING_PROTOCOL\]/.test(server.output()),
      5000,
      'the protocol error line',
    );
    const lines = server.output().trim().split('\n');
    expect(lines.filter((line) => line.startsWith('connect '))).toHaveLength(2);
    expect(lines.filter((line) => line.startsWith('protocol error '))).toHaveLength(1);
    server.child.kill('SIGTERM');
    await server.exited;
  });
});

test('echo-server --language answers in the language asked for', async () => {
  const server = await startCliServer(['--language', 'NODE_JS']);
  const run = await runCli(['call', server.address, '--code', '1', '--json']);
  expect(jsonOf(run)).toMatchObject({ code: 0, language: 'NODE_JS' });
  server.child.kill('SIGTERM');
  await server.exited;
});

test('through the root script, `pnpm -s remoting call --json` prints only the JSON on stdout', async () => {
  const server = await startCliServer();
  const repoRoot = path.resolve(packageDir, '..', '..');
  const result = await new Promise<{ code: number | null; stdout: string; stderr: string }>((resolve) => {
    execFile(
      'npx',
      [
        '-y',
        'pnpm@10',
        '-s',
        'remoting',
        'call',
        server.address,
        '--code',
        '1',
        '--body',
        'via pnpm',
        '--json',
      ],
      { cwd: repoRoot, timeout: 150_000 },
      (error, stdout, stderr) =>
        resolve({
          code: error === null ? 0 : typeof error.code === 'number' ? error.code : null,
          stdout,
          stderr,
        }),
    );
  });
  expect(result.code, result.stderr).toBe(0);
  expect(JSON.parse(result.stdout)).toMatchObject({ code: 0, body: 'via pnpm' });
  server.child.kill('SIGTERM');
  await server.exited;
}, 180_000);
