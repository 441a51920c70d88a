/**
 * raw-net: a length-prefixed echo over `net`, the Node limit on this machine.
 * Written as efficiently as we can: a tick's frames are encoded into one
 * buffer and written once (SlabWriter, the technique remoting-ts's channel
 * uses; bodies above 8 KiB go as their own Buffer, not copied), frames are
 * parsed in place as views of the received chunk, integers read and written
 * byte by byte and views built directly (bytes.ts, as remoting-ts's protocol
 * layer does), and a read's echoes leave in one write. It multiplexes by request id like a real protocol must, so it
 * pays for a Map lookup per response as remoting-ts does.
 *
 * Frame: [uint32 BE length][uint8 kind][uint32 BE id][body], length = 5 + body.
 */
import net from 'node:net';
import { readUInt32At, writeUInt32At } from './bytes.js';
import { LengthPrefixedSplitter } from './length-prefixed.js';
import { servePlainClusterWorker, startPlainCluster } from './plain-cluster.js';
import { INLINE_BODY_MAX_BYTES, SlabWriter } from './slab-writer.js';
import type { ConnectOptions, EchoConnection, EchoServer, Impl } from './types.js';

const KIND_ECHO = 1;
const KIND_ONEWAY = 2;
const KIND_COUNT = 3;
const HEAD_BYTES = 9;
/** Oneway sending writes this much at a time, then checks the socket's back-pressure. */
const ONEWAY_WRITE_BYTES = 64 * 1024;

function writeHead(target: Buffer, at: number, kind: number, id: number, bodyBytes: number): void {
  writeUInt32At(target, at, 5 + bodyBytes);
  target[at + 4] = kind;
  writeUInt32At(target, at + 5, id);
}

/** Appends one frame to `out`: head and a small body into its buffer, a large body as its own chunk. */
function appendFrame(out: SlabWriter, kind: number, id: number, body: Buffer | null): void {
  const bodyBytes = body?.length ?? 0;
  const inline = bodyBytes <= INLINE_BODY_MAX_BYTES ? bodyBytes : 0;
  const at = out.reserve(HEAD_BYTES + inline);
  writeHead(out.buffer, at, kind, id, bodyBytes);
  if (inline > 0) out.buffer.set(body as Buffer, at + HEAD_BYTES);
  out.commit(HEAD_BYTES + inline);
  if (body !== null && inline === 0 && bodyBytes > 0) out.append(body);
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
    const out = new SlabWriter(socket);
    const splitter = new LengthPrefixedSplitter((frame) => {
      const kind = frame[4];
      if (kind === KIND_ECHO) out.append(frame);
      else if (kind === KIND_ONEWAY) this.onewayReceived++;
      else if (kind === KIND_COUNT) {
        const count = Buffer.allocUnsafe(8);
        count.writeDoubleBE(this.onewayReceived, 0);
        appendFrame(out, KIND_COUNT, readUInt32At(frame, 5), count);
      }
    });
    socket.on('data', (chunk: Buffer) => {
      splitter.push(chunk);
      // A read's answers leave together, in one write.
      out.flush();
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

/**
 * Calls awaiting their echo, by id. Ids are this connection's own sequence,
 * so id & mask picks a slot; the ring doubles when a call that old still
 * holds the slot a new id needs. Not a Map: under one insert and one delete
 * per call a Map keeps allocating backing tables, each linked from the one
 * it replaced, and once one is promoted every later one (and the callbacks
 * in it) survives scavenges until a full GC (remoting-ts's response table
 * had the same fault; 13-15 % GC here in some runs instead of 2-5 %).
 */
class PendingCalls {
  private slots: Array<Pending | undefined> = new Array(1024).fill(undefined);
  private ids = new Int32Array(1024);
  private mask = 1023;

  set(id: number, done: Pending): void {
    while (this.slots[id & this.mask] !== undefined) this.grow();
    const slot = id & this.mask;
    this.slots[slot] = done;
    this.ids[slot] = id;
  }

  /** Removes and returns the call waiting for `id`; undefined when there is none. */
  take(id: number): Pending | undefined {
    const slot = id & this.mask;
    const done = this.slots[slot];
    if (done === undefined || this.ids[slot] !== (id | 0)) return undefined;
    this.slots[slot] = undefined;
    return done;
  }

  /** Removes and returns every waiting call. */
  takeAll(): Pending[] {
    const all: Pending[] = [];
    for (let slot = 0; slot < this.slots.length; slot++) {
      const done = this.slots[slot];
      if (done === undefined) continue;
      this.slots[slot] = undefined;
      all.push(done);
    }
    return all;
  }

  private grow(): void {
    // Two live ids that collide at one size may not at the next: double until they all fit.
    for (let size = this.slots.length * 2; ; size *= 2) {
      const slots: Array<Pending | undefined> = new Array(size).fill(undefined);
      const ids = new Int32Array(size);
      const mask = size - 1;
      let fits = true;
      for (let old = 0; old < this.slots.length && fits; old++) {
        const done = this.slots[old];
        if (done === undefined) continue;
        const id = this.ids[old] as number;
        if (slots[id & mask] !== undefined) fits = false;
        slots[id & mask] = done;
        ids[id & mask] = id;
      }
      if (!fits) continue;
      this.slots = slots;
      this.ids = ids;
      this.mask = mask;
      return;
    }
  }
}

class RawNetConnection implements EchoConnection {
  private readonly pending = new PendingCalls();
  private lastId = 0;
  private flushScheduled = false;
  private closedError: Error | null = null;
  private readonly out: SlabWriter;
  private readonly flush = () => {
    this.flushScheduled = false;
    this.out.flush();
  };

  constructor(
    private readonly socket: net.Socket,
    private readonly body: Buffer,
  ) {
    this.out = new SlabWriter(socket);
    const splitter = new LengthPrefixedSplitter((frame) => {
      const id = readUInt32At(frame, 5);
      this.pending.take(id)?.(null, frame);
    });
    socket.on('data', (chunk: Buffer) => splitter.push(chunk));
    socket.on('error', (error) => this.fail(error));
    socket.on('close', () => this.fail(new Error('raw-net connection closed')));
  }

  private fail(error: Error): void {
    this.closedError ??= error;
    for (const done of this.pending.takeAll()) done(error, null);
  }

  /** Every frame of this tick goes out in one write on the next (a lone one included: no waiting for company). */
  private send(kind: number, done: Pending, body: Buffer | null): void {
    if (this.closedError !== null) {
      done(this.closedError, null);
      return;
    }
    this.lastId = (this.lastId + 1) >>> 0;
    this.pending.set(this.lastId, done);
    appendFrame(this.out, kind, this.lastId, body);
    if (!this.flushScheduled) {
      this.flushScheduled = true;
      process.nextTick(this.flush);
    }
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
        // Frames are packed and written a slab at a time until the socket asks for a pause.
        while (!shouldStop()) {
          appendFrame(this.out, KIND_ONEWAY, 0, this.body);
          sent++;
          if (this.out.pendingBytes >= ONEWAY_WRITE_BYTES) {
            this.out.flush();
            if (socket.writableNeedDrain) break;
          }
        }
        this.out.flush();
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
  startCluster: startPlainCluster,
  serveClusterWorker: () => servePlainClusterWorker(new RawNetServer()),
};
