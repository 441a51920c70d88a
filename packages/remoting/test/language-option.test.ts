/**
 * The LanguageCode a client or server announces: JAVA by default (every
 * RocketMQ 4.x and 5.x peer decodes it; 4.9.7 reads NODE_JS as null), or the
 * `language` option, stamped on every command this side writes that kept the
 * process default, system responses included. A command whose language was
 * set explicitly keeps it.
 */
import { expect, test } from 'vitest';
import { LanguageCode, RemotingCommand, ResponseCode, SerializeType } from '../src/index.js';
import { EchoCode, newClient, startEchoServer } from './helpers/servers.js';

/** Records the language of every request the server receives. */
async function recordingServer(options: { language?: number } = {}) {
  const seen: number[] = [];
  const started = await startEchoServer(options);
  started.server.registerRPCHook({ doBeforeRequest: (_remote, request) => seen.push(request.language) });
  return { ...started, seen };
}

test('by default requests and responses say JAVA', async () => {
  const { address, seen } = await recordingServer();
  const client = newClient();
  const response = await client.invokeSync(address, RemotingCommand.createRequest(EchoCode.ECHO), 3000);
  expect(seen).toEqual([LanguageCode.JAVA]);
  expect(response.language).toBe(LanguageCode.JAVA);
});

test("a client's language option is stamped on its requests; an explicitly set language is kept", async () => {
  const { address, seen } = await recordingServer();
  const client = newClient({ language: LanguageCode.NODE_JS });
  await client.invokeSync(address, RemotingCommand.createRequest(EchoCode.ECHO), 3000);
  await client.invokeAsync(address, RemotingCommand.createRequest(EchoCode.ECHO), 3000);
  const explicit = RemotingCommand.createRequest(EchoCode.ECHO);
  explicit.language = LanguageCode.GO;
  await client.invokeSync(address, explicit, 3000);
  expect(seen).toEqual([LanguageCode.NODE_JS, LanguageCode.NODE_JS, LanguageCode.GO]);
});

test("a server's language option is on its answers, system responses included, in both serializations", async () => {
  const { address } = await startEchoServer({ language: LanguageCode.NODE_JS });
  const client = newClient();
  for (const serializeType of [SerializeType.JSON, SerializeType.ROCKETMQ]) {
    const echo = RemotingCommand.createRequest(EchoCode.ECHO);
    echo.serializeType = serializeType;
    const answered = await client.invokeSync(address, echo, 3000);
    expect(answered.language).toBe(LanguageCode.NODE_JS);

    const unknown = RemotingCommand.createRequest(999);
    unknown.serializeType = serializeType;
    const refused = await client.invokeSync(address, unknown, 3000);
    expect(refused.code).toBe(ResponseCode.REQUEST_CODE_NOT_SUPPORTED);
    expect(refused.language).toBe(LanguageCode.NODE_JS);
  }
});
