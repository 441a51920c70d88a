import type tls from 'node:tls';
import { RemotingShutdownError } from './remoting/errors.js';
import { Channel, type ChannelOptions } from './transport/channel.js';
import { connectSocket } from './transport/connect.js';
import { RemotingConnectError } from './transport/errors.js';

/** How the client's connections are opened. */
export interface ChannelTableOptions {
  /** Time one connect attempt (TCP connect and TLS handshake) may take, whoever waits for it. */
  connectTimeoutMs: number;
  /** TLS options for tls.connect; undefined means plain TCP. */
  tls: tls.ConnectionOptions | undefined;
  /** Limits and timers of every channel opened. */
  channel: ChannelOptions;
}

/**
 * The client's connections, one per address (RocketMQ's channelTables):
 * opened on first use, shared by every call, dropped when they fail so the
 * next call reconnects.
 *
 * Concurrent callers share one connect attempt (the pending promise is the
 * lock; RocketMQ takes a lock around its table for the same reason), but each
 * waits only until its own deadline: a 150 ms call that arrives behind a
 * stalled TLS handshake fails at 150 ms, not when the attempt gives up. The
 * attempt itself is bounded by `connectTimeoutMs` alone, so a short call
 * cannot cut it short for the longer calls waiting on it.
 */
export class ChannelTable {
  private readonly byAddress = new Map<string, Channel>();
  private readonly connecting = new Map<string, Promise<Channel>>();
  /**
   * Channels whose 'close' has not fired yet, including ones already dropped
   * from the table, each with the address it was opened for (its table key).
   */
  private readonly opened = new Map<Channel, string>();
  private stopped = false;

  constructor(
    private readonly options: ChannelTableOptions,
    /** Wires a newly opened channel to the endpoint (its commands, events, close). */
    private readonly attach: (channel: Channel, address: string) => void,
  ) {}

  /**
   * What `live` answered last, while the table is unchanged: a client that
   * calls one address over and over finds its connection without a map
   * lookup per call (a few percent of a oneway request, profiled).
   */
  private lastAddress: string | null = null;
  private lastChannel: Channel | null = null;

  /** The open connection to `address`, if there is one. */
  live(address: string): Channel | undefined {
    if (address === this.lastAddress) {
      const last = this.lastChannel as Channel;
      if (!last.isClosed) return last;
    }
    const channel = this.byAddress.get(address);
    if (channel === undefined || channel.isClosed) return undefined;
    this.lastAddress = address;
    this.lastChannel = channel;
    return channel;
  }

  /** Every change to the table goes through here, so `live`'s last answer never outlives it. */
  private changed(): void {
    this.lastAddress = null;
    this.lastChannel = null;
  }

  /** The address `channel` was opened for, while it is open. */
  addressOf(channel: Channel): string | undefined {
    return this.opened.get(channel);
  }

  /**
   * The connection to `address`, opened if there is none, for a call that
   * began at `startedAt` with `timeoutMs` to spend: it rejects with
   * RemotingConnectError when the attempt fails, or when the call's own time
   * runs out first (the attempt goes on for the others waiting on it).
   */
  get(address: string, timeoutMs: number, startedAt: number): Promise<Channel> {
    const live = this.live(address);
    if (live !== undefined) return Promise.resolve(live);
    if (this.stopped) return Promise.reject(new RemotingShutdownError('client'));
    let attempt = this.connecting.get(address);
    if (attempt === undefined) {
      attempt = this.open(address).finally(() => this.connecting.delete(address));
      this.connecting.set(address, attempt);
    }
    return waitForAttempt(attempt, address, timeoutMs, startedAt);
  }

  /** Drops the connection to `address` (if it is still `channel`) and closes it at once; the next call reconnects. */
  drop(address: string, channel?: Channel): void {
    const current = this.byAddress.get(address);
    if (current === undefined || (channel !== undefined && current !== channel)) return;
    this.byAddress.delete(address);
    this.changed();
    current.destroy();
  }

  /**
   * Takes `channel` out of the table but leaves it open: the peer said GO_AWAY,
   * so new calls need a new connection while the calls already on this one
   * get their answers (the peer closes it once it has drained).
   */
  retire(channel: Channel): void {
    const address = this.opened.get(channel);
    if (address !== undefined && this.byAddress.get(address) === channel) {
      this.byAddress.delete(address);
      this.changed();
    }
  }

  /** Refuses new connections, closes every open one after flushing what is queued, and waits for their close. */
  async shutdown(): Promise<void> {
    this.stopped = true;
    // Not the table: a failed call may have dropped a channel from it whose 'close' is still to come.
    const closing = [...this.opened.keys()].map((channel) => {
      channel.close();
      return channel.whenClosed();
    });
    this.byAddress.clear();
    this.changed();
    await Promise.all(closing);
  }

  private async open(address: string): Promise<Channel> {
    const socket = await connectSocket(address, {
      timeoutMs: this.options.connectTimeoutMs,
      tls: this.options.tls,
    });
    if (this.stopped) {
      socket.destroy();
      throw new RemotingShutdownError('client');
    }
    const channel = new Channel(socket, this.options.channel);
    this.byAddress.set(address, channel);
    this.changed();
    this.opened.set(channel, address);
    channel.on('close', () => {
      this.opened.delete(channel);
      if (this.byAddress.get(address) === channel) {
        this.byAddress.delete(address);
        this.changed();
      }
    });
    this.attach(channel, address);
    return channel;
  }
}

/**
 * Waits for a shared connect attempt until the caller's own deadline. Only
 * calls that connect get here: a call on an open connection never does.
 */
function waitForAttempt(
  attempt: Promise<Channel>,
  address: string,
  timeoutMs: number,
  startedAt: number,
): Promise<Channel> {
  const outOfTime = () =>
    new RemotingConnectError(
      address,
      Math.round(performance.now() - startedAt),
      timeoutMs,
      new Error("the call's timeout ran out while the connection was being established"),
    );
  const remainingMs = startedAt + timeoutMs - performance.now();
  if (remainingMs <= 0) return Promise.reject(outOfTime());
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(outOfTime()), remainingMs);
    attempt.then(
      (channel) => {
        clearTimeout(timer);
        resolve(channel);
      },
      (error: unknown) => {
        clearTimeout(timer);
        reject(error);
      },
    );
  });
}
