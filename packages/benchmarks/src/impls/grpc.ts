/**
 * grpc-js: unary calls over HTTP/2 with raw Buffer serialize/deserialize, so
 * the figure is the cost of gRPC's transport and call machinery without any
 * protobuf work. gRPC has no oneway call; the invoke suite skips that mode here.
 */
import * as grpc from '@grpc/grpc-js';
import {
  CALL_TIMEOUT_MS,
  type ConnectOptions,
  type EchoConnection,
  type EchoServer,
  type Impl,
} from './types.js';

const ECHO_PATH = '/remoting_ts.bench.Echo/Echo';
const identity = (buffer: Buffer): Buffer => buffer;

const echoService: grpc.ServiceDefinition = {
  echo: {
    path: ECHO_PATH,
    requestStream: false,
    responseStream: false,
    requestSerialize: identity,
    requestDeserialize: identity,
    responseSerialize: identity,
    responseDeserialize: identity,
  },
};

/** Large bodies × 1024 in flight exceed grpc-js's 4 MiB default for nothing we are measuring. */
const MESSAGE_LIMITS = {
  'grpc.max_receive_message_length': 64 * 1024 * 1024,
  'grpc.max_send_message_length': 64 * 1024 * 1024,
};

class GrpcServer implements EchoServer {
  private readonly server = new grpc.Server(MESSAGE_LIMITS);

  constructor() {
    const echo: grpc.handleUnaryCall<Buffer, Buffer> = (call, callback) => callback(null, call.request);
    this.server.addService(echoService, { echo });
  }

  start(): Promise<number> {
    return new Promise((resolve, reject) => {
      this.server.bindAsync('127.0.0.1:0', grpc.ServerCredentials.createInsecure(), (error, port) =>
        error ? reject(error) : resolve(port),
      );
    });
  }

  stop(): Promise<void> {
    this.server.forceShutdown();
    return Promise.resolve();
  }
}

class GrpcConnection implements EchoConnection {
  constructor(
    private readonly client: grpc.Client,
    private readonly body: Buffer,
  ) {}

  call(done: (error: Error | null) => void): void {
    this.client.makeUnaryRequest(
      ECHO_PATH,
      identity,
      identity,
      this.body,
      { deadline: Date.now() + CALL_TIMEOUT_MS },
      (error) => done(error ?? null),
    );
  }

  callSync(): Promise<void> {
    return new Promise((resolve, reject) =>
      this.call((error) => (error === null ? resolve() : reject(error))),
    );
  }

  close(): Promise<void> {
    this.client.close();
    return Promise.resolve();
  }
}

function connect(options: ConnectOptions): Promise<EchoConnection> {
  const client = new grpc.Client(`${options.host}:${options.port}`, grpc.credentials.createInsecure(), {
    ...MESSAGE_LIMITS,
    // Without a local pool, clients with equal options share one subchannel (one TCP
    // connection), and "4 connections" would silently be one.
    'grpc.use_local_subchannel_pool': 1,
  });
  return new Promise((resolve, reject) => {
    grpc.waitForClientReady(client, Date.now() + 10_000, (error) => {
      if (error) {
        client.close();
        reject(error);
      } else resolve(new GrpcConnection(client, Buffer.alloc(options.bodyBytes, 0x61)));
    });
  });
}

export const grpcImpl: Impl = {
  name: 'grpc-js',
  createServer: () => new GrpcServer(),
  connect,
};
