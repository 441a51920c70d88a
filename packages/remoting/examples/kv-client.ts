/**
 * A client of kv-server.ts.
 *
 *   npx -y pnpm@10 exec tsx examples/kv-server.ts            (prints its address)
 *   npx -y pnpm@10 exec tsx examples/kv-client.ts 127.0.0.1:PORT
 *
 * What it shows: requests with custom headers, reading a response's header,
 * the three kinds of call (sync, async with a callback, oneway), telling an
 * application error (a response code) from a transport error (a
 * RemotingError, classified by `retriable` and `written`), and a retry that
 * is safe because the failed request was never written.
 */
import { RemotingClient, RemotingCommand, RemotingError, ResponseCode } from '@remoting-ts/remoting';
import { GetHeader, KEY_NOT_FOUND, KvCode, PutHeader, VersionHeader } from './kv-protocol.js';

const address = process.argv[2];
if (address === undefined) {
  console.error('usage: kv-client HOST:PORT');
  process.exit(2);
}

const TIMEOUT_MS = 3000;
const client = new RemotingClient({ connectTimeoutMs: 1000 });

function putRequest(key: string, value: string, expectedVersion?: bigint): RemotingCommand {
  const header = Object.assign(new PutHeader(), { key });
  if (expectedVersion !== undefined) header.expectedVersion = expectedVersion;
  return RemotingCommand.createRequest(KvCode.PUT, header).setBody(value);
}

function getRequest(key: string): RemotingCommand {
  return RemotingCommand.createRequest(KvCode.GET, Object.assign(new GetHeader(), { key }));
}

/** Sends, retrying only what cannot have reached the server (not written) and may succeed later (retriable). */
async function invokeWithRetry(request: () => RemotingCommand, attempts = 3): Promise<RemotingCommand> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await client.invokeSync(address as string, request(), TIMEOUT_MS);
    } catch (error) {
      const safe = error instanceof RemotingError && error.retriable && error.written === false;
      if (!safe || attempt === attempts) throw error;
      console.log(`attempt ${attempt} failed before sending (${error.code}); retrying`);
      await new Promise((resolve) => setTimeout(resolve, 100 * attempt));
    }
  }
}

try {
  // Sync: write, and read the version from the response's custom header.
  const put = await invokeWithRetry(() => putRequest('greeting', 'hello'));
  const { version } = put.decodeCustomHeader(VersionHeader);
  console.log(`put greeting -> version ${version}`);

  // A conditional write with a stale version is refused by the application, not the transport.
  const stale = await client.invokeSync(address, putRequest('greeting', 'hi', version - 1n), TIMEOUT_MS);
  console.log(`stale put -> code ${stale.code} (${stale.remark})`);

  // Async with a callback: the callback gets (error, response).
  const got = await new Promise<RemotingCommand>((resolve, reject) => {
    client.invokeAsync(address, getRequest('greeting'), TIMEOUT_MS, (error, response) => {
      if (error !== null || response === null) reject(error);
      else resolve(response);
    });
  });
  console.log(
    `get greeting -> "${got.body?.toString('utf8')}" at version ${got.decodeCustomHeader(VersionHeader).version}`,
  );

  // Async as a promise.
  const missing = await client.invokeAsync(address, getRequest('nope'), TIMEOUT_MS);
  console.log(`get nope -> code ${missing.code === KEY_NOT_FOUND ? 'KEY_NOT_FOUND' : missing.code}`);

  // Oneway: resolves once handed to the socket; the server answers nothing.
  await client.invokeOneway(
    address,
    RemotingCommand.createRequest(KvCode.AUDIT).setBody('client read greeting'),
    TIMEOUT_MS,
  );
  console.log('audit sent (oneway)');

  const ok =
    put.code === ResponseCode.SUCCESS &&
    stale.code !== ResponseCode.SUCCESS &&
    missing.code === KEY_NOT_FOUND;
  console.log(ok ? 'kv-client: all calls behaved' : 'kv-client: unexpected answers');
  process.exitCode = ok ? 0 : 1;
} catch (error) {
  console.error(error instanceof RemotingError ? `${error.code}: ${error.message}` : error);
  process.exitCode = 1;
} finally {
  // Shutdown flushes the oneway request before closing the connection.
  await client.shutdown();
}
