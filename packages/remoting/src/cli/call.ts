import { readFileSync } from 'node:fs';
import type tls from 'node:tls';
import { RemotingClient } from '../client.js';
import { SerializeType } from '../protocol/codes.js';
import { RemotingError } from '../protocol/errors.js';
import { RemotingCommand } from '../protocol/remoting-command.js';
import { formatResponse, responseToJson } from './format-response.js';

/** TLS settings of `remoting call --tls`. */
export interface CallTlsOptions {
  /** PEM file of the CA (or the self-signed certificate) to trust instead of the system CAs. */
  caFile?: string | undefined;
  /** Skip certificate verification (`--insecure`): for test servers only. */
  insecure: boolean;
}

/** What `remoting call` was asked to do, parsed from its arguments. */
export interface CallOptions {
  /** `host:port` of the server. */
  address: string;
  /** Request code. */
  code: number;
  /** extFields entries, in order. */
  ext: Array<[string, string]>;
  /** Body text, if any. */
  body?: string | undefined;
  /** invokeSync, invokeAsync or invokeOneway. */
  mode: 'sync' | 'async' | 'oneway';
  /** Call timeout, and connect timeout, in milliseconds. */
  timeoutMs: number;
  /** Header serialization of the request. */
  serializeType: SerializeType;
  /** LanguageCode the request announces. */
  language: number;
  /** Version field of the request. */
  version: number;
  /** TLS settings, or null for a plain TCP connection. */
  tls: CallTlsOptions | null;
  /** Print the response as one JSON object instead of one field a line. */
  json: boolean;
}

/**
 * Makes one call and prints the answer on `out` (and hints on `err`);
 * resolves to the process exit code.
 *
 * @throws RemotingError when the call fails (the CLI prints its code and message).
 */
export async function runCall(
  options: CallOptions,
  out: (line: string) => void,
  err: (line: string) => void = () => {},
): Promise<number> {
  const request = RemotingCommand.createRequest(options.code);
  request.language = options.language;
  request.version = options.version;
  request.serializeType = options.serializeType;
  for (const [key, value] of options.ext) request.addExtField(key, value);
  if (options.body !== undefined) request.setBody(options.body);
  const client = new RemotingClient({
    tls: options.tls === null ? undefined : tlsOptions(options.tls),
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
  } catch (error) {
    if (options.tls === null && mayBeTlsOnly(error)) {
      err(
        `hint: the server closed the connection without answering a plain request; ` +
          `it may require TLS (try --tls, with --ca FILE or --insecure for a self-signed certificate)`,
      );
    }
    throw error;
  } finally {
    await client.shutdown();
  }
}

/** A TLS-only (enforcing) server drops a plain connection without a word: closed before the response. */
function mayBeTlsOnly(error: unknown): boolean {
  return error instanceof RemotingError && error.code === 'REMOTING_SEND_REQUEST';
}

function tlsOptions(options: CallTlsOptions): tls.ConnectionOptions {
  if (options.insecure) return { rejectUnauthorized: false };
  if (options.caFile !== undefined)
    return { rejectUnauthorized: true, ca: readFileSync(options.caFile, 'utf8') };
  return { rejectUnauthorized: true };
}

/** `--serialize` names. */
export const serializeTypeByName: Record<string, SerializeType> = {
  json: SerializeType.JSON,
  rocketmq: SerializeType.ROCKETMQ,
};
