/**
 * Every runnable example in examples/ runs with the command the README shows
 * a reader (`npx -y pnpm@10 exec tsx FILE`, from packages/remoting, in a shell
 * with no NODE_OPTIONS) and does what its comment says. Each run is a process
 * group killed after the test, pass or fail.
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, test } from 'vitest';
import { hasOpenssl } from '../src/cli/self-signed.js';
import { eventually } from './helpers/servers.js';
import {
  documentedCommand,
  PACKAGE_DIR,
  runDocumented,
  startDocumented,
} from './support/documented-command.js';

const README = readFileSync(path.join(PACKAGE_DIR, 'README.md'), 'utf8');
/** Start-up through npx, pnpm and tsx on a loaded machine: a guard against a hang, not a speed claim. */
const START_MS = 120_000;

describe('key-value store example', () => {
  test(
    'kv-client runs every kind of call against kv-server, which logs the oneway audit, started as the README says',
    async () => {
      expect(README).toContain(documentedCommand('examples/kv-server.ts'));
      expect(README).toContain(documentedCommand('examples/kv-client.ts', ['127.0.0.1:PORT']));
      const server = startDocumented('examples/kv-server.ts');
      await eventually(() => /listening on \S+:\d+/.test(server.output()), START_MS, 'kv-server to listen');
      const address = /listening on (\S+:\d+)/.exec(server.output())?.[1] as string;

      const client = await runDocumented('examples/kv-client.ts', [address]);
      expect(client.code, client.stderr).toBe(0);
      expect(client.stdout).toContain('put greeting -> version 1');
      expect(client.stdout).toMatch(
        /stale put -> code 1 \(version conflict on greeting: expected 0, stored 1\)/,
      );
      expect(client.stdout).toContain('get greeting -> "hello" at version 1');
      expect(client.stdout).toContain('get nope -> code KEY_NOT_FOUND');
      expect(client.stdout).toContain('kv-client: all calls behaved');
      await eventually(() => server.output().includes('audit: client read greeting'), 5000, 'the audit line');

      // Ctrl-C, as the README says: SIGINT to the terminal's process group.
      server.signal('SIGINT');
      await server.exited;
      expect(server.output()).toContain('kv-server stopped');
    },
    2 * START_MS,
  );

  test(
    'kv-client without an address prints its usage and exits 2',
    async () => {
      const client = await runDocumented('examples/kv-client.ts');
      expect(client.code).toBe(2);
      expect(client.stderr).toContain('usage: kv-client HOST:PORT');
    },
    START_MS,
  );
});

const openssl = hasOpenssl();
if (!openssl) console.warn('examples.test.ts: tls example skipped: the openssl CLI is not installed');
describe.skipIf(!openssl)('TLS example', () => {
  test(
    'a verifying client is served over TLS; a plain client is refused',
    async () => {
      const run = await runDocumented('examples/tls.ts');
      expect(run.code, run.stderr).toBe(0);
      expect(run.stdout).toContain('verified client: echo over TLS: hello');
      expect(run.stdout).toContain('plain client: refused (REMOTING_SEND_REQUEST)');
      expect(run.stdout).toMatch(/plain-text connection refused: this server enforces TLS/);
    },
    START_MS,
  );
});
