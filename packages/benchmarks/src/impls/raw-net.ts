/**
 * raw-net: a length-prefixed echo over `net`, the Node limit on this machine.
 * Written as efficiently as we can: writes batched with cork/uncork (one
 * writev per tick), no per-frame concat (head and body are separate writes),
 * frames parsed in place as views of the received chunk, and the echo written
 * back from that view. It multiplexes by request id like a real protocol
 * must, so it pays for a Map lookup per response as remoting-ts does.
 *
 * Frame: [uint32 BE length][uint8 kind][uint32 BE id][body], length = 5 + body.
 */
import net from 'node:net';
import { LengthPrefixedSplitter } from './length-prefixed.js';
import type { ConnectOptions, EchoConnection, EchoServer, Impl } from './types.js';

const KIND_ECHO = 1;
const KIND_ONEWAY = 2;
const KIND_COUNT = 3;
const HEAD_BYTES = 9;

function frameHead(kind: number, id: number, bodyBytes: number): Buffer {
  const head = Buffer.allocUnsafe(HEAD_BYTES);
  head.writeUInt32BE(5 + bodyBytes, 0);
  head[4] = kind;
  head.writeUInt32BE(id, 5);
  return head;
}

class RawNetServer implements EchoServer {
  private readonly server: net.Server;
  private readonly sockets = new Set<net.Socket>();
  private onewayReceived = 0;

  constructor() {
    this.server = net.createServer((socket) => this.accept(socket));
  }

  private accept(socket: net.Socket): void {
    socket.setNoDelay(true);
    this.sockets.add(socket);
    socket.on('close', () => this.sockets.delete(socket));
    // A client that goes away mid-write is the end of its run, not a server failure.
    socket.on('error', () => socket.destroy());
    const splitter = new LengthPrefixedSplitter((frame) => {
      const kind = frame[4];
      if (kind === KIND_ECHO) socket.write(frame);
      else if (kind === KIND_ONEWAY) this.onewayReceived++;
      else if (kind === KIND_COUNT) {
        const count = Buffer.allocUnsafe(8);
        count.writeDoubleBE(this.onewayReceived, 0);
        socket.write(frameHead(KIND_COUNT, frame.readUInt32BE(5), 8));
        socket.write(count);
      }
    });
    socket.on('data', (chunk: Buffer) => {
      socket.cork();
      splitter.push(chunk);
      socket.uncork();
      // Stop reading while the peer is not draining its answers (what RocketMQ's autoRead toggle does).
      if (socket.writableNeedDrain) {
        socket.pause();
        socket.once('drain', () => socket.resume());
      }
    });
  }

  start(): Promise<number> {
    return new Promise((resolve, reject) => {
      this.server.once('error', reject);
      this.server.listen(0, '127.0.0.1', () => {
        const address = this.server.address() as net.AddressInfo;
        resolve(address.port);
      });
    });
  }

  stop(): Promise<void> {
    for (const socket of this.sockets) socket.destroy();
    return new Promise((resolve) => this.server.close(() => resolve()));
  }
}

type Pending = (error: Error | null, frame: Buffer | null) => void;

class RawNetConnection implements EchoConnection {
  private readonly pending = new Map<number, Pending>();
  private lastId = 0;
  private corked = false;
  private closedError: Error | null = null;
  /** Oneway frames carry no id, so one head serves them all. */
  private readonly onewayHead: Buffer;
  private readonly uncork = () => {
    this.corked = false;
    this.socket.uncork();
  };

  constructor(
    private readonly socket: net.Socket,
    private readonly body: Buffer,
  ) {
    this.onewayHead = frameHead(KIND_ONEWAY, 0, body.length);
    const splitter = new LengthPrefixedSplitter((frame) => {
      const id = frame.readUInt32BE(5);
      const done = this.pending.get(id);
      if (done === undefined) return;
      this.pending.delete(id);
      done(null, frame);
    });
    socket.on('data', (chunk: Buffer) => splitter.push(chunk));
    socket.on('error', (error) => this.fail(error));
    socket.on('close', () => this.fail(new Error('raw-net connection closed')));
  }

  private fail(error: Error): void {
    this.closedError ??= error;
    const pending = [...this.pending.values()];
    this.pending.clear();
    for (const done of pending) done(error, null);
  }

  /** Cork on the first write of a tick, uncork on the next: every write of this tick goes out in one writev. */
  private batch(): void {
    if (this.corked) return;
    this.corked = true;
    this.socket.cork();
    process.nextTick(this.uncork);
  }

  private send(kind: number, done: Pending, body: Buffer | null): void {
    if (this.closedError !== null) {
      done(this.closedError, null);
      return;
    }
    this.lastId = (this.lastId + 1) >>> 0;
    this.pending.set(this.lastId, done);
    this.batch();
    this.socket.write(frameHead(kind, this.lastId, body?.length ?? 0));
    if (body !== null && body.length > 0) this.socket.write(body);
  }

  call(done: (error: Error | null) => void): void {
    this.send(KIND_ECHO, done, this.body);
  }

  callSync(): Promise<void> {
    return new Promise((resolve, reject) => {
      this.send(KIND_ECHO, (error) => (error === null ? resolve() : reject(error)), this.body);
    });
  }

  sendOnewayUntil(shouldStop: () => boolean): Promise<number> {
    const socket = this.socket;
    return new Promise((resolve, reject) => {
      let sent = 0;
      // A connection that dies while we wait for 'drain' would otherwise leave the run hanging.
      const onClose = (): void => {
        socket.off('drain', pump);
        reject(this.closedError ?? new Error('raw-net connection closed'));
      };
      socket.once('close', onClose);
      const finish = (): void => {
        socket.off('close', onClose);
        resolve(sent);
      };
      const pump = (): void => {
        if (this.closedError !== null) {
          onClose();
          return;
        }
        socket.cork();
        while (!shouldStop()) {
          socket.write(this.onewayHead);
          if (this.body.length > 0) socket.write(this.body);
          sent++;
          if (socket.writableNeedDrain) break;
        }
        socket.uncork();
        if (shouldStop()) finish();
        else if (socket.writableNeedDrain) socket.once('drain', pump);
        else setImmediate(pump);
      };
      pump();
    });
  }

  onewayReceived(): Promise<number> {
    return new Promise((resolve, reject) => {
      this.send(
        KIND_COUNT,
        (error, frame) => (error === null && frame !== null ? resolve(frame.readDoubleBE(9)) : reject(error)),
        null,
      );
    });
  }

  close(): Promise<void> {
    return new Promise((resolve) => {
      if (this.socket.destroyed) {
        resolve();
        return;
      }
      this.socket.once('close', () => resolve());
      this.socket.end();
      // A peer that never finishes its half-close must not hold the run hostage.
      setTimeout(() => this.socket.destroy(), 1000).unref();
    });
  }
}

function connect(options: ConnectOptions): Promise<EchoConnection> {
  return new Promise((resolve, reject) => {
    const socket = net.connect({ host: options.host, port: options.port, noDelay: true });
    socket.once('error', reject);
    socket.once('connect', () => {
      socket.off('error', reject);
      resolve(new RawNetConnection(socket, Buffer.alloc(options.bodyBytes, 0x61)));
    });
  });
}

export const rawNetImpl: Impl = {
  name: 'raw-net',
  createServer: () => new RawNetServer(),
  connect,
};
