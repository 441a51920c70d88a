/**
 * TLS: a server that enforces it, a client that verifies the server's
 * certificate, and a plain client that is turned away.
 *
 *   npx -y pnpm@10 exec tsx examples/tls.ts    (from packages/remoting; needs the openssl CLI)
 *
 * The certificate is a throwaway self-signed one for 127.0.0.1, made with
 * openssl into a temp dir that is removed at once. The client trusts exactly
 * that certificate (`ca`), so verification stays on, as it should in
 * production; `rejectUnauthorized: false` would accept anyone.
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import {
  RemotingClient,
  RemotingCommand,
  RemotingError,
  RemotingServer,
  ResponseCode,
} from '@remoting-ts/remoting';

function selfSignedCertificate(): { key: string; cert: string } | null {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'remoting-tls-example-'));
  try {
    const keyFile = path.join(dir, 'key.pem');
    const certFile = path.join(dir, 'cert.pem');
    execFileSync(
      'openssl',
      [
        'req',
        '-x509',
        '-newkey',
        'rsa:2048',
        '-nodes',
        '-days',
        '1',
        '-keyout',
        keyFile,
        '-out',
        certFile,
      ].concat(['-subj', '/CN=localhost', '-addext', 'subjectAltName=DNS:localhost,IP:127.0.0.1']),
      { stdio: 'ignore' },
    );
    return { key: readFileSync(keyFile, 'utf8'), cert: readFileSync(certFile, 'utf8') };
  } catch {
    return null;
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

const material = selfSignedCertificate();
if (material === null) {
  console.log('tls example skipped: the openssl CLI is not installed (apt-get install openssl)');
  process.exit(0);
}

// 'enforcing' refuses plain connections; 'permissive' would take both on one port.
const server = new RemotingServer({ host: '127.0.0.1', port: 0, tls: { mode: 'enforcing', ...material } });
server.registerProcessor(1, {
  processRequest: (_ctx, request) =>
    RemotingCommand.createResponse(ResponseCode.SUCCESS).setBody(
      `echo over TLS: ${request.body?.toString('utf8')}`,
    ),
});
server.on('exception', (remote, _channel, error) => console.log(`server: ${remote}: ${error.message}`));
await server.start();
const address = `127.0.0.1:${server.address().port}`;

const secure = new RemotingClient({ tls: { ca: material.cert } });
const plain = new RemotingClient();
let failures = 0;
try {
  const response = await secure.invokeSync(address, RemotingCommand.createRequest(1).setBody('hello'), 3000);
  console.log(`verified client: ${response.body?.toString('utf8')}`);
  try {
    await plain.invokeSync(address, RemotingCommand.createRequest(1).setBody('hello'), 3000);
    console.log('plain client: answered (unexpected)');
    failures++;
  } catch (error) {
    const code = error instanceof RemotingError ? error.code : String(error);
    console.log(`plain client: refused (${code}), as an enforcing server should`);
  }
} finally {
  await secure.shutdown();
  await plain.shutdown();
  await server.shutdown({ graceMs: 0 });
}
process.exitCode = failures === 0 ? 0 : 1;
