import cluster from 'node:cluster';
import { readFileSync } from 'node:fs';
import { startServerCluster } from '../cluster/primary.js';
import { runClusterWorker } from '../cluster/worker.js';
import { ResponseCode, type SerializeType } from '../protocol/codes.js';
import { RemotingProtocolError } from '../protocol/errors.js';
import { RemotingCommand } from '../protocol/remoting-command.js';
import type { RequestProcessor } from '../remoting/processor.js';
import { RemotingServer, type ServerTlsOptions, type TlsMode } from '../server.js';
import { makeSelfSignedCertificate } from './self-signed.js';
import { UsageError } from './usage.js';

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

/** The certificate and key of `--cert` / `--key`, or a fresh self-signed pair. */
export function tlsMaterial(tls: NonNullable<EchoServerOptions['tls']>): { cert: string; key: string } {
  return tls.certFile && tls.keyFile
    ? { cert: readFileSync(tls.certFile, 'utf8'), key: readFileSync(tls.keyFile, 'utf8') }
    : makeSelfSignedCertificate();
}

/** Builds and starts the echo server; resolves once it listens. */
export async function startEchoServer(options: EchoServerOptions): Promise<RemotingServer> {
  const server = createEchoServer(options, options.tls ? tlsMaterial(options.tls) : undefined);
  await server.start();
  return server;
}

/** Builds the echo server, not yet started, with `material` for TLS when `options.tls` asks for it. */
export function createEchoServer(
  options: EchoServerOptions,
  material: { cert: string; key: string } | undefined,
): RemotingServer {
  const tls: ServerTlsOptions | undefined =
    options.tls && material ? { mode: options.tls.mode, ...material } : undefined;
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
  return server;
}

/** `--workers N`: an integer ≥ 1. */
export function parseWorkers(text: string): number {
  const workers = Number(text);
  if (!/^\d+$/.test(text) || workers < 1)
    throw new UsageError(`--workers must be an integer ≥ 1, got ${text}`);
  return workers;
}

/** Where the primary hands its TLS material to the workers, so that every worker presents one certificate. */
const TLS_ENV = { cert: 'REMOTING_ECHO_TLS_CERT', key: 'REMOTING_ECHO_TLS_KEY' } as const;

/**
 * `echo-server --workers N`. In the primary: starts N workers on one address,
 * prints it once, reports workers that exit or are replaced, and stops them
 * all on SIGINT or SIGTERM; resolves to the exit code (1 when the cluster gave
 * up on workers that kept dying). In a worker (node:cluster runs this same
 * command again there): serves, and resolves to 0 while it keeps serving.
 */
export async function runEchoServerCluster(
  options: EchoServerOptions,
  workers: number,
  print: (line: string) => void,
  printError: (line: string) => void,
): Promise<number> {
  if (cluster.isWorker) {
    const cert = process.env[TLS_ENV.cert];
    const key = process.env[TLS_ENV.key];
    const material = cert !== undefined && key !== undefined ? { cert, key } : undefined;
    const log = options.log;
    await runClusterWorker(({ host, port, slot }) =>
      createEchoServer(
        {
          ...options,
          host,
          port,
          log: log === undefined ? undefined : (line) => log(`worker ${slot} (pid ${process.pid}): ${line}`),
        },
        material,
      ),
    );
    return 0;
  }
  const material = options.tls ? tlsMaterial(options.tls) : undefined;
  const servers = await startServerCluster({
    workers,
    host: options.host,
    port: options.port,
    shutdownGraceMs: 2000,
    env: material === undefined ? {} : { [TLS_ENV.cert]: material.cert, [TLS_ENV.key]: material.key },
  });
  servers.on('workerExit', (exit) => {
    const how =
      exit.error?.message ?? (exit.signal === null ? `exit code ${exit.code}` : `signal ${exit.signal}`);
    const next =
      exit.reason === 'stopped'
        ? ''
        : exit.restartInMs === null
          ? '; not replaced'
          : `; a replacement starts in ${exit.restartInMs} ms`;
    print(`echo-server: worker ${exit.slot} (pid ${exit.pid}) ${exit.reason}: ${how}${next}`);
  });
  servers.on('workerListening', (worker) =>
    print(`echo-server: worker ${worker.slot} (pid ${worker.pid}) listening`),
  );
  // The handlers go in before the "listening" line: a supervisor may signal the moment it reads it.
  const signalled = new Promise<string>((resolve) => {
    process.once('SIGINT', () => resolve('SIGINT'));
    process.once('SIGTERM', () => resolve('SIGTERM'));
  });
  const { host, port } = servers.address();
  const pids = servers.workers().map((worker) => worker.pid);
  print(
    `echo-server listening on ${host}:${port} (tls: ${options.tls?.mode ?? 'disabled'}, ` +
      `${workers} workers: pids ${pids.join(', ')}; primary pid ${process.pid})`,
  );
  const outcome = await Promise.race([
    signalled.then((signal) => ({ signal })),
    servers.whenStopped().then(
      () => ({}),
      (error: unknown) => ({ error }),
    ),
  ]);
  if ('error' in outcome) {
    printError(`echo-server: ${(outcome.error as Error).message}`);
    return 1;
  }
  if ('signal' in outcome) print(`echo-server: ${outcome.signal} received, stopping ${workers} workers`);
  await servers.shutdown();
  print('echo-server: stopped');
  return 0;
}
