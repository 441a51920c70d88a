/**
 * The server's three TLS modes, as RocketMQ's TlsMode: disabled (plain only),
 * permissive (plain and TLS on one port, told apart by the first byte) and
 * enforcing (TLS only; a plain client is turned away).
 *
 * The certificate is made at test time with the openssl CLI and never
 * written to the repository. Without openssl the suite reports itself skipped.
 */
import net from 'node:net';
import tls from 'node:tls';
import { beforeAll, describe, expect, test } from 'vitest';
import { hasOpenssl, makeSelfSignedCertificate } from '../src/cli/self-signed.js';
import { RemotingCommand, type RemotingServerOptions, ResponseCode, type TlsMode } from '../src/index.js';
import { EchoCode, newClient, onCleanup, startEchoServer } from './helpers/servers.js';

const opensslPresent = hasOpenssl();
if (!opensslPresent) {
  console.warn('tls-modes.test.ts skipped: the openssl CLI is not installed, so no certificate can be made');
}

let material: { key: string; cert: string };

function echoRequest(text: string): RemotingCommand {
  return RemotingCommand.createRequest(EchoCode.ECHO).setBody(text);
}

async function startTlsServer(mode: TlsMode): Promise<string> {
  const options: RemotingServerOptions = { tls: { mode, key: material.key, cert: material.cert } };
  const { address } = await startEchoServer(options);
  return address;
}

/** Resolves with the error a call rejects with (and fails the test if it resolves). */
async function failureOf(call: Promise<unknown>): Promise<Error & { code?: string }> {
  try {
    await call;
  } catch (error) {
    return error as Error & { code?: string };
  }
  throw new Error('the call was expected to fail');
}

const CONNECT_TIMEOUT_MS = 30_000;
const CALL_TIMEOUT_MS = 60_000;

describe.skipIf(!opensslPresent)('TLS modes', () => {
  beforeAll(() => {
    material = makeSelfSignedCertificate();
  });

  // Generous timeouts: a failure that comes before them is the peer's doing, not a timer's.
  const plainClient = () => newClient({ connectTimeoutMs: CONNECT_TIMEOUT_MS });
  const tlsClient = () => newClient({ connectTimeoutMs: CONNECT_TIMEOUT_MS, tls: { ca: material.cert } });

  test('disabled: a plain client is served; a TLS client cannot connect', async () => {
    const address = await startTlsServer('disabled');
    const ok = await plainClient().invokeSync(address, echoRequest('plain'), CALL_TIMEOUT_MS);
    expect(ok.body?.toString()).toBe('plain');

    const started = performance.now();
    const error = await failureOf(tlsClient().invokeSync(address, echoRequest('tls'), CALL_TIMEOUT_MS));
    expect(error.code).toBe('REMOTING_CONNECT');
    // The server reads the ClientHello as a frame, finds its length absurd and hangs up:
    // the handshake fails on that, before the connect timeout could.
    expect(performance.now() - started).toBeLessThan(CONNECT_TIMEOUT_MS);
  });

  test('permissive: plain and TLS clients are both served on the same port', async () => {
    const address = await startTlsServer('permissive');
    const plain = plainClient();
    const secure = tlsClient();
    const [a, b] = await Promise.all([
      plain.invokeSync(address, echoRequest('plain'), CALL_TIMEOUT_MS),
      secure.invokeSync(address, echoRequest('tls'), CALL_TIMEOUT_MS),
    ]);
    expect([a.code, a.body?.toString()]).toEqual([ResponseCode.SUCCESS, 'plain']);
    expect([b.code, b.body?.toString()]).toEqual([ResponseCode.SUCCESS, 'tls']);
    // Both connections keep working side by side.
    const more = await Promise.all(
      Array.from({ length: 10 }, (_, i) =>
        (i % 2 === 0 ? plain : secure).invokeAsync(address, echoRequest(`n${i}`), CALL_TIMEOUT_MS),
      ),
    );
    expect(more.map((r) => r.body?.toString())).toEqual(Array.from({ length: 10 }, (_, i) => `n${i}`));
  });

  test('permissive: the TLS connection really is encrypted with our certificate', async () => {
    const address = await startTlsServer('permissive');
    const [host, port] = address.split(':') as [string, string];
    const socket = tls.connect({ host, port: Number(port), ca: material.cert });
    onCleanup(() => {
      socket.destroy();
    });
    await new Promise<void>((resolve, reject) => {
      socket.once('secureConnect', resolve);
      socket.once('error', reject);
    });
    expect(socket.authorized).toBe(true);
    expect(socket.getPeerCertificate().subject?.CN).toBe('localhost');
  });

  test('enforcing: a TLS client is served; a plain client is disconnected', async () => {
    const address = await startTlsServer('enforcing');
    const ok = await tlsClient().invokeSync(address, echoRequest('tls'), CALL_TIMEOUT_MS);
    expect(ok.body?.toString()).toBe('tls');

    const error = await failureOf(plainClient().invokeSync(address, echoRequest('plain'), CALL_TIMEOUT_MS));
    // The TCP connect succeeds; the server closes it on seeing a plain first byte, which
    // fails the call as a send failure (not REMOTING_TIMEOUT: no waiting for the timeout).
    expect(error.code).toBe('REMOTING_SEND_REQUEST');
  });

  test('enforcing: a raw plain connection is closed without a byte in reply', async () => {
    const address = await startTlsServer('enforcing');
    const [host, port] = address.split(':') as [string, string];
    const socket = net.connect({ host, port: Number(port) });
    onCleanup(() => {
      socket.destroy();
    });
    socket.on('error', () => {});
    let received = 0;
    socket.on('data', (chunk: Buffer) => {
      received += chunk.length;
    });
    const closed = new Promise<void>((resolve) => socket.once('close', () => resolve()));
    socket.write(echoRequest('plain').encode());
    await closed;
    expect(received).toBe(0);
  });

  test('a TLS client that does not trust the certificate is refused', async () => {
    const address = await startTlsServer('enforcing');
    const untrusting = newClient({ connectTimeoutMs: 2000, tls: true });
    const error = await failureOf(untrusting.invokeSync(address, echoRequest('tls'), CALL_TIMEOUT_MS));
    expect(error.code).toBe('REMOTING_CONNECT');
    expect(String((error.cause as Error | undefined)?.message)).toMatch(/self[- ]signed/i);
  });
});
