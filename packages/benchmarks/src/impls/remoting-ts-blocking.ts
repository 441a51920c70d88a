/**
 * remoting-ts-blocking: the remoting-ts echo server, called through
 * BlockingRemotingClient.invokeSync, which parks the calling thread until the
 * response is back (the client and its socket live in a worker thread). Set
 * beside remoting-ts's promise invokeSync and raw-net's sync call, it shows
 * what parking a thread costs per call. Sync on one connection only: a parked
 * thread keeps exactly one call in flight.
 */
import { BlockingRemotingClient, RemotingCommand, type SerializeType } from '@remoting-ts/remoting';
import { remotingTsImpl, serializeType, unexpected } from './remoting-ts.js';
import { CALL_TIMEOUT_MS, type ConnectOptions, ECHO_CODE, type EchoConnection, type Impl } from './types.js';

/**
 * The measuring loop marks its windows with timers, and a loop of calls that
 * park the thread and then resolve at once would never let a timer run: the
 * connection yields one event-loop turn once this many ms have passed. At
 * 10 ms about one call in forty carries that turn, far from the median.
 */
const YIELD_EVERY_MS = 10;

class BlockingConnection implements EchoConnection {
  private readonly serializeType: SerializeType;
  private lastYield = performance.now();

  constructor(
    private readonly client: BlockingRemotingClient,
    private readonly address: string,
    private readonly body: Buffer,
    serialize: ConnectOptions['serialize'],
  ) {
    this.serializeType = serializeType(serialize);
  }

  private invoke(): void {
    const request = RemotingCommand.createRequest(ECHO_CODE).setBody(this.body);
    request.serializeType = this.serializeType;
    const response = this.client.invokeSync(this.address, request, CALL_TIMEOUT_MS);
    if (!response.isSuccess()) throw unexpected(response);
  }

  /** Not planned (the blocking client runs sync shapes only); a blocking call all the same. */
  call(done: (error: Error | null) => void): void {
    try {
      this.invoke();
    } catch (error) {
      done(error as Error);
      return;
    }
    done(null);
  }

  async callSync(): Promise<void> {
    this.invoke();
    const now = performance.now();
    if (now - this.lastYield >= YIELD_EVERY_MS) {
      this.lastYield = now;
      await new Promise<void>((resolve) => setImmediate(resolve));
    }
  }

  async close(): Promise<void> {
    this.client.close();
  }
}

async function connect(options: ConnectOptions): Promise<EchoConnection> {
  const client = new BlockingRemotingClient({ connectTimeoutMs: 10_000 });
  const connection = new BlockingConnection(
    client,
    `${options.host}:${options.port}`,
    Buffer.alloc(options.bodyBytes, 0x61),
    options.serialize,
  );
  try {
    // Starts the worker thread and opens the connection, outside any measured run.
    await connection.callSync();
  } catch (error) {
    client.close();
    throw error;
  }
  return connection;
}

export const remotingTsBlockingImpl: Impl = {
  name: 'remoting-ts-blocking',
  createServer: () => remotingTsImpl.createServer(),
  connect,
};
