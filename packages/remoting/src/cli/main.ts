#!/usr/bin/env node
import { parseArgs } from 'node:util';
import { languageFromName } from '../protocol/codes.js';
import { RemotingError } from '../protocol/errors.js';
import { runCall, serializeTypeByName, UsageError } from './call.js';
import {
  type EchoServerOptions,
  parseWorkers,
  runEchoServerCluster,
  startEchoServer,
} from './echo-server.js';

const USAGE = `usage:
  remoting echo-server [--port P] [--host 127.0.0.1] [--serialize json|rocketmq] [--language JAVA]
      [--tls] [--tls-mode permissive|enforcing] [--cert FILE --key FILE] [--workers N]
      code 1 = echo (body and extFields back), 2 = sleep extFields.sleepMs then echo, 3 = fail (SYSTEM_ERROR)
      prints one line per connection event (connect, close, idle) and per protocol error
      --cert and --key go together (neither: a generated self-signed certificate)
      --workers N: N processes (node:cluster) share the one address; a worker that dies is replaced
      SIGTERM/SIGINT shut it down gracefully: new requests get GO_AWAY while the rest drain
  remoting call HOST:PORT --code N [--ext k=v]... [--body TEXT] [--oneway|--async] [--timeout MS]
      [--serialize json|rocketmq] [--language JAVA] [--version N] [--json]
      [--tls [--ca FILE] [--insecure]]
      --tls verifies the server's certificate (against --ca FILE, else the system CAs)
      unless --insecure; --json prints only the response as JSON on stdout
      e.g. against a RocketMQ NameServer: remoting call 127.0.0.1:9876 --code 105 --ext topic=TopicTest
  remoting --help`;

/** Parses `remoting` arguments and runs the command; resolves to the exit code. */
async function main(argv: string[]): Promise<number> {
  const [command, ...rest] = argv;
  if (command === '--help' || command === '-h' || command === 'help' || wantsHelp(rest)) {
    console.log(USAGE);
    return 0;
  }
  if (command === 'echo-server') return echoServer(rest);
  if (command === 'call') return call(rest);
  if (command === undefined) throw new UsageError('a command is required');
  throw new UsageError(`unknown command ${command}`);
}

/** `--help` or `-h` anywhere before a `--` terminator. */
function wantsHelp(args: string[]): boolean {
  const end = args.indexOf('--');
  return (end === -1 ? args : args.slice(0, end)).some((arg) => arg === '--help' || arg === '-h');
}

async function echoServer(args: string[]): Promise<number> {
  const { values } = parseArgs({
    args,
    options: {
      port: { type: 'string', default: '0' },
      host: { type: 'string', default: '127.0.0.1' },
      serialize: { type: 'string' },
      tls: { type: 'boolean', default: false },
      'tls-mode': { type: 'string', default: 'permissive' },
      cert: { type: 'string' },
      key: { type: 'string' },
      language: { type: 'string' },
      workers: { type: 'string' },
    },
    strict: true,
  });
  const language = values.language === undefined ? undefined : parseLanguage(values.language);
  const workers = values.workers === undefined ? undefined : parseWorkers(values.workers);
  const port = parsePort(values.port);
  const serializeType = values.serialize === undefined ? undefined : parseSerialize(values.serialize);
  const tlsMode = values['tls-mode'];
  if (tlsMode !== 'permissive' && tlsMode !== 'enforcing')
    throw new UsageError(`--tls-mode must be permissive or enforcing`);
  // One of the pair alone would silently serve a generated certificate instead of the one meant.
  if ((values.cert === undefined) !== (values.key === undefined))
    throw new UsageError(
      '--cert and --key go together: give both files, or neither for a generated certificate',
    );
  if (!values.tls && (values.cert !== undefined || values.key !== undefined))
    throw new UsageError('--cert and --key apply to --tls only');
  const options: EchoServerOptions = {
    host: values.host,
    port,
    serializeType,
    language,
    tls: values.tls ? { mode: tlsMode, certFile: values.cert, keyFile: values.key } : undefined,
    log: (line) => console.log(line),
  };
  if (workers !== undefined) {
    return runEchoServerCluster(
      options,
      workers,
      (line) => console.log(line),
      (line) => console.error(line),
    );
  }
  const server = await startEchoServer(options);
  const { host, port: bound } = server.address();
  // The handlers go in before the "listening" line: a supervisor may signal the moment it reads it.
  const stopped = new Promise<void>((resolve) => {
    const stop = (signal: string) => {
      console.log(`echo-server: ${signal} received, shutting down`);
      resolve();
    };
    process.once('SIGINT', stop);
    process.once('SIGTERM', stop);
  });
  console.log(
    `echo-server listening on ${host}:${bound} (tls: ${values.tls ? tlsMode : 'disabled'}, pid ${process.pid})`,
  );
  await stopped;
  // A rolling restart loses nothing: new requests are answered GO_AWAY (or SYSTEM_BUSY) while the rest drain.
  await server.shutdown({ graceful: true, graceMs: 2000 });
  console.log('echo-server: stopped');
  return 0;
}

async function call(args: string[]): Promise<number> {
  const { values, positionals } = parseArgs({
    args,
    allowPositionals: true,
    options: {
      code: { type: 'string' },
      ext: { type: 'string', multiple: true, default: [] },
      body: { type: 'string' },
      oneway: { type: 'boolean', default: false },
      async: { type: 'boolean', default: false },
      timeout: { type: 'string', default: '3000' },
      serialize: { type: 'string', default: 'json' },
      language: { type: 'string', default: 'JAVA' },
      version: { type: 'string', default: '0' },
      tls: { type: 'boolean', default: false },
      ca: { type: 'string' },
      insecure: { type: 'boolean', default: false },
      json: { type: 'boolean', default: false },
    },
    strict: true,
  });
  if (!values.tls && (values.ca !== undefined || values.insecure))
    throw new UsageError('--ca and --insecure apply to --tls calls only');
  const address = positionals[0];
  if (address === undefined || positionals.length > 1)
    throw new UsageError('call needs exactly one HOST:PORT');
  if (values.code === undefined || !/^-?\d+$/.test(values.code))
    throw new UsageError('--code N is required (an integer)');
  if (values.oneway && values.async) throw new UsageError('--oneway and --async exclude each other');
  const ext = values.ext.map((pair): [string, string] => {
    const eq = pair.indexOf('=');
    if (eq <= 0) throw new UsageError(`--ext takes key=value, got ${JSON.stringify(pair)}`);
    return [pair.slice(0, eq), pair.slice(eq + 1)];
  });
  const timeoutMs = Number(values.timeout);
  if (!(timeoutMs > 0)) throw new UsageError('--timeout must be a positive number of milliseconds');
  return runCall(
    {
      address,
      code: Number(values.code),
      ext,
      body: values.body,
      mode: values.oneway ? 'oneway' : values.async ? 'async' : 'sync',
      timeoutMs,
      serializeType: parseSerialize(values.serialize),
      language: parseLanguage(values.language),
      version: Number(values.version),
      tls: values.tls ? { caFile: values.ca, insecure: values.insecure } : null,
      json: values.json,
    },
    (line) => console.log(line),
    (line) => console.error(line),
  );
}

function parsePort(text: string): number {
  const port = Number(text);
  if (!Number.isInteger(port) || port < 0 || port > 65535)
    throw new UsageError(`--port must be 0..65535, got ${text}`);
  return port;
}

function parseLanguage(text: string): number {
  const language = languageFromName(text.toUpperCase());
  if (language === undefined) throw new UsageError(`unknown language ${text} (e.g. JAVA, NODE_JS, GO)`);
  return language;
}

function parseSerialize(text: string) {
  const type = serializeTypeByName[text.toLowerCase()];
  if (type === undefined) throw new UsageError(`--serialize must be json or rocketmq, got ${text}`);
  return type;
}

main(process.argv.slice(2)).then(
  (code) => {
    process.exitCode = code;
  },
  (error: unknown) => {
    if (
      error instanceof UsageError ||
      String((error as { code?: unknown }).code).startsWith('ERR_PARSE_ARGS')
    ) {
      console.error(`remoting: ${(error as Error).message}\n${USAGE}`);
      process.exitCode = 2;
    } else if (error instanceof RemotingError) {
      console.error(`remoting: ${error.code}: ${error.message}`);
      process.exitCode = 1;
    } else {
      console.error(`remoting: ${error instanceof Error ? error.message : String(error)}`);
      process.exitCode = 1;
    }
  },
);
