import net from 'node:net';
import { FrameDecoder, RemotingCommand } from '../../src/index.js';
import { onCleanup } from '../helpers/servers.js';

/** One accepted connection of a RawServer: what it received, and a way to answer. */
export interface RawConnection {
  socket: net.Socket;
  /** Requests decoded so far, in arrival order. */
  requests: RemotingCommand[];
  /** Writes a response with `opaque` and `code` (SUCCESS by default). */
  respond(opaque: number, code?: number): void;
}

/**
 * A plain TCP server on 127.0.0.1:0 that decodes frames and lets the test
 * decide what to answer: a peer that misbehaves on purpose. Closed after the test.
 */
export interface RawServer {
  address: string;
  connections: RawConnection[];
  /** Every request received on any connection, in arrival order. */
  requests: RemotingCommand[];
  /** Bytes received on all connections. */
  received(): number;
}

export async function startRawServer(
  onConnection: (connection: RawConnection) => void = () => {},
  onRequest: (connection: RawConnection, request: RemotingCommand) => void = () => {},
): Promise<RawServer> {
  const connections: RawConnection[] = [];
  const requests: RemotingCommand[] = [];
  let bytes = 0;
  const server = net.createServer((socket) => {
    socket.on('error', () => {});
    const decoder = new FrameDecoder();
    const decoded: RemotingCommand[] = [];
    const connection: RawConnection = {
      socket,
      requests: [],
      respond: (opaque, code = 0) => {
        const response = RemotingCommand.createResponse(code);
        response.opaque = opaque;
        response.markResponse();
        socket.write(response.encode());
      },
    };
    connections.push(connection);
    socket.on('data', (chunk: Buffer) => {
      bytes += chunk.length;
      decoder.pushTo(chunk, decoded);
      for (const request of decoded.splice(0)) {
        connection.requests.push(request);
        requests.push(request);
        onRequest(connection, request);
      }
    });
    onConnection(connection);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  onCleanup(async () => {
    for (const c of connections) c.socket.destroy();
    await new Promise((resolve) => server.close(resolve));
  });
  return {
    address: `127.0.0.1:${(server.address() as net.AddressInfo).port}`,
    connections,
    requests,
    received: () => bytes,
  };
}
