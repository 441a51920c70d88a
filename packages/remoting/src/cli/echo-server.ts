import { readFileSync } from 'node:fs';
import { ResponseCode, type SerializeType } from '../protocol/codes.js';
import { RemotingProtocolError } from '../protocol/errors.js';
import { RemotingCommand } from '../protocol/remoting-command.js';
import type { RequestProcessor } from '../remoting/processor.js';
import { RemotingServer, type ServerTlsOptions, type TlsMode } from '../server.js';
import { makeSelfSignedCertificate } from './self-signed.js';

/** Request codes the echo server answers. */
export const EchoServerCode = {
  /** Body and extFields back, SUCCESS. */
  ECHO: 1,
  /** Waits extFields.sleepMs, then echoes. */
  SLEEP: 2,
  /** Throws, so the caller sees SYSTEM_ERROR with the message as remark. */
  FAIL: 3,
} as const;

/** How `remoting echo-server` was asked to run. */
export interface EchoServerOptions {
  /** Interface to bind. */
  host: string;
  /** Port; 0 lets the OS choose. */
  port: number;
  /** Serialization of every response; by default each mirrors its request's. */
  serializeType?: SerializeType | undefined;
  /** LanguageCode the responses announce; default JAVA (see commandDefaults). */
  language?: number | undefined;
  /** TLS mode and certificate files; a self-signed certificate when no files are given. */
  tls?:
    | { mode: Exclude<TlsMode, 'disabled'>; certFile?: string | undefined; keyFile?: string | undefined }
    | undefined;
  /** Receives one line per connection event and per protocol error. */
  log?: ((line: string) => void) | undefined;
}

function echo(request: RemotingCommand): RemotingCommand {
  const response = RemotingCommand.createResponse(ResponseCode.SUCCESS);
  response.body = request.body;
  response.extFields = request.extFields === null ? null : new Map(request.extFields);
  return response;
}

const echoProcessor: RequestProcessor = { processRequest: (_ctx, request) => echo(request) };

const sleepProcessor: RequestProcessor = {
  processRequest: async (_ctx, request) => {
    const sleepMs = Number(request.getExtField('sleepMs') ?? 0);
    if (!Number.isFinite(sleepMs) || sleepMs < 0)
      throw new Error(`sleepMs must be a non-negative number, got ${request.getExtField('sleepMs')}`);
    await new Promise((resolve) => setTimeout(resolve, sleepMs));
    return echo(request);
  },
};

const failProcessor: RequestProcessor = {
  processRequest: (_ctx, request) => {
    throw new Error(request.getExtField('message') ?? 'the FAIL processor failed, as asked');
  },
};

/** Builds and starts the echo server; resolves once it listens. */
export async function startEchoServer(options: EchoServerOptions): Promise<RemotingServer> {
  let tls: ServerTlsOptions | undefined;
  if (options.tls) {
    const material =
      options.tls.certFile && options.tls.keyFile
        ? { cert: readFileSync(options.tls.certFile, 'utf8'), key: readFileSync(options.tls.keyFile, 'utf8') }
        : makeSelfSignedCertificate();
    tls = { mode: options.tls.mode, ...material };
  }
  const server = new RemotingServer({
    host: options.host,
    port: options.port,
    responseSerializeType: options.serializeType,
    // Every answer, system and error responses included, speaks the asked-for language.
    language: options.language,
    tls,
  });
  server.registerProcessor(EchoServerCode.ECHO, echoProcessor);
  server.registerProcessor(EchoServerCode.SLEEP, sleepProcessor, { concurrency: 1024 });
  server.registerProcessor(EchoServerCode.FAIL, failProcessor);
  const log = options.log;
  if (log !== undefined) {
    server.on('connect', (remote) => log(`connect ${remote}`));
    server.on('close', (remote) => log(`close ${remote}`));
    server.on('idle', (remote) => log(`idle ${remote}`));
    server.on('exception', (remote, _channel, error) => {
      const kind = error instanceof RemotingProtocolError ? 'protocol error' : 'error';
      const code = (error as { code?: unknown }).code;
      log(`${kind} from ${remote}${typeof code === 'string' ? ` [${code}]` : ''}: ${error.message}`);
    });
  }
  await server.start();
  return server;
}
