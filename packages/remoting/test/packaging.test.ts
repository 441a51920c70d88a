/**
 * The package as a stranger installs it: `npm pack`, then `npm install` of
 * the tarball into fresh projects under os.tmpdir(), outside this workspace,
 * and then plain Node (ESM and require), TypeScript consumers compiled with
 * what `tsc --init` writes (TypeScript 5.9 and 7, standard and legacy
 * decorators) and RUN with node, the README's install commands and its Quick
 * start followed as written, the `remoting` bin, the tarball's file list and
 * `npm publish --dry-run`. It needs npm and the npm registry (typescript,
 * @types/node, reflect-metadata); without the registry it reports itself
 * skipped with the reason.
 *
 * To add a consumer: write its files into a directory under an installed
 * project (`installProject`; a subdirectory resolves the project's
 * node_modules) and run it in its own `it`.
 */
import { type ChildProcess, execFile, spawn } from 'node:child_process';
import { cpSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

const run = promisify(execFile);
const PACKAGE_DIR = fileURLToPath(new URL('..', import.meta.url));
const NPM = process.platform === 'win32' ? 'npm.cmd' : 'npm';
/** A guard against a hung install, not a speed claim: a loaded machine takes minutes. */
const INSTALL_TIMEOUT_MS = 300_000;
/** Per compile-and-run case (tsc 5.9 on a loaded 2-core machine takes tens of seconds). */
const CASE_TIMEOUT_MS = 300_000;
const README = readFileSync(path.join(PACKAGE_DIR, 'README.md'), 'utf8');
const VERSION = (
  JSON.parse(readFileSync(path.join(PACKAGE_DIR, 'package.json'), 'utf8')) as { version: string }
).version;
/** What `npm pack` names the tarball. */
const TARBALL_NAME = `remoting-ts-remoting-${VERSION}.tgz`;
/** The README's stand-in for where the reader's checkout is. */
const README_TARBALL_PATH = `/path/to/remoting-ts/packages/remoting/${TARBALL_NAME}`;

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
    npm_config_update_notifier: 'false',
    ...extra,
  };
  delete env.NODE_OPTIONS;
  for (const key of Object.keys(env)) {
    // Settings pnpm passes to the scripts it runs (npm_config_*) are the workspace's, not a stranger's.
    if (
      key.startsWith('npm_config_') &&
      !['npm_config_fund', 'npm_config_audit', 'npm_config_update_notifier'].includes(key)
    ) {
      if (!(key in extra)) delete env[key];
    }
  }
  return env;
}

async function npm(args: string[], cwd: string, extraEnv: Record<string, string> = {}) {
  return run(NPM, args, { cwd, env: childEnv(extraEnv), timeout: INSTALL_TIMEOUT_MS, maxBuffer: 64 << 20 });
}

/** Runs a command; resolves with its output and exit code instead of rejecting on a non-zero exit. */
async function attempt(
  command: string,
  args: string[],
  cwd: string,
): Promise<{ code: number; stdout: string; stderr: string }> {
  try {
    const { stdout, stderr } = await run(command, args, {
      cwd,
      env: childEnv(),
      timeout: CASE_TIMEOUT_MS,
      maxBuffer: 64 << 20,
    });
    return { code: 0, stdout, stderr };
  } catch (error) {
    const failed = error as { code?: unknown; stdout?: string; stderr?: string };
    return {
      code: typeof failed.code === 'number' ? failed.code : 1,
      stdout: failed.stdout ?? '',
      stderr: failed.stderr ?? String(error),
    };
  }
}

async function registryReachable(): Promise<string | null> {
  try {
    await run(NPM, ['ping'], { env: childEnv(), timeout: 60_000 });
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

/** `npm pack` in the package, as the README's Install section says; the tarball's path. */
async function packOnce(): Promise<string> {
  const { stdout } = await npm(['pack', '--json', '--pack-destination', workDir], PACKAGE_DIR);
  // The prepack script's output comes first; the JSON array is the tail.
  packed = (JSON.parse(stdout.slice(stdout.indexOf('\n[') + 1)) as PackResult[])[0] as PackResult;
  return path.join(workDir, packed.filename);
}

/**
 * A fresh project under the work dir, as a stranger starts one: `npm init -y`,
 * `npm pkg set type=module` unless told otherwise, then one `npm install` per
 * entry of `installs` (the tarball is `tarball`). Resolves with its directory.
 */
async function installProject(
  name: string,
  installs: string[][],
  { type = 'module' }: { type?: 'module' | 'commonjs' } = {},
): Promise<string> {
  const dir = path.join(workDir, name);
  mkdirSync(dir);
  await npm(['init', '-y'], dir);
  await npm(['pkg', 'set', `type=${type}`], dir);
  for (const args of installs) await npm(['install', ...args], dir);
  return dir;
}

beforeAll(async () => {
  if (skipReason !== null) return;
  workDir = mkdtempSync(path.join(os.tmpdir(), 'remoting-packaging-'));
  tarball = await packOnce();
  consumerDir = await installProject('consumer', [[tarball, 'typescript@~5.9.3', '@types/node@^20.19.0']]);
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

  it("the README's install commands are the ones this test runs, naming the tarball npm pack makes", () => {
    expect(packed.filename).toBe(TARBALL_NAME);
    const install = sectionOf(README, 'Install');
    expect(install).toContain('cd packages/remoting\nnpm pack');
    expect(install).toContain(`npm install ${README_TARBALL_PATH}`);
    expect(install).toContain('npm install --save-dev @types/node');
    // It says the registry install does not work yet, and under which name it will.
    expect(install).toMatch(/not on the npm registry yet/i);
    expect(install).toContain('`@remoting-ts/remoting` is the name it will be published under');
  });

  it("the declarations load Node's types themselves, so a consumer needs no `types` setting", () => {
    const declarations = readFileSync(
      path.join(consumerDir, 'node_modules', '@remoting-ts', 'remoting', 'dist', 'index.d.ts'),
      'utf8',
    );
    expect(declarations).toMatch(/^\/\/\/ <reference types="node"/m);
  });

  it(
    'npm publish --dry-run prints no warning',
    async () => {
      // A placeholder token stops the "requires you to be logged in" notice;
      // a dry run sends nothing, so no real credential is needed or read.
      const npmrc = path.join(workDir, 'publish-npmrc');
      writeFileSync(npmrc, '//registry.npmjs.org/:_authToken=dry-run-placeholder\n');
      const { stdout, stderr } = await npm(['publish', '--dry-run'], PACKAGE_DIR, {
        npm_config_userconfig: npmrc,
      });
      expect(`${stdout}\n${stderr}`).not.toMatch(/\bwarn/i);
      expect(stderr).toContain('total files');
    },
    INSTALL_TIMEOUT_MS,
  );

  it(
    'plain node imports it as ESM: sync, async and oneway calls, a custom header, errors across copies',
    async () => {
      const { stdout } = await run(process.execPath, ['scenario.mjs'], { cwd: consumerDir, env: childEnv() });
      expect(JSON.parse(stdout)).toEqual(expectedScenario({ copies: true }));
    },
    CASE_TIMEOUT_MS,
  );

  it(
    'require() loads it from CommonJS (require of ESM, Node 20.19+)',
    async () => {
      const { stdout } = await run(process.execPath, ['scenario.cjs'], { cwd: consumerDir, env: childEnv() });
      expect(JSON.parse(stdout)).toEqual(expectedScenario({ copies: false }));
    },
    CASE_TIMEOUT_MS,
  );

  it(
    'installed from the checkout itself (npm install of the package directory), it runs the same',
    async () => {
      // dist/ is there: npm pack above ran the same build the README's `pnpm --filter … build` runs.
      const linked = await installProject('linked', [[PACKAGE_DIR]]);
      writeFileSync(
        path.join(linked, 'scenario.mjs'),
        `import * as lib from '@remoting-ts/remoting';
${SCENARIO_BODY}
console.log(JSON.stringify(result));
`,
      );
      const { stdout } = await run(process.execPath, ['scenario.mjs'], { cwd: linked, env: childEnv() });
      expect(JSON.parse(stdout)).toEqual(expectedScenario({ copies: false }));
    },
    INSTALL_TIMEOUT_MS,
  );

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
    {
      name: 'TypeScript 5.9',
      version: /Version 5\.9\./,
      tsc: () => path.join(consumerDir, 'node_modules', 'typescript', 'bin', 'tsc'),
    },
    {
      name: 'TypeScript 7',
      version: /Version 7\./,
      tsc: () => path.join(workDir, 'ts7', 'node_modules', 'typescript', 'bin', 'tsc'),
    },
  ] as const;
  for (const compiler of compilers) {
    for (const mode of ['standard', 'legacy'] as const) {
      it(
        `${compiler.name}, ${mode} decorators: tsc --init (target es2022, rootDir src), skipLibCheck off, compiles a strict consumer that node runs`,
        async () => {
          const tsc = compiler.tsc();
          const { stdout: version } = await run(process.execPath, [tsc, '--version'], { env: childEnv() });
          expect(version).toMatch(compiler.version);
          const dir = await typeScriptConsumer(`${compiler.name.replace(/\W+/g, '-')}-${mode}`, {
            initFlags: ['--target', 'es2022', ...(mode === 'legacy' ? ['--experimentalDecorators'] : [])],
            tsc,
          });
          await expectInitWrote(dir, tsc, { target: 'es2022', types: [] });
          const compiled = await attempt(process.execPath, [tsc, '-p', '.', '--skipLibCheck', 'false'], dir);
          expect(`${compiled.stdout}${compiled.stderr}`).toBe('');
          expect(compiled.code).toBe(0);
          const ran = await attempt(process.execPath, [path.join('dist', 'main.js')], dir);
          expect(ran.stderr).toBe('');
          expect(JSON.parse(ran.stdout)).toEqual({ got: 'v', decorated: true });
        },
        CASE_TIMEOUT_MS,
      );
    }
  }

  it(
    "the README's warning holds: with tsc --init's own target (esnext) standard decorators stay in the output and node 20 cannot parse it",
    async () => {
      const tsc = compilers[0].tsc();
      const dir = await typeScriptConsumer('esnext-target', { initFlags: [], tsc });
      await expectInitWrote(dir, tsc, { target: 'esnext' });
      const compiled = await attempt(process.execPath, [tsc, '-p', '.'], dir);
      expect(compiled.code, compiled.stdout).toBe(0);
      expect(readFileSync(path.join(dir, 'dist', 'main.js'), 'utf8')).toContain('@HeaderField(');
      const ran = await attempt(process.execPath, [path.join('dist', 'main.js')], dir);
      expect(ran.code).not.toBe(0);
      // What the README shows a reader who kept esnext.
      expect(ran.stderr).toContain('SyntaxError: Invalid or unexpected token');
      expect(sectionOf(README, 'Install')).toContain('SyntaxError: Invalid or unexpected token');
    },
    CASE_TIMEOUT_MS,
  );

  it(
    "the README's Quick start, followed as written in a new npm init -y project, prints what it says",
    async () => {
      const section = sectionOf(README, 'Quick start');
      const [setup, build] = codeBlocks(section, 'sh');
      const [source] = codeBlocks(section, 'ts');
      if (setup === undefined || build === undefined || source === undefined)
        throw new Error('the Quick start needs a setup sh block, a ts block and a build sh block');
      const fileName = /^\/\/ (\S+)\n/.exec(source)?.[1];
      if (fileName === undefined)
        throw new Error('the Quick start ts block must start with // its file name');
      // The one change: where the reader's tarball is.
      expect(setup).toContain(README_TARBALL_PATH);
      const script = setup.replaceAll(README_TARBALL_PATH, tarball);
      const quickDir = path.join(workDir, 'quick-start');
      mkdirSync(quickDir);
      const setUp = await attempt('bash', ['-euo', 'pipefail', '-c', script], quickDir);
      expect(setUp.code, setUp.stderr).toBe(0);
      const projectDir = path.join(quickDir, /^mkdir (\S+)/m.exec(setup)?.[1] ?? '.');
      const manifest = JSON.parse(readFileSync(path.join(projectDir, 'package.json'), 'utf8')) as {
        type?: string;
      };
      expect(manifest.type).toBe('module');
      mkdirSync(path.dirname(path.join(projectDir, fileName)), { recursive: true });
      writeFileSync(path.join(projectDir, fileName), source);
      const expected = /# prints: (.+)$/m.exec(build)?.[1];
      const command = build.replace(/\s*#.*$/gm, '');
      const built = await attempt('bash', ['-euo', 'pipefail', '-c', command], projectDir);
      expect(built.stderr).toBe('');
      expect(built.code).toBe(0);
      expect(built.stdout.trim()).toBe(expected);
    },
    INSTALL_TIMEOUT_MS * 2,
  );

  it(
    'the installed bin answers --help, and remoting call reaches remoting echo-server',
    async () => {
      const bin = path.join(consumerDir, 'node_modules', '.bin', 'remoting');
      const help = await run(bin, ['--help'], { cwd: consumerDir, env: childEnv() });
      expect(help.stdout).toContain('remoting call HOST:PORT');
      const server = spawn(bin, ['echo-server', '--port', '0'], { cwd: consumerDir, env: childEnv() });
      children.add(server);
      try {
        const address = await new Promise<string>((resolve, reject) => {
          let output = '';
          server.stdout.setEncoding('utf8').on('data', (text: string) => {
            output += text;
            const match = /listening on (\S+:\d+)/.exec(output);
            if (match) resolve(match[1] as string);
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
    },
    CASE_TIMEOUT_MS,
  );
});

/** The text of a `## title` section of a markdown file, up to the next `## ` heading. */
function sectionOf(markdown: string, title: string): string {
  const start = markdown.indexOf(`\n## ${title}\n`);
  if (start < 0) throw new Error(`no "## ${title}" section`);
  const end = markdown.indexOf('\n## ', start + 4);
  return markdown.slice(start, end < 0 ? undefined : end);
}

/** The contents of the ```lang fenced blocks of `markdown`, in order. */
function codeBlocks(markdown: string, lang: string): string[] {
  return [...markdown.matchAll(new RegExp(`^\`\`\`${lang}\\n([\\s\\S]*?)^\`\`\`$`, 'gm'))].map(
    (match) => match[1] as string,
  );
}

/**
 * A TypeScript consumer project in a subdirectory of the installed consumer
 * (so it resolves that project's @remoting-ts/remoting and @types/node): its
 * own package.json (an ES module), a tsconfig.json written by `tsc --init
 * --rootDir src --outDir dist` plus `initFlags`, and src/main.ts (`source`,
 * by default the strict consumer below). Compile it with `tsc -p .` in the
 * returned directory and run `node dist/main.js`.
 */
async function typeScriptConsumer(
  name: string,
  { initFlags, tsc, source = CONSUMER_TS }: { initFlags: string[]; tsc: string; source?: string },
): Promise<string> {
  const dir = path.join(consumerDir, 'cases', name);
  mkdirSync(path.join(dir, 'src'), { recursive: true });
  writeFileSync(path.join(dir, 'package.json'), JSON.stringify({ name, private: true, type: 'module' }));
  writeFileSync(path.join(dir, 'src', 'main.ts'), source);
  const init = await attempt(
    process.execPath,
    [tsc, '--init', '--rootDir', 'src', '--outDir', 'dist', ...initFlags],
    dir,
  );
  expect(init.code, init.stderr).toBe(0);
  return dir;
}

/** Asserts what `tsc --init` wrote is what the test claims it tests (the file is JSON with comments). */
async function expectInitWrote(
  dir: string,
  tsc: string,
  expected: { target: string; types?: string[] },
): Promise<void> {
  const shown = await attempt(process.execPath, [tsc, '-p', '.', '--showConfig'], dir);
  expect(shown.code, shown.stderr).toBe(0);
  const options = (JSON.parse(shown.stdout) as { compilerOptions: Record<string, unknown> }).compilerOptions;
  expect(options.target).toBe(expected.target);
  expect(options.rootDir).toBe('./src');
  if (expected.types !== undefined) expect(options.types).toEqual(expected.types);
}

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
}

/**
 * A strict TypeScript consumer using the public API the way the README shows;
 * run, it prints `{"got":"v","decorated":true}`.
 */
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

const got = await main();
// The decorators did their work at run time: a header missing its required field is refused.
let decorated = false;
try {
  RemotingCommand.createRequest(10, new PutHeader());
} catch (error) {
  decorated = error instanceof RemotingError && /required/.test(error.message);
}
console.log(JSON.stringify({ got, decorated }));
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
