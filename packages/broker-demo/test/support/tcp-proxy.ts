import { connect, createServer, type Server, type Socket } from 'node:net';

/**
 * Which way bytes flow through a proxied link: `toTarget` from the side that
 * connected to the proxy's target, `fromTarget` back, `both` either way.
 */
export type LinkDirection = 'toTarget' | 'fromTarget' | 'both';

/** The state of one direction of the link. */
interface DirectionFault {
  /** Bytes are held (not delivered, not lost) until the link heals: packets dropped, TCP retransmitting. */
  blackholed: boolean;
  /** Every chunk is delivered this much later. */
  delayMs: number;
}

/** One proxied connection: the accepted socket and the one to the target. */
interface Pipe {
  client: Socket;
  upstream: Socket | null;
  pumps: Pump[];
}

/**
 * Moves one direction's bytes, applying the link's fault: a queue of chunks
 * with the time each may go, held entirely while blackholed. Order is kept.
 */
class Pump {
  private readonly queue: Array<{ chunk: Buffer; dueMs: number }> = [];
  private timer: NodeJS.Timeout | null = null;

  constructor(
    private readonly from: Socket,
    private readonly to: () => Socket | null,
    private readonly fault: () => DirectionFault,
  ) {
    from.on('data', (chunk: Buffer) => {
      this.queue.push({ chunk, dueMs: Date.now() + this.fault().delayMs });
      this.flush();
    });
  }

  /** Delivers what is due; called on new data, on a timer, and when the link's faults change. */
  flush(): void {
    const target = this.to();
    if (target === null || target.destroyed) return;
    if (this.fault().blackholed) {
      // The sender keeps writing into its socket buffer until it fills, as over a dead route.
      if (this.queue.length > 64) this.from.pause();
      return;
    }
    const now = Date.now();
    while (this.queue.length > 0 && this.queue[0]!.dueMs <= now) target.write(this.queue.shift()!.chunk);
    this.from.resume();
    if (this.queue.length > 0 && this.timer === null) {
      this.timer = setTimeout(
        () => {
          this.timer = null;
          this.flush();
        },
        Math.max(1, this.queue[0]!.dueMs - now),
      );
    }
  }

  stop(): void {
    if (this.timer !== null) clearTimeout(this.timer);
    this.queue.length = 0;
  }
}

/**
 * A TCP proxy of the tests' own, standing for a network link between two
 * hosts: everything that connects to `address` is forwarded to the target,
 * and the link can be cut, blackholed or delayed, one way or both, while
 * the two ends keep running.
 *
 * - `cut()`: connections are reset and new ones refused (a host unreachable
 *   at once: RST).
 * - `blackhole(direction)`: bytes that way are held, not delivered, until
 *   `heal()` (packets dropped while TCP keeps retransmitting); with `both`,
 *   new connections are accepted but reach nothing, so a connect "succeeds"
 *   and then nothing answers (a real black hole would leave the connect
 *   hanging instead; both end in the caller's timeout).
 * - `delay(ms, direction)`: every chunk that way arrives `ms` later.
 * - `heal()`: everything flows again; held bytes are delivered in order.
 */
export class TcpProxy {
  private readonly server: Server;
  private readonly pipes = new Set<Pipe>();
  private target: { host: string; port: number } | null;
  private isCut = false;
  private readonly faults: Record<'toTarget' | 'fromTarget', DirectionFault> = {
    toTarget: { blackholed: false, delayMs: 0 },
    fromTarget: { blackholed: false, delayMs: 0 },
  };
  private bound: { host: string; port: number } | null = null;
  /** Connections accepted since start, for tests that check traffic went this way. */
  accepted = 0;

  private constructor(target: { host: string; port: number } | null) {
    this.target = target;
    this.server = createServer((socket) => this.accept(socket));
  }

  /** Listens on `host` (a port the OS picks); the target may be set later (`setTarget`). */
  static async start(options: { host?: string; target?: { host: string; port: number } }): Promise<TcpProxy> {
    const proxy = new TcpProxy(options.target ?? null);
    await new Promise<void>((resolve, reject) => {
      proxy.server.once('error', reject);
      proxy.server.listen(0, options.host ?? '127.0.0.1', () => resolve());
    });
    const address = proxy.server.address();
    if (address === null || typeof address === 'string') throw new Error('proxy has no TCP address');
    proxy.bound = { host: address.address, port: address.port };
    return proxy;
  }

  /** HOST:PORT to connect to instead of the target. */
  get address(): string {
    return `${this.bound!.host}:${this.bound!.port}`;
  }

  /** Where connections go from now on (a restarted process on a new port); open ones are cut. */
  setTarget(target: { host: string; port: number }): void {
    const changed = this.target?.host !== target.host || this.target.port !== target.port;
    this.target = target;
    if (changed) this.resetAll();
  }

  cut(): void {
    this.isCut = true;
    this.resetAll();
  }

  blackhole(direction: LinkDirection = 'both'): void {
    for (const d of this.directions(direction)) this.faults[d].blackholed = true;
    this.reflow();
  }

  delay(ms: number, direction: LinkDirection = 'both'): void {
    for (const d of this.directions(direction)) this.faults[d].delayMs = ms;
    this.reflow();
  }

  /** Ends every fault: connections are accepted again and held bytes delivered. */
  heal(): void {
    this.isCut = false;
    for (const d of this.directions('both')) this.faults[d] = { blackholed: false, delayMs: 0 };
    this.reflow();
  }

  get openConnections(): number {
    return this.pipes.size;
  }

  async close(): Promise<void> {
    this.resetAll();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }

  private directions(direction: LinkDirection): Array<'toTarget' | 'fromTarget'> {
    return direction === 'both' ? ['toTarget', 'fromTarget'] : [direction];
  }

  private reflow(): void {
    for (const pipe of this.pipes) for (const pump of pipe.pumps) pump.flush();
  }

  private accept(client: Socket): void {
    this.accepted++;
    const target = this.target;
    if (this.isCut || target === null) {
      client.resetAndDestroy();
      return;
    }
    const pipe: Pipe = { client, upstream: null, pumps: [] };
    this.pipes.add(pipe);
    const upstream = connect({ host: target.host, port: target.port });
    pipe.upstream = upstream;
    pipe.pumps.push(
      new Pump(
        client,
        () => (upstream.connecting ? null : upstream),
        () => this.faults.toTarget,
      ),
      new Pump(
        upstream,
        () => client,
        () => this.faults.fromTarget,
      ),
    );
    upstream.on('connect', () => pipe.pumps[0]!.flush());
    const end = () => this.closePipe(pipe, false);
    client.on('error', end).on('close', end);
    upstream.on('error', end).on('close', end);
  }

  private closePipe(pipe: Pipe, reset: boolean): void {
    if (!this.pipes.delete(pipe)) return;
    for (const pump of pipe.pumps) pump.stop();
    for (const socket of [pipe.client, pipe.upstream]) {
      if (socket === null || socket.destroyed) continue;
      if (reset && !socket.connecting) socket.resetAndDestroy();
      else socket.destroy();
    }
  }

  private resetAll(): void {
    for (const pipe of [...this.pipes]) this.closePipe(pipe, true);
  }
}
