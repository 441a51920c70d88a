/**
 * BlockingRemotingClient: calls that park the calling thread until they end,
 * with the connections in a worker thread. Servers that must answer run in a
 * child process (`remoting echo-server`, or killable-server.ts): a server on
 * the test's own event loop cannot answer a call that parks that loop, which
 * is one of the things tested here.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { Worker } from 'node:worker_threads';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { SendMessageRequestHeader } from '../examples/rocketmq-headers.js';
import { type EchoServerProcess, spawnEchoServer } from '../src/cli/spawn-echo-server.js';
import {
  BlockingRemotingClient,
  type BlockingRemotingClientOptions,
  LanguageCode,
  NameServerUnavailableError,
  RemotingCommand,
  RemotingConnectError,
  RemotingError,
  RemotingReentrantCallError,
  RemotingSendRequestError,
  RemotingShutdownError,
  RemotingTimeoutError,
  RemotingWorkerError,
  ResponseCode,
} from '../src/index.js';
import { spawnChildServer } from './helpers/child-server.js';
import { eventually, onCleanup, startServer } from './helpers/servers.js';

const TEST_DIR = path.dirname(fileURLToPath(import.meta.url));
const PACKAGE_DIR = path.join(TEST_DIR, '..');
const PROBE = path.join(TEST_DIR, 'fixtures', 'blocking-worker-probe.mjs');

/** Request codes of `remoting echo-server`. */
const ECHO = 1;
const SLEEP = 2;

let echo: EchoServerProcess;

beforeAll(async () => {
  echo = await spawnEchoServer();
});

afterAll(async () => {
  await echo?.stop('SIGKILL');
});

/** A BlockingRemotingClient closed after the test. */
function blockingClient(options: BlockingRemotingClientOptions = {}): BlockingRemotingClient {
  const client = new BlockingRemotingClient(options);
  onCleanup(() => client.close());
  return client;
}

function sleepRequest(sleepMs: number): RemotingCommand {
  return RemotingCommand.createRequest(SLEEP).addExtField('sleepMs', String(sleepMs));
}

/** A port nothing listens on: bound once by the OS, then released. */
async function closedPort(): Promise<number> {
  const probe = net.createServer();
  await new Promise<void>((resolve) => probe.listen(0, '127.0.0.1', resolve));
  const { port } = probe.address() as net.AddressInfo;
  await new Promise<void>((resolve) => probe.close(() => resolve()));
  return port;
}

function thrownBy(call: () => unknown): unknown {
  try {
    call();
  } catch (error) {
    return error;
  }
  throw new Error('expected the call to throw');
}

describe('a blocking call', () => {
  test('returns the response itself: body, opaque, and a RocketMQ custom header round-trip in extFields', () => {
    const client = blockingClient({ language: LanguageCode.NODE_JS });
    const header = Object.assign(new SendMessageRequestHeader(), {
      producerGroup: 'PG_A',
      topic: 'TopicTest',
      defaultTopic: 'TBW102',
      defaultTopicQueueNums: 4,
      queueId: 1,
      sysFlag: 0,
      bornTimestamp: 1718000000123n,
      flag: 0,
    });
    const request = RemotingCommand.createRequest(ECHO, header).setBody('ping');
    const response = client.invokeSync(echo.address, request, 5000);
    expect(response).toBeInstanceOf(RemotingCommand);
    expect('then' in response).toBe(false);
    expect(response.isResponse()).toBe(true);
    expect(response.code).toBe(ResponseCode.SUCCESS);
    expect(response.opaque).toBe(request.opaque);
    expect(response.body?.toString()).toBe('ping');
    expect({ ...response.decodeCustomHeader(SendMessageRequestHeader) }).toEqual({ ...header });
    // As RemotingClient does: the request that kept the process default got the client's language.
    expect(request.language).toBe(LanguageCode.NODE_JS);
  });

  test('parks the calling thread: its timers and immediates do not run until the call returns', async () => {
    const client = blockingClient();
    client.invokeSync(echo.address, RemotingCommand.createRequest(ECHO), 5000); // the connection is open
    let intervals = 0;
    let immediates = 0;
    const interval = setInterval(() => intervals++, 1);
    let immediateRunning = true;
    const spin = () => {
      immediates++;
      if (immediateRunning) setImmediate(spin);
    };
    setImmediate(spin);
    await eventually(() => intervals > 2 && immediates > 2, 10_000, 'the timers to tick');
    const before = { intervals, immediates };
    const started = performance.now();
    const response = client.invokeSync(echo.address, sleepRequest(300), 5000);
    const elapsed = performance.now() - started;
    const after = { intervals, immediates };
    expect(response.code).toBe(ResponseCode.SUCCESS);
    expect(elapsed).toBeGreaterThanOrEqual(300);
    expect(after).toEqual(before);
    // They were alive all along: once the thread is free again, they run.
    await eventually(() => intervals > after.intervals && immediates > after.immediates, 10_000, 'ticks');
    clearInterval(interval);
    immediateRunning = false;
  });

  test("to a server on the caller's own event loop times out instead of hanging: that server cannot run", async () => {
    const { server, address } = await startServer();
    let served = 0;
    server.registerProcessor(ECHO, {
      processRequest: () => {
        served++;
        return RemotingCommand.createResponse(ResponseCode.SUCCESS);
      },
    });
    const client = blockingClient();
    const started = performance.now();
    const error = thrownBy(() => client.invokeSync(address, RemotingCommand.createRequest(ECHO), 300));
    const elapsed = performance.now() - started;
    expect(error).toBeInstanceOf(RemotingTimeoutError);
    expect((error as RemotingTimeoutError).written).toBe(true);
    expect(elapsed).toBeGreaterThanOrEqual(300);
    // Not a single request was served while the loop was parked, though it was written.
    expect(served).toBe(0);
    await eventually(() => served === 1, 10_000, 'the server to serve the request once the loop runs again');
  });

  test('that times out throws RemotingTimeoutError after the timeout, with code, flags, facts and message intact', () => {
    const client = blockingClient();
    const request = sleepRequest(5000);
    const started = performance.now();
    const error = thrownBy(() => client.invokeSync(echo.address, request, 250));
    const elapsed = performance.now() - started;
    expect(error).toBeInstanceOf(RemotingTimeoutError);
    expect(error).toBeInstanceOf(RemotingError);
    expect(error).not.toBeInstanceOf(RemotingSendRequestError);
    const timeout = error as RemotingTimeoutError;
    expect(timeout.name).toBe('RemotingTimeoutError');
    expect(timeout.code).toBe('REMOTING_TIMEOUT');
    expect(timeout.retriable).toBe(true);
    expect(timeout.written).toBe(true);
    expect(timeout.remoteAddress).toBe(echo.address);
    expect(timeout.requestCode).toBe(SLEEP);
    expect(timeout.opaque).toBe(request.opaque);
    expect(timeout.timeoutMs).toBe(250);
    expect(timeout.elapsedMs).toBeGreaterThanOrEqual(250);
    expect(timeout.message).toBe(
      `call to ${echo.address} (code ${SLEEP}, opaque ${request.opaque}) got no response after ` +
        `${timeout.elapsedMs} ms of a 250 ms timeout; request was written to the socket`,
    );
    expect(elapsed).toBeGreaterThanOrEqual(250);
    // The stack points at the caller, not at the worker thread.
    expect(timeout.stack?.split('\n')[1]).toContain('blocking-client.test.ts');
  });

  test('to a server SIGKILLed mid-call throws RemotingSendRequestError, written: true', async () => {
    const killer = new Worker(new URL('./fixtures/kill-on-request.mjs', import.meta.url), {
      workerData: { serverScript: path.join(TEST_DIR, 'fixtures', 'killable-server.ts'), cwd: PACKAGE_DIR },
    });
    const messages: { type: string; port?: number; signal?: string | null }[] = [];
    killer.on('message', (message) => messages.push(message));
    onCleanup(async () => {
      killer.postMessage('stop');
      await eventually(() => messages.some((m) => m.type === 'exit'), 10_000, 'the killable server to exit');
      await killer.terminate();
    });
    await eventually(() => messages.some((m) => m.type === 'port'), 20_000, 'the killable server');
    const port = messages.find((m) => m.type === 'port')?.port;
    const client = blockingClient();
    // Code 2 is never answered; the server is killed when it reports receiving it.
    const error = thrownBy(() =>
      client.invokeSync(`127.0.0.1:${port}`, RemotingCommand.createRequest(2), 30_000),
    );
    expect(error).toBeInstanceOf(RemotingSendRequestError);
    expect(error).not.toBeInstanceOf(RemotingTimeoutError);
    const sendError = error as RemotingSendRequestError;
    expect(sendError.code).toBe('REMOTING_SEND_REQUEST');
    expect(sendError.written).toBe(true);
    expect(sendError.retriable).toBe(true);
    expect(sendError.elapsedMs).toBeLessThan(sendError.timeoutMs);
    await eventually(() => messages.some((m) => m.type === 'exit'), 10_000, 'the exit of the killed server');
    expect(messages.find((m) => m.type === 'exit')?.signal).toBe('SIGKILL');
  });

  test('runs thousands of calls in a row, each answered with its own response', () => {
    const client = blockingClient();
    for (let i = 0; i < 3000; i++) {
      const request = RemotingCommand.createRequest(ECHO).setBody(`call ${i}`);
      const response = client.invokeSync(echo.address, request, 10_000);
      if (response.opaque !== request.opaque || response.body?.toString() !== `call ${i}`) {
        throw new Error(`call ${i} got ${response.opaque} "${response.body?.toString()}"`);
      }
    }
  });

  test('oneway returns once the request is handed to the connection, and the server gets it', async () => {
    const server = await spawnChildServer();
    const client = blockingClient();
    const result = client.invokeOneway(server.address, RemotingCommand.createRequest(2), 5000);
    expect(result).toBeUndefined();
    await eventually(() => server.received() === 1, 10_000, 'the oneway request at the server');
  });

  test('that cannot connect throws RemotingConnectError, written: false, the socket error as its cause', async () => {
    const port = await closedPort();
    const client = blockingClient();
    const error = thrownBy(() =>
      client.invokeSync(`127.0.0.1:${port}`, RemotingCommand.createRequest(ECHO), 3000),
    );
    expect(error).toBeInstanceOf(RemotingConnectError);
    const connect = error as RemotingConnectError;
    expect(connect.code).toBe('REMOTING_CONNECT');
    expect(connect.written).toBe(false);
    expect(connect.retriable).toBe(true);
    expect(connect.remoteAddress).toBe(`127.0.0.1:${port}`);
    expect((connect.cause as NodeJS.ErrnoException).code).toBe('ECONNREFUSED');
    expect(connect.message).toContain('ECONNREFUSED');
  });

  test('with no address goes to the name server list; none reachable gives NameServerUnavailableError with each attempt', async () => {
    const client = blockingClient({ nameServerAddressList: [echo.address] });
    expect(
      client.invokeSync(null, RemotingCommand.createRequest(ECHO).setBody('ns'), 5000).body?.toString(),
    ).toBe('ns');
    const dead = `127.0.0.1:${await closedPort()}`;
    const stranded = blockingClient({ nameServerAddressList: [dead] });
    const error = thrownBy(() => stranded.invokeSync(null, RemotingCommand.createRequest(ECHO), 3000));
    expect(error).toBeInstanceOf(NameServerUnavailableError);
    const unavailable = error as NameServerUnavailableError;
    expect(unavailable.attempts).toHaveLength(1);
    expect(unavailable.attempts[0]?.address).toBe(dead);
    expect(unavailable.attempts[0]?.outcome).toBe('connect-failed');
    expect(unavailable.attempts[0]?.error).toBeInstanceOf(RemotingConnectError);
    expect(() => new BlockingRemotingClient({ nameServerAddressList: [] })).toThrow(TypeError);
    expect(() => new BlockingRemotingClient({ nameServerAddressList: ['no-port'] })).toThrow(TypeError);
  });

  test('refuses a timeout that would not end the wait', () => {
    const client = blockingClient();
    for (const timeoutMs of [Number.POSITIVE_INFINITY, Number.NaN, -1]) {
      expect(() => client.invokeSync(echo.address, RemotingCommand.createRequest(ECHO), timeoutMs)).toThrow(
        RangeError,
      );
    }
  });
});

describe('close', () => {
  test('after close() every call throws RemotingShutdownError, written: false; closing again does nothing', () => {
    const client = new BlockingRemotingClient();
    client.invokeSync(echo.address, RemotingCommand.createRequest(ECHO), 5000);
    client.close();
    client.close();
    for (const call of [
      () => client.invokeSync(echo.address, RemotingCommand.createRequest(ECHO), 1000),
      () => client.invokeOneway(echo.address, RemotingCommand.createRequest(ECHO), 1000),
    ]) {
      const error = thrownBy(call);
      expect(error).toBeInstanceOf(RemotingShutdownError);
      expect((error as RemotingShutdownError).code).toBe('REMOTING_SHUTDOWN');
      expect((error as RemotingShutdownError).written).toBe(false);
    }
  });

  test('a client closed before its worker started makes no call and stops the worker', () => {
    const client = new BlockingRemotingClient();
    client.close();
    expect(
      thrownBy(() => client.invokeSync(echo.address, RemotingCommand.createRequest(ECHO), 1000)),
    ).toBeInstanceOf(RemotingShutdownError);
  });

  for (const mode of ['close', 'no-close'] as const) {
    test(`a script that makes a call ends by itself (${mode === 'close' ? 'after close()' : 'without close()'})`, async () => {
      const child = spawn(
        process.execPath,
        ['--import', 'tsx', path.join(TEST_DIR, 'fixtures', 'blocking-script.ts'), echo.address, mode],
        { cwd: PACKAGE_DIR, stdio: ['ignore', 'pipe', 'inherit'] },
      );
      onCleanup(() => {
        if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
      });
      const { code, stdout } = await exitOf(child);
      expect(code).toBe(0);
      expect(JSON.parse(stdout)).toEqual({ body: 'from a script' });
    }, 60_000);
  }
});

describe('misuse and a failing worker', () => {
  test('a call made while this thread is parked in one is refused with RemotingReentrantCallError', () => {
    const client = blockingClient();
    let nested: unknown;
    /** A request whose encoding (run inside the outer call) makes a call of its own. */
    class ReentrantRequest extends RemotingCommand {
      override encodeParts(...args: Parameters<RemotingCommand['encodeParts']>) {
        nested ??= thrownBy(() => client.invokeSync(echo.address, RemotingCommand.createRequest(ECHO), 1000));
        return super.encodeParts(...args);
      }
    }
    const outer = new ReentrantRequest(ECHO, RemotingCommand.createRequest(ECHO).opaque);
    expect(client.invokeSync(echo.address, outer, 5000).opaque).toBe(outer.opaque);
    expect(nested).toBeInstanceOf(RemotingReentrantCallError);
    expect((nested as RemotingReentrantCallError).code).toBe('REMOTING_REENTRANT_CALL');
    expect((nested as RemotingReentrantCallError).site).toBe('nested-call');
    expect((nested as RemotingReentrantCallError).written).toBe(false);
    // The guard is released: the next call goes through.
    expect(client.invokeSync(echo.address, RemotingCommand.createRequest(ECHO), 5000).code).toBe(0);
  });

  test("inside the blocking client's own worker thread, a BlockingRemotingClient is refused", () => {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'blocking-probe-'));
    onCleanup(() => rmSync(dir, { recursive: true, force: true }));
    const report = path.join(dir, 'report.json');
    process.env.BLOCKING_PROBE_REPORT = report;
    let client: BlockingRemotingClient;
    try {
      client = blockingClient({ workerExecArgv: ['--import', PROBE] });
    } finally {
      delete process.env.BLOCKING_PROBE_REPORT;
    }
    // The probe reacts to code 9003 in the worker; the echo server answers it as an unknown code.
    client.invokeSync(echo.address, RemotingCommand.createRequest(9003), 5000);
    return eventually(
      () => {
        try {
          return readFileSync(report, 'utf8').length > 0;
        } catch {
          return false;
        }
      },
      20_000,
      'the probe report',
    ).then(() => {
      expect(JSON.parse(readFileSync(report, 'utf8'))).toEqual({
        name: 'RemotingReentrantCallError',
        code: 'REMOTING_REENTRANT_CALL',
        site: 'blocking-worker',
        written: false,
      });
    });
  });

  test('a worker that exits mid-call fails that call with RemotingWorkerError "exited", written: true, and every later one', () => {
    const client = blockingClient({ workerExecArgv: ['--import', PROBE] });
    const request = RemotingCommand.createRequest(9001);
    const error = thrownBy(() => client.invokeSync(echo.address, request, 30_000));
    expect(error).toBeInstanceOf(RemotingWorkerError);
    const worker = error as RemotingWorkerError;
    expect(worker.code).toBe('REMOTING_WORKER');
    expect(worker.failure).toBe('exited');
    // The worker had taken the request: it may have been written.
    expect(worker.written).toBe(true);
    expect(worker.retriable).toBe(false);
    expect(worker.requestCode).toBe(9001);
    expect(worker.opaque).toBe(request.opaque);
    expect(worker.message).toContain('may have been written');
    const later = thrownBy(() => client.invokeSync(echo.address, RemotingCommand.createRequest(ECHO), 1000));
    expect(later).toBeInstanceOf(RemotingWorkerError);
    expect((later as RemotingWorkerError).failure).toBe('exited');
    expect((later as RemotingWorkerError).written).toBe(false);
  });

  test('a worker that hangs: the wait ends at the timeout plus workerGraceMs with RemotingWorkerError "unresponsive"', () => {
    const client = blockingClient({ workerExecArgv: ['--import', PROBE], workerGraceMs: 300 });
    client.invokeSync(echo.address, RemotingCommand.createRequest(ECHO), 5000); // started and connected
    const started = performance.now();
    const error = thrownBy(() => client.invokeSync(echo.address, RemotingCommand.createRequest(9002), 200));
    const elapsed = performance.now() - started;
    expect(error).toBeInstanceOf(RemotingWorkerError);
    expect((error as RemotingWorkerError).failure).toBe('unresponsive');
    expect((error as RemotingWorkerError).written).toBe(true);
    expect(elapsed).toBeGreaterThanOrEqual(200 + 300);
  });

  test('a worker that does not start in time fails the call with "start-failed", written: false', () => {
    const client = blockingClient({ workerStartTimeoutMs: 1 });
    const error = thrownBy(() => client.invokeSync(echo.address, RemotingCommand.createRequest(ECHO), 5000));
    expect(error).toBeInstanceOf(RemotingWorkerError);
    expect((error as RemotingWorkerError).failure).toBe('start-failed');
    expect((error as RemotingWorkerError).written).toBe(false);
    expect(((error as RemotingWorkerError).cause as Error).message).toContain('workerStartTimeoutMs (1 ms)');
  });

  test('options that cannot cross into a thread are refused at construction with a TypeError', () => {
    const error = thrownBy(
      () => new BlockingRemotingClient({ tls: { checkServerIdentity: () => undefined } }),
    ) as TypeError;
    expect(error).toBeInstanceOf(TypeError);
    expect(error.message).toContain('cloneable');
    expect((error.cause as Error).name).toBe('DataCloneError');
  });

  test('a workerUrl that does not exist is refused at construction, naming the file', () => {
    expect(
      () => new BlockingRemotingClient({ workerUrl: path.join(os.tmpdir(), 'no-such-worker.js') }),
    ).toThrow(/no-such-worker\.js.*does not exist/);
  });
});

function exitOf(child: ChildProcess): Promise<{ code: number | null; stdout: string }> {
  let stdout = '';
  child.stdout?.setEncoding('utf8');
  child.stdout?.on('data', (text: string) => {
    stdout += text;
  });
  return new Promise((resolve) => child.once('close', (code) => resolve({ code, stdout })));
}
