import { RemotingClient, type RemotingCommand, RemotingError, RemotingServer } from '@remoting-ts/remoting';

/**
 * The slice of the remoting runtime the broker uses. Brokers, the controller
 * and clients talk through these two interfaces, so the one place that builds
 * them from `@remoting-ts/remoting` is this file.
 */

export interface HandlerContext {
  readonly remoteAddress: string;
  /** Runs `callback` once the response is written (or cannot be): when a pooled body may be reused. */
  onResponseWritten(callback: () => void): void;
}

export type RequestHandler = (
  ctx: HandlerContext,
  request: RemotingCommand,
) => Promise<RemotingCommand | null> | RemotingCommand | null;

export interface HandlerOptions {
  /** Requests of this code processed at once; long-poll fetches need many. */
  concurrency?: number;
}

export interface RpcServer {
  handle(code: number, handler: RequestHandler, options?: HandlerOptions): void;
  start(): Promise<{ host: string; port: number }>;
  shutdown(): Promise<void>;
}

/** Per-call options of an RpcClient call. */
export interface CallOptions {
  /**
   * Cancels the call: it rejects with remoting's REMOTING_ABORTED error and
   * leaves nothing behind in the client's response table (a long-poll given
   * up on is removed, not left to time out there).
   */
  signal?: AbortSignal;
}

export interface RpcClient {
  invokeSync(
    address: string,
    request: RemotingCommand,
    timeoutMs: number,
    options?: CallOptions,
  ): Promise<RemotingCommand>;
  invokeOneway(
    address: string,
    request: RemotingCommand,
    timeoutMs: number,
    options?: CallOptions,
  ): Promise<void>;
  shutdown(): Promise<void>;
}

export function createRpcServer(options: { host: string; port?: number }): RpcServer {
  const server = new RemotingServer({ host: options.host, port: options.port ?? 0 });
  return {
    handle(code, handler, handlerOptions) {
      server.registerProcessor(
        code,
        {
          processRequest: (ctx, request) =>
            handler(
              {
                remoteAddress: ctx.remoteAddress,
                onResponseWritten: (callback) => ctx.onResponseWritten(callback),
              },
              request,
            ),
        },
        handlerOptions?.concurrency === undefined ? undefined : { concurrency: handlerOptions.concurrency },
      );
    },
    async start() {
      await server.start();
      return server.address();
    },
    // Parked long-polls are released by the broker before this; what is left gets a short grace.
    shutdown: () => server.shutdown({ graceMs: 1000 }),
  };
}

export function createRpcClient(options: { connectTimeoutMs?: number } = {}): RpcClient {
  return new RemotingClient({ connectTimeoutMs: options.connectTimeoutMs ?? 3000 });
}

/**
 * A remoting failure a later attempt may get past (refused, reset, timed out,
 * too many calls in flight): the peer may be down, moved or busy. The errors'
 * own `retriable` decides, so a shutdown or a bad header is never retried.
 */
export function isTransportError(err: unknown): err is RemotingError {
  return err instanceof RemotingError && err.retriable;
}
