import net from 'node:net';
import { afterEach } from 'vitest';
import {
  FrameDecoder,
  RemotingClient,
  type RemotingClientOptions,
  RemotingCommand,
  RemotingServer,
  type RemotingServerOptions,
  ResponseCode,
} from '../../src/index.js';

/** Request codes the test echo server answers. */
export const EchoCode = {
  /** Body and extFields back, SUCCESS. */
  ECHO: 1,
  /** Waits extFields.sleepMs, then echoes. */
  SLEEP: 2,
} as const;

const cleanups: Array<() => Promise<void>> = [];

// Every server and client a test starts is stopped after it, pass or fail.
afterEach(async () => {
  const pending = cleanups.splice(0).reverse();
  for (const cleanup of pending) await cleanup().catch(() => {});
});

export function echoResponse(request: RemotingCommand): RemotingCommand {
  const response = RemotingCommand.createResponse(ResponseCode.SUCCESS);
  response.body = request.body;
  response.extFields = request.extFields === null ? null : new Map(request.extFields);
  return response;
}

/** A started server on 127.0.0.1, OS-assigned port, with ECHO and SLEEP registered; stopped after the test. */
export async function startEchoServer(
  options: RemotingServerOptions = {},
): Promise<{ server: RemotingServer; address: string }> {
  const server = new RemotingServer({ host: '127.0.0.1', port: 0, ...options });
  server.registerProcessor(EchoCode.ECHO, { processRequest: (_ctx, request) => echoResponse(request) });
  server.registerProcessor(EchoCode.SLEEP, {
    processRequest: async (_ctx, request) => {
      await new Promise((resolve) => setTimeout(resolve, Number(request.getExtField('sleepMs') ?? 0)));
      return echoResponse(request);
    },
  });
  await server.start();
  cleanups.push(() => server.shutdown({ graceMs: 0 }));
  return { server, address: `127.0.0.1:${server.address().port}` };
}

/** A server with nothing registered, started; stopped after the test. */
export async function startServer(
  options: RemotingServerOptions = {},
): Promise<{ server: RemotingServer; address: string }> {
  const server = new RemotingServer({ host: '127.0.0.1', port: 0, ...options });
  await server.start();
  cleanups.push(() => server.shutdown({ graceMs: 0 }));
  return { server, address: `127.0.0.1:${server.address().port}` };
}

/** A client that is shut down after the test. */
export function newClient(options: RemotingClientOptions = {}): RemotingClient {
  const client = new RemotingClient(options);
  cleanups.push(() => client.shutdown());
  return client;
}

/** Registers any other cleanup to run after the test. */
export function onCleanup(cleanup: () => Promise<void> | void): void {
  cleanups.push(async () => cleanup());
}

/** A one-shot latch a test opens: a processor awaits `opened` to hold its answer until the test says so. */
export interface Gate {
  readonly opened: Promise<void>;
  open(): void;
}

export function gate(): Gate {
  let open = () => {};
  const opened = new Promise<void>((resolve) => {
    open = resolve;
  });
  return { opened, open };
}

export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/**
 * The shortest an `eventually` waits before giving up. A wait for a condition
 * is no claim about speed: its bound only turns a hang into a failure that
 * names what never happened, so on a loaded 2-core machine it must be far
 * longer than the condition ever takes, whatever bound the caller gave.
 */
const EVENTUALLY_MIN_MS = 30_000;

/**
 * Polls `check` until it is true; fails naming `what` after `timeoutMs`
 * (at least {@link EVENTUALLY_MIN_MS}).
 */
export async function eventually(check: () => boolean, timeoutMs = 5000, what = 'condition'): Promise<void> {
  const guardMs = Math.max(timeoutMs, EVENTUALLY_MIN_MS);
  const deadline = performance.now() + guardMs;
  while (!check()) {
    if (performance.now() > deadline) throw new Error(`timed out after ${guardMs} ms waiting for ${what}`);
    await sleep(10);
  }
}

/** A plain net socket to `address` that records every byte and frame it receives; destroyed after the test. */
export interface RawPeer {
  socket: net.Socket;
  /** Bytes received so far. */
  received(): number;
  /** Responses (or requests) decoded from what was received. */
  commands: RemotingCommand[];
  send(command: RemotingCommand): void;
  closed: Promise<void>;
}

export async function connectRaw(address: string): Promise<RawPeer> {
  const [host, port] = address.split(':') as [string, string];
  const socket = net.connect({ host, port: Number(port) });
  await new Promise<void>((resolve, reject) => {
    socket.once('connect', () => resolve());
    socket.once('error', reject);
  });
  socket.on('error', () => {});
  onCleanup(() => {
    socket.destroy();
  });
  const decoder = new FrameDecoder();
  const commands: RemotingCommand[] = [];
  let bytes = 0;
  socket.on('data', (chunk: Buffer) => {
    bytes += chunk.length;
    decoder.pushTo(chunk, commands);
  });
  const closed = new Promise<void>((resolve) => socket.once('close', () => resolve()));
  return {
    socket,
    received: () => bytes,
    commands,
    send: (command) => socket.write(command.encode()),
    closed,
  };
}
