/**
 * The package as a stranger installs it: `npm pack`, then `npm install` of
 * the tarball into a fresh project under os.tmpdir(), outside this workspace,
 * and then plain Node (ESM and require), strict TypeScript consumers (5.9 and
 * 7, standard and legacy decorators), the `remoting` bin, the tarball's file
 * list and `npm publish --dry-run`. It needs npm and the npm registry
 * (typescript, @types/node, reflect-metadata); without the registry it
 * reports itself skipped with the reason.
 */
import { type ChildProcess, execFile, spawn } from 'node:child_process';
import { cpSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

const run = promisify(execFile);
const PACKAGE_DIR = fileURLToPath(new URL('..', import.meta.url));
const NPM = process.platform === 'win32' ? 'npm.cmd' : 'npm';
const INSTALL_TIMEOUT_MS = 240_000;

/**
 * The environment of every child: without our NODE_OPTIONS, whose
 * `--conditions=@remoting-ts/source` would send the consumer to src/, which the
 * tarball does not ship; npm's own chatter off.
 */
function childEnv(extra: Record<string, string> = {}): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {
    ...process.env,
    npm_config_fund: 'false',
    npm_config_audit: 'false',
    ...extra,
  };
  delete env.NODE_OPTIONS;
  for (const key of Object.keys(env)) {
    // Settings pnpm passes to the scripts it runs (npm_config_*) are the workspace's, not a stranger's.
    if (key.startsWith('npm_config_') && !['npm_config_fund', 'npm_config_audit'].includes(key)) {
      if (!(key in extra)) delete env[key];
    }
  }
  return env;
}

async function npm(args: string[], cwd: string, extraEnv: Record<string, string> = {}) {
  return run(NPM, args, { cwd, env: childEnv(extraEnv), timeout: INSTALL_TIMEOUT_MS, maxBuffer: 64 << 20 });
}

async function registryReachable(): Promise<string | null> {
  try {
    await run(NPM, ['ping'], { env: childEnv(), timeout: 30_000 });
    return null;
  } catch (error) {
    return `npm registry unreachable (${(error as Error).message.split('\n')[0]})`;
  }
}

const skipReason = await registryReachable();
if (skipReason !== null) console.warn(`packaging.test.ts skipped: ${skipReason}`);

interface PackedFile {
  path: string;
  size: number;
}
interface PackResult {
  filename: string;
  size: number;
  unpackedSize: number;
  entryCount: number;
  files: PackedFile[];
}

let workDir = '';
let consumerDir = '';
let tarball = '';
let packed: PackResult;
const children = new Set<ChildProcess>();

beforeAll(async () => {
  if (skipReason !== null) return;
  workDir = mkdtempSync(path.join(os.tmpdir(), 'remoting-packaging-'));
  const { stdout } = await npm(['pack', '--json', '--pack-destination', workDir], PACKAGE_DIR);
  // The prepack script's output comes first; the JSON array is the tail.
  packed = (JSON.parse(stdout.slice(stdout.indexOf('\n[') + 1)) as PackResult[])[0] as PackResult;
  tarball = path.join(workDir, packed.filename);
  consumerDir = path.join(workDir, 'consumer');
  mkdirSync(consumerDir);
  writeFileSync(
    path.join(consumerDir, 'package.json'),
    JSON.stringify({ name: 'consumer', version: '1.0.0', private: true, type: 'module' }),
  );
  await npm(['install', tarball, 'typescript@~5.9.3', '@types/node@^20.19.0'], consumerDir);
  await npm(['install', '--prefix', path.join(workDir, 'ts7'), 'typescript@^7'], workDir);
  writeConsumerFiles(consumerDir);
}, INSTALL_TIMEOUT_MS * 3);

afterAll(() => {
  for (const child of children)
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
  if (workDir !== '') rmSync(workDir, { recursive: true, force: true });
});

describe.skipIf(skipReason !== null)('the packed @remoting-ts/remoting, installed with npm', () => {
  it('holds only the build, its bin, the README and the LICENSE: no tests, sources or configs', () => {
    const files = packed.files.map((file) => file.path);
    console.log(
      `tarball: ${packed.entryCount} files, ${packed.size} bytes packed, ${packed.unpackedSize} unpacked`,
    );
    for (const file of files) {
      expect(file).toMatch(
        /^(dist\/.+\.(js|d\.ts|js\.map)|bin\/remoting\.mjs|LICENSE|README\.md|package\.json)$/,
      );
      expect(file).not.toMatch(/test|\.tsbuildinfo$|tsconfig/);
    }
    expect(files).toContain('dist/index.js');
    expect(files).toContain('dist/index.d.ts');
    expect(files).toContain('dist/cli/main.js');
    expect(files).toContain('LICENSE');
  });

  it('npm publish --dry-run prints no warning', async () => {
    // A placeholder token stops the "requires you to be logged in" notice;
    // a dry run sends nothing, so no real credential is needed or read.
    const npmrc = path.join(workDir, 'publish-npmrc');
    writeFileSync(npmrc, '//registry.npmjs.org/:_authToken=dry-run-placeholder\n');
    const { stdout, stderr } = await npm(['publish', '--dry-run'], PACKAGE_DIR, {
      npm_config_userconfig: npmrc,
    });
    expect(`${stdout}\n${stderr}`).not.toMatch(/\bwarn/i);
    expect(stderr).toContain('total files');
  }, 180_000);

  it('plain node imports it as ESM: sync, async and oneway calls, a custom header, errors across copies', async () => {
    const { stdout } = await run(process.execPath, ['scenario.mjs'], { cwd: consumerDir, env: childEnv() });
    expect(JSON.parse(stdout)).toEqual(expectedScenario({ copies: true }));
  }, 60_000);

  it('require() loads it from CommonJS (require of ESM, Node 20.19+)', async () => {
    const { stdout } = await run(process.execPath, ['scenario.cjs'], { cwd: consumerDir, env: childEnv() });
    expect(JSON.parse(stdout)).toEqual(expectedScenario({ copies: false }));
  }, 60_000);

  // BlockingRemotingClient from the tarball: its worker thread must start from dist/ (the .js beside
  // the module, found through import.meta.url, also when the package was require()d), calls must
  // block and return, errors keep their classes, and the script ends without process.exit().
  for (const [kind, file] of [
    ['ESM', 'blocking.mjs'],
    ['require()', 'blocking.cjs'],
  ] as const) {
    it(`BlockingRemotingClient works in plain node (${kind}) and the process ends by itself`, async () => {
      writeFileSync(path.join(consumerDir, file), blockingConsumer(kind === 'ESM' ? 'esm' : 'cjs'));
      const { stdout } = await run(process.execPath, [file], { cwd: consumerDir, env: childEnv() });
      expect(JSON.parse(stdout)).toEqual({
        body: 'blocking',
        ext: 'v',
        oneway: null,
        timeout: { isTimeout: true, isRemotingError: true, code: 'REMOTING_TIMEOUT', written: true },
        connect: { isConnect: true, code: 'REMOTING_CONNECT', written: false, causeCode: 'ECONNREFUSED' },
        afterClose: { isShutdown: true, code: 'REMOTING_SHUTDOWN' },
      });
    }, 60_000);
  }

  const compilers = [
    ['TypeScript 5.9', () => path.join(consumerDir, 'node_modules', 'typescript', 'bin', 'tsc')],
    ['TypeScript 7', () => path.join(workDir, 'ts7', 'node_modules', 'typescript', 'bin', 'tsc')],
  ] as const;
  for (const [compiler, tscPath] of compilers) {
    for (const mode of ['standard', 'legacy'] as const) {
      it(`a strict consumer type-checks with ${compiler}, ${mode} decorators, skipLibCheck off`, async () => {
        const { stdout: version } = await run(process.execPath, [tscPath(), '--version'], {
          env: childEnv(),
        });
        expect(version).toMatch(compiler === 'TypeScript 7' ? /Version 7\./ : /Version 5\.9\./);
        const result = await run(process.execPath, [tscPath(), '-p', `tsconfig.${mode}.json`], {
          cwd: consumerDir,
          env: childEnv(),
        }).catch((error: { stdout?: string; stderr?: string }) => error);
        expect(`${result.stdout ?? ''}${result.stderr ?? ''}`).toBe('');
      }, 180_000);
    }
  }

  it('the installed bin answers --help, and remoting call reaches remoting echo-server', async () => {
    const bin = path.join(consumerDir, 'node_modules', '.bin', 'remoting');
    const help = await run(bin, ['--help'], { cwd: consumerDir, env: childEnv() });
    expect(help.stdout).toContain('remoting call HOST:PORT');
    const server = spawn(bin, ['echo-server', '--port', '0'], { cwd: consumerDir, env: childEnv() });
    children.add(server);
    try {
      const address = await new Promise<string>((resolve, reject) => {
        let output = '';
        const timer = setTimeout(() => reject(new Error(`no address in: ${output}`)), 20_000);
        server.stdout.setEncoding('utf8').on('data', (text: string) => {
          output += text;
          const match = /listening on (\S+:\d+)/.exec(output);
          if (match) {
            clearTimeout(timer);
            resolve(match[1] as string);
          }
        });
        server.once('exit', (code) => reject(new Error(`echo-server exited ${code}: ${output}`)));
      });
      const call = await run(bin, ['call', address, '--code', '1', '--body', 'from the bin', '--json'], {
        cwd: consumerDir,
        env: childEnv(),
      });
      expect(JSON.parse(call.stdout)).toMatchObject({ code: 0, body: 'from the bin', language: 'JAVA' });
    } finally {
      server.kill('SIGTERM');
      await new Promise((resolve) =>
        server.exitCode === null ? server.once('exit', resolve) : resolve(null),
      );
      children.delete(server);
    }
  }, 120_000);
});

function expectedScenario({ copies }: { copies: boolean }) {
  return {
    sync: 'orders:42',
    async: 'orders:42',
    oneway: ['audit-1'],
    missingHeader: { code: 1, mentionsField: true },
    connectError: { isRemotingError: true, code: 'REMOTING_CONNECT', retriable: true, written: false },
    ...(copies ? { acrossCopies: { foreignIsOurs: true, oursIsForeign: true, wrongClass: false } } : {}),
  };
}

/** The scenario both plain-Node scripts run; `lib` is the imported or required package. */
const SCENARIO_BODY = `
  const { HeaderField, RemotingClient, RemotingCommand, RemotingError, RemotingServer, ResponseCode } = lib;
  // Plain JavaScript has no decorator syntax on Node 20: apply the decorator by hand.
  class CountHeader {}
  HeaderField({ type: 'string', required: true })(CountHeader.prototype, 'key');
  HeaderField({ type: 'int', required: true })(CountHeader.prototype, 'count');

  const server = new RemotingServer({ host: '127.0.0.1', port: 0 });
  const audit = [];
  let audited;
  const auditSeen = new Promise((resolve) => { audited = resolve; });
  server.registerProcessor(1, {
    processRequest: (_ctx, request) => {
      const header = request.decodeCustomHeader(CountHeader);
      return RemotingCommand.createResponse(ResponseCode.SUCCESS).setBody(header.key + ':' + (header.count + 1));
    },
  });
  server.registerProcessor(2, {
    processRequest: (_ctx, request) => { audit.push(request.body.toString()); audited(); return null; },
  }, { concurrency: 1, queueCapacity: 16 });
  await server.start();
  const address = '127.0.0.1:' + server.address().port;
  const client = new RemotingClient();
  const header = Object.assign(new CountHeader(), { key: 'orders', count: 41 });
  const sync = await client.invokeSync(address, RemotingCommand.createRequest(1, header), 3000);
  const asyncResponse = await client.invokeAsync(address, RemotingCommand.createRequest(1, header), 3000);
  await client.invokeOneway(address, RemotingCommand.createRequest(2).setBody('audit-1'), 3000);
  await auditSeen;
  const missing = await client.invokeSync(address, RemotingCommand.createRequest(1).addExtField('key', 'k'), 3000);
  let connectError;
  try {
    await client.invokeSync('127.0.0.1:1', RemotingCommand.createRequest(1), 2000);
  } catch (error) {
    connectError = error;
  }
  await client.shutdown();
  await server.shutdown({ graceMs: 0 });
  const result = {
    sync: sync.body.toString(),
    async: asyncResponse.body.toString(),
    oneway: audit,
    missingHeader: { code: missing.code, mentionsField: /required field "count" is missing/.test(missing.remark) },
    connectError: {
      isRemotingError: connectError instanceof RemotingError,
      code: connectError.code,
      retriable: connectError.retriable,
      written: connectError.written,
    },
  };
`;

function writeConsumerFiles(dir: string): void {
  // A second copy of the installed package, as two versions in one tree would be.
  cpSync(
    path.join(dir, 'node_modules', '@remoting-ts', 'remoting'),
    path.join(dir, 'node_modules', 'remoting-copy'),
    {
      recursive: true,
    },
  );
  writeFileSync(
    path.join(dir, 'scenario.mjs'),
    `import * as lib from '@remoting-ts/remoting';
import * as copy from './node_modules/remoting-copy/dist/index.js';
${SCENARIO_BODY}
result.acrossCopies = {
  foreignIsOurs: new copy.RemotingProtocolError('x') instanceof lib.RemotingError,
  oursIsForeign: new lib.RemotingHeaderError('H', 'f', 'm') instanceof copy.RemotingHeaderError,
  wrongClass: new lib.RemotingHeaderError('H', 'f', 'm') instanceof copy.RemotingProtocolError,
};
console.log(JSON.stringify(result));
`,
  );
  writeFileSync(
    path.join(dir, 'scenario.cjs'),
    `const lib = require('@remoting-ts/remoting');
(async () => {
${SCENARIO_BODY}
  console.log(JSON.stringify(result));
})().catch((error) => { console.error(error); process.exitCode = 1; });
`,
  );
  writeFileSync(path.join(dir, 'consumer.ts'), CONSUMER_TS);
  for (const mode of ['standard', 'legacy'] as const) {
    writeFileSync(
      path.join(dir, `tsconfig.${mode}.json`),
      JSON.stringify(
        {
          compilerOptions: {
            target: 'ES2022',
            module: 'nodenext',
            moduleResolution: 'nodenext',
            rootDir: '.',
            strict: true,
            exactOptionalPropertyTypes: true,
            noUncheckedIndexedAccess: true,
            noImplicitOverride: true,
            skipLibCheck: false,
            types: ['node'],
            noEmit: true,
            ...(mode === 'legacy' ? { experimentalDecorators: true } : {}),
          },
          files: ['consumer.ts'],
        },
        null,
        2,
      ),
    );
  }
}

/** A strict TypeScript consumer using the public API the way the README shows. */
const CONSUMER_TS = `import {
  HeaderField,
  type RemotingClientOptions,
  RemotingClient,
  RemotingCommand,
  RemotingConnectError,
  RemotingError,
  RemotingServer,
  type RequestContext,
  RequestMapping,
  ResponseCode,
} from '@remoting-ts/remoting';

export class PutHeader {
  @HeaderField({ type: 'string', required: true })
  key!: string;

  @HeaderField({ type: 'long', name: 'expectedVersion' })
  version?: bigint;
}

export class KvController {
  private readonly store = new Map<string, string>();

  @RequestMapping(10, { concurrency: 4, queueCapacity: 100 })
  put(_ctx: RequestContext, request: RemotingCommand): RemotingCommand {
    const header = request.decodeCustomHeader(PutHeader);
    this.store.set(header.key, request.body?.toString('utf8') ?? '');
    return RemotingCommand.createResponse(ResponseCode.SUCCESS);
  }

  @RequestMapping(11)
  async get(ctx: RequestContext, request: RemotingCommand): Promise<RemotingCommand | null> {
    const value = this.store.get(request.getExtField('key') ?? '');
    ctx.writeResponse(RemotingCommand.createResponse(ResponseCode.SUCCESS).setBody(value ?? null));
    return null;
  }
}

export async function main(): Promise<string | undefined> {
  const server = new RemotingServer({ host: '127.0.0.1', port: 0 });
  server.registerController(new KvController());
  await server.start();
  const options: RemotingClientOptions = { connectTimeoutMs: 1000 };
  const client = new RemotingClient(options);
  const address = \`127.0.0.1:\${server.address().port}\`;
  const header = new PutHeader();
  header.key = 'k';
  try {
    await client.invokeSync(address, RemotingCommand.createRequest(10, header).setBody('v'), 3000);
    const response = await client.invokeAsync(address, RemotingCommand.createRequest(11).addExtField('key', 'k'), 3000);
    await client.invokeOneway(address, RemotingCommand.createRequest(12), 3000);
    return response.body?.toString('utf8');
  } catch (error) {
    if (error instanceof RemotingConnectError) return \`connect failed, written: \${error.written}\`;
    if (error instanceof RemotingError && error.retriable && error.written === false) return 'retry';
    throw error;
  } finally {
    await client.shutdown();
    await server.shutdown({ graceMs: 0 });
  }
}
`;

/**
 * A consumer of BlockingRemotingClient: the installed `remoting echo-server`
 * in a child process (a server on the script's own event loop could not
 * answer a call that parks it), then blocking calls against it.
 */
function blockingConsumer(format: 'esm' | 'cjs'): string {
  const body = `
  const { BlockingRemotingClient, RemotingCommand, RemotingConnectError, RemotingError, RemotingShutdownError,
    RemotingTimeoutError } = lib;
  const server = spawn(path.join('node_modules', '.bin', 'remoting'), ['echo-server', '--port', '0'], {
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  const address = await new Promise((resolve, reject) => {
    let output = '';
    server.stdout.setEncoding('utf8').on('data', (text) => {
      output += text;
      const match = /listening on (\\S+:\\d+)/.exec(output);
      if (match) resolve(match[1]);
    });
    server.once('exit', (code) => reject(new Error('echo-server exited ' + code + ': ' + output)));
  });
  const thrown = (call) => { try { call(); } catch (error) { return error; } return null; };
  const client = new BlockingRemotingClient({ connectTimeoutMs: 2000 });
  const response = client.invokeSync(address, RemotingCommand.createRequest(1).setBody('blocking').addExtField('k', 'v'), 10000);
  const oneway = client.invokeOneway(address, RemotingCommand.createRequest(1), 10000) ?? null;
  const timeout = thrown(() => client.invokeSync(address, RemotingCommand.createRequest(2).addExtField('sleepMs', '1500'), 300));
  const connect = thrown(() => client.invokeSync('127.0.0.1:1', RemotingCommand.createRequest(1), 3000));
  client.close();
  const afterClose = thrown(() => client.invokeSync(address, RemotingCommand.createRequest(1), 1000));
  // The echo server finishes the sleep it was asked for (1.5 s) before it exits.
  server.kill('SIGTERM');
  console.log(JSON.stringify({
    body: response.body.toString(),
    ext: response.getExtField('k'),
    oneway,
    timeout: {
      isTimeout: timeout instanceof RemotingTimeoutError,
      isRemotingError: timeout instanceof RemotingError,
      code: timeout.code,
      written: timeout.written,
    },
    connect: {
      isConnect: connect instanceof RemotingConnectError,
      code: connect.code,
      written: connect.written,
      causeCode: connect.cause.code,
    },
    afterClose: { isShutdown: afterClose instanceof RemotingShutdownError, code: afterClose.code },
  }));
`;
  return format === 'esm'
    ? `import { spawn } from 'node:child_process';
import path from 'node:path';
import * as lib from '@remoting-ts/remoting';
${body}`
    : `const { spawn } = require('node:child_process');
const path = require('node:path');
const lib = require('@remoting-ts/remoting');
(async () => {
${body}
})().catch((error) => { console.error(error); process.exitCode = 1; });
`;
}
