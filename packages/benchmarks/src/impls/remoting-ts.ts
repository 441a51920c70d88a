/**
 * remoting-ts: a RemotingServer with an echo processor (code 1: body back,
 * SUCCESS) and a oneway counter (code 2), driven by RemotingClient's own call
 * styles: invokeSync for sync, invokeAsync with a callback for in-flight
 * cases, invokeOneway's callback form for oneway (a loop that sends until
 * the client says to back off, then awaits waitWritable: the way a user
 * sends a stream of oneway messages). Everything runs with the framework's
 * defaults (executor concurrency, permits, watermarks): the figures are what
 * a user gets without tuning.
 */
import {
  type RemotingCommand as Command,
  RemotingClient,
  RemotingCommand,
  RemotingServer,
  type RequestProcessor,
  ResponseCode,
  runClusterWorker,
  SerializeType,
  startServerCluster,
} from '@remoting-ts/remoting';
import type { Serialize } from '../types.js';
import {
  CALL_TIMEOUT_MS,
  type ClusteredEchoServer,
  type ConnectOptions,
  ECHO_CODE,
  type EchoConnection,
  type EchoServer,
  type Impl,
  ONEWAY_COUNT_CODE,
} from './types.js';

const echoProcessor: RequestProcessor = {
  processRequest(_ctx, request) {
    return RemotingCommand.createResponse(ResponseCode.SUCCESS).setBody(request.body);
  },
};

class RemotingTsServer implements EchoServer {
  readonly server: RemotingServer;
  private onewayReceived = 0;

  constructor(listen: { host: string; port: number } = { host: '127.0.0.1', port: 0 }) {
    this.server = new RemotingServer(listen);
    this.server.registerProcessor(ECHO_CODE, echoProcessor);
    // Counting and the count query share one code, hence one executor: its FIFO order
    // guarantees the query is answered after every oneway message queued before it.
    this.server.registerProcessor(ONEWAY_COUNT_CODE, {
      processRequest: (_ctx, request) => {
        if (request.isOneway()) {
          this.onewayReceived++;
          return null;
        }
        const count = Buffer.allocUnsafe(8);
        count.writeDoubleBE(this.onewayReceived, 0);
        return RemotingCommand.createResponse(ResponseCode.SUCCESS).setBody(count);
      },
    });
  }

  async start(): Promise<number> {
    await this.server.start();
    return this.server.address().port;
  }

  stop(): Promise<void> {
    return this.server.shutdown();
  }
}

export function serializeType(serialize: Serialize): SerializeType {
  return serialize === 'ROCKETMQ' ? SerializeType.ROCKETMQ : SerializeType.JSON;
}

class RemotingTsConnection implements EchoConnection {
  private readonly serializeType: SerializeType;

  constructor(
    private readonly client: RemotingClient,
    private readonly addr: string,
    private readonly body: Buffer,
    serialize: Serialize,
  ) {
    this.serializeType = serializeType(serialize);
  }

  private request(code: number, body: Buffer | null): Command {
    const cmd = RemotingCommand.createRequest(code).setBody(body);
    cmd.serializeType = this.serializeType;
    return cmd;
  }

  call(done: (error: Error | null) => void): void {
    this.client.invokeAsync(
      this.addr,
      this.request(ECHO_CODE, this.body),
      CALL_TIMEOUT_MS,
      (error, response) => {
        if (error) done(error);
        else if (response === null || !response.isSuccess()) done(unexpected(response));
        else done(null);
      },
    );
  }

  async callSync(): Promise<void> {
    const response = await this.client.invokeSync(
      this.addr,
      this.request(ECHO_CODE, this.body),
      CALL_TIMEOUT_MS,
    );
    if (!response.isSuccess()) throw unexpected(response);
  }

  async sendOnewayUntil(shouldStop: () => boolean): Promise<number> {
    let sent = 0;
    let failure: Error | null = null;
    const onSent = (error: Error | null): void => {
      failure ??= error;
    };
    while (!shouldStop()) {
      const request = this.request(ONEWAY_COUNT_CODE, this.body);
      sent++;
      // No promise per message: only when the client says to back off does the loop wait, once.
      if (
        !this.client.invokeOneway(this.addr, request, CALL_TIMEOUT_MS, onSent) &&
        !(await this.client.waitWritable(this.addr, CALL_TIMEOUT_MS))
      ) {
        throw new Error(
          `the connection to ${this.addr} did not become writable within ${CALL_TIMEOUT_MS} ms`,
        );
      }
      if (failure !== null) throw failure;
    }
    return sent;
  }

  async onewayReceived(): Promise<number> {
    const response = await this.client.invokeSync(
      this.addr,
      this.request(ONEWAY_COUNT_CODE, null),
      CALL_TIMEOUT_MS,
    );
    if (!response.isSuccess() || response.body === null) throw unexpected(response);
    return response.body.readDoubleBE(0);
  }

  close(): Promise<void> {
    return this.client.shutdown();
  }
}

export function unexpected(response: Command | null | undefined): Error {
  return new Error(
    `unexpected response: ${response ? `code ${response.code}, remark ${response.remark}` : 'none'}`,
  );
}

async function connect(options: ConnectOptions): Promise<EchoConnection> {
  // One RemotingClient keeps one channel per address, so each connection is its own client.
  const client = new RemotingClient({ connectTimeoutMs: 10_000 });
  const connection = new RemotingTsConnection(
    client,
    `${options.host}:${options.port}`,
    Buffer.alloc(options.bodyBytes, 0x61),
    options.serialize,
  );
  try {
    // The channel is created lazily; open it now so connecting is not part of any measured run.
    await connection.callSync();
  } catch (error) {
    await client.shutdown();
    throw error;
  }
  return connection;
}

/**
 * The framework's own ServerCluster, as a user would run it: workers run this
 * script again (the bench worker, forked with its arguments and loader) and
 * reach serveClusterWorker.
 */
async function startCluster(workers: number): Promise<ClusteredEchoServer> {
  const servers = await startServerCluster({ workers, host: '127.0.0.1', port: 0, shutdownGraceMs: 1000 });
  return {
    port: servers.address().port,
    async cpuUs() {
      const own = process.cpuUsage();
      const stats = await servers.stats();
      return stats.reduce((sum, w) => sum + w.cpuUsage.user + w.cpuUsage.system, own.user + own.system);
    },
    stop: () => servers.shutdown(),
  };
}

async function serveClusterWorker(): Promise<void> {
  await runClusterWorker((listen) => new RemotingTsServer(listen).server);
}

export const remotingTsImpl: Impl = {
  name: 'remoting-ts',
  createServer: () => new RemotingTsServer(),
  connect,
  startCluster,
  serveClusterWorker,
};
