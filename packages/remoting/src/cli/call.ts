import { RemotingClient } from '../client.js';
import { languageFromName, SerializeType } from '../protocol/codes.js';
import { RemotingCommand } from '../protocol/remoting-command.js';
import { formatResponse, responseToJson } from './format-response.js';

export interface CallOptions {
  address: string;
  code: number;
  ext: Array<[string, string]>;
  body?: string;
  mode: 'sync' | 'async' | 'oneway';
  timeoutMs: number;
  serializeType: SerializeType;
  language: string;
  version: number;
  tls: boolean;
  json: boolean;
}

/** Makes one call and prints the answer; resolves to the process exit code. */
export async function runCall(options: CallOptions, out: (line: string) => void): Promise<number> {
  const language = languageFromName(options.language.toUpperCase());
  if (language === undefined) throw new UsageError(`unknown language ${options.language}`);
  const request = RemotingCommand.createRequest(options.code);
  request.language = language;
  request.version = options.version;
  request.serializeType = options.serializeType;
  for (const [key, value] of options.ext) request.addExtField(key, value);
  if (options.body !== undefined) request.setBody(options.body);
  // Self-signed test servers are common; verification is for production clients.
  const client = new RemotingClient({
    tls: options.tls ? { rejectUnauthorized: false } : undefined,
    connectTimeoutMs: options.timeoutMs,
  });
  const started = performance.now();
  try {
    if (options.mode === 'oneway') {
      // Resolves once queued; the client's shutdown below flushes it before closing.
      await client.invokeOneway(options.address, request, options.timeoutMs);
      const elapsedMs = performance.now() - started;
      out(
        options.json
          ? JSON.stringify({ oneway: true, sent: true, elapsedMs })
          : `oneway request sent (${elapsedMs.toFixed(1)} ms)`,
      );
      return 0;
    }
    const response =
      options.mode === 'async'
        ? await client.invokeAsync(options.address, request, options.timeoutMs)
        : await client.invokeSync(options.address, request, options.timeoutMs);
    const elapsedMs = performance.now() - started;
    out(
      options.json
        ? JSON.stringify(responseToJson(response, elapsedMs))
        : formatResponse(response, elapsedMs),
    );
    return 0;
  } finally {
    await client.shutdown();
  }
}

export class UsageError extends Error {
  override readonly name = 'UsageError';
}

export const serializeTypeByName: Record<string, SerializeType> = {
  json: SerializeType.JSON,
  rocketmq: SerializeType.ROCKETMQ,
};
