#!/usr/bin/env node
import { parseArgs } from 'node:util';
import { languageFromName } from '../protocol/codes.js';
import { RemotingError } from '../protocol/errors.js';
import { parseAddress } from '../transport/connect.js';
import { runCall, serializeTypeByName } from './call.js';
import {
  type EchoServerOptions,
  parseWorkers,
  runEchoServerCluster,
  startEchoServer,
} from './echo-server.js';
import { reportCliError, UsageError, wantsHelp } from './usage.js';

const ECHO_SERVER_USAGE = `usage: remoting echo-server [--port P] [--host 127.0.0.1] [--serialize json|rocketmq] [--language JAVA]
                            [--tls] [--tls-mode permissive|enforcing] [--cert FILE --key FILE] [--workers N]
  A test server: code 1 = echo (body and extFields back), 2 = sleep extFields.sleepMs then echo,
  3 = fail (SYSTEM_ERROR). Prints "listening on HOST:PORT", then one line per connection event
  (connect, close, idle) and per protocol error. SIGINT / SIGTERM shut it down gracefully: new
  requests get GO_AWAY (version >= 476) or SYSTEM_BUSY while those in flight drain.
  --port P             0 (the default) lets the OS choose
  --serialize S        answer in this header serialization (default: as each request)
  --language NAME      the LanguageCode of the answers (default JAVA)
  --tls                serve TLS (a self-signed certificate unless --cert and --key)
  --tls-mode M         permissive (TLS and plain, the default) or enforcing (TLS only)
  --cert F --key F     the certificate and its key, PEM; they go together
  --workers N          N processes (node:cluster) share the one address; a worker that dies is replaced`;

const CALL_USAGE = `usage: remoting call HOST:PORT --code N [--ext k=v]... [--body TEXT] [--oneway|--async] [--timeout MS]
                     [--serialize json|rocketmq] [--language JAVA] [--version N] [--json]
                     [--tls [--ca FILE] [--insecure]]
  One request to any RocketMQ remoting endpoint; prints the response (exit 0), or the
  error's code and message (exit 1).
  --ext k=v            an extFields entry (repeatable)
  --timeout MS         call and connect timeout (default 3000)
  --json               print only the response, as one JSON object, on stdout
  --tls                verify the server's certificate (against --ca FILE, else the system CAs)
                       unless --insecure
  e.g. against a RocketMQ NameServer: remoting call 127.0.0.1:9876 --code 105 --ext topic=TopicTest`;

const USAGE = `usage:
  remoting echo-server [--port P] [--host 127.0.0.1] [--serialize json|rocketmq] [--language JAVA]
      [--tls] [--tls-mode permissive|enforcing] [--cert FILE --key FILE] [--workers N]
  remoting call HOST:PORT --code N [--ext k=v]... [--body TEXT] [--oneway|--async] [--timeout MS]
      [--serialize json|rocketmq] [--language JAVA] [--version N] [--json]
      [--tls [--ca FILE] [--insecure]]
  remoting COMMAND --help     that command's options in full
  remoting --help`;

interface Command {
  usage: string;
  run: (args: string[]) => Promise<number>;
}

const COMMANDS: Record<string, Command> = {
  'echo-server': { usage: ECHO_SERVER_USAGE, run: (args) => echoServer(args) },
  call: { usage: CALL_USAGE, run: (args) => call(args) },
};

/** The command named first on the command line, if it is one. */
function commandOf(argv: readonly string[]): Command | undefined {
  const name = argv[0];
  return name !== undefined && Object.hasOwn(COMMANDS, name) ? COMMANDS[name] : undefined;
}

/** Parses `remoting` arguments and runs the command; resolves to the exit code. */
async function main(argv: string[]): Promise<number> {
  const [name, ...rest] = argv;
  if (name === 'help') {
    // `remoting help call`: that command's usage.
    console.log(commandOf(rest)?.usage ?? USAGE);
    return 0;
  }
  const command = commandOf(argv);
  if (command !== undefined) {
    if (wantsHelp(rest)) {
      console.log(command.usage);
      return 0;
    }
    return command.run(rest);
  }
  if (name === '--help' || name === '-h' || wantsHelp(argv)) {
    console.log(USAGE);
    return 0;
  }
  if (name === undefined) throw new UsageError('a command is required');
  throw new UsageError(`unknown command ${name}`);
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
  try {
    parseAddress(address);
  } catch (error) {
    throw new UsageError((error as Error).message);
  }
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
  if (!/^-?\d+$/.test(values.version))
    throw new UsageError(`--version must be an integer, got ${values.version}`);
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

const argv = process.argv.slice(2);
main(argv).then(
  (code) => {
    process.exitCode = code;
  },
  (error: unknown) => {
    const command = commandOf(argv);
    process.exitCode = reportCliError(
      command === undefined ? 'remoting' : `remoting ${argv[0]}`,
      command?.usage ?? USAGE,
      error,
      (e) =>
        e instanceof RemotingError ? `${e.code}: ${e.message}` : e instanceof Error ? e.message : String(e),
    );
  },
);
