#!/usr/bin/env node
import { parseArgs } from 'node:util';
import { RemotingError } from '../protocol/errors.js';
import { runCall, serializeTypeByName, UsageError } from './call.js';
import { startEchoServer } from './echo-server.js';

const USAGE = `usage:
  remoting echo-server [--port P] [--host 127.0.0.1] [--serialize json|rocketmq] [--tls] [--tls-mode permissive|enforcing] [--cert FILE --key FILE]
      code 1 = echo (body and extFields back), 2 = sleep extFields.sleepMs then echo, 3 = fail (SYSTEM_ERROR)
  remoting call HOST:PORT --code N [--ext k=v]... [--body TEXT] [--oneway|--async] [--timeout MS]
      [--serialize json|rocketmq] [--language JAVA] [--version N] [--tls] [--json]
      e.g. against a RocketMQ NameServer: remoting call 127.0.0.1:9876 --code 105 --ext topic=TopicTest`;

async function main(argv: string[]): Promise<number> {
  const [command, ...rest] = argv;
  if (command === 'echo-server') return echoServer(rest);
  if (command === 'call') return call(rest);
  if (command === undefined || command === '--help' || command === 'help') {
    console.log(USAGE);
    return command === undefined ? 2 : 0;
  }
  throw new UsageError(`unknown command ${command}`);
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
    },
    strict: true,
  });
  const port = parsePort(values.port);
  const serializeType = values.serialize === undefined ? undefined : parseSerialize(values.serialize);
  const tlsMode = values['tls-mode'];
  if (tlsMode !== 'permissive' && tlsMode !== 'enforcing')
    throw new UsageError(`--tls-mode must be permissive or enforcing`);
  const server = await startEchoServer({
    host: values.host,
    port,
    serializeType,
    tls: values.tls ? { mode: tlsMode, certFile: values.cert, keyFile: values.key } : undefined,
  });
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
  await server.shutdown({ graceMs: 2000 });
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
      json: { type: 'boolean', default: false },
    },
    strict: true,
  });
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
      language: values.language,
      version: Number(values.version),
      tls: values.tls,
      json: values.json,
    },
    (line) => console.log(line),
  );
}

function parsePort(text: string): number {
  const port = Number(text);
  if (!Number.isInteger(port) || port < 0 || port > 65535)
    throw new UsageError(`--port must be 0..65535, got ${text}`);
  return port;
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
      (error as { code?: string }).code === 'ERR_PARSE_ARGS_UNKNOWN_OPTION'
    ) {
      console.error(`remoting: ${(error as Error).message}\n${USAGE}`);
      process.exitCode = 2;
    } else if (error instanceof RemotingError) {
      console.error(`remoting: ${error.code}: ${error.message}`);
      process.exitCode = 1;
    } else {
      console.error(error);
      process.exitCode = 1;
    }
  },
);
