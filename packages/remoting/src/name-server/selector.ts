import { RemotingShutdownError } from '../remoting/errors.js';
import type { Channel } from '../transport/channel.js';
import { AvailabilityScanner } from './availability-scanner.js';
import { type NameServerAttempt, NameServerUnavailableError } from './errors.js';
import { NameServerList, type NameServerStats } from './list.js';

/** The client's channel table, as far as choosing a name server needs it. */
export interface ChannelSource {
  /** The open connection to `address`, if there is one. */
  live(address: string): Channel | undefined;
  /** The connection to `address`, opened if needed; concurrent callers share one attempt. */
  open(address: string, timeoutMs: number): Promise<Channel>;
}

export interface NameServerSelectorOptions {
  connectTimeoutMs: number;
  /** Probe every server this often; absent means no scan. */
  scanIntervalMs?: number;
}

/** A chosen name server and its open connection. */
export interface ResolvedChannel {
  address: string;
  channel: Channel;
}

/**
 * A search may outlive its own deadline by a connect it shares with a probe
 * that has a longer timeout; this long past the deadline, the call stops waiting.
 */
const STARTER_GRACE_MS = 20;

/** How far a search for a reachable server has got. */
interface SearchProgress {
  readonly candidates: string[];
  readonly attempts: NameServerAttempt[];
  current: { address: string; since: number } | null;
}

/** One search, shared by every call that needs a server meanwhile. */
interface Choosing {
  readonly promise: Promise<ResolvedChannel>;
  readonly progress: SearchProgress;
}

/**
 * Where calls with no address go (RocketMQ's getAndCreateNameserverChannel):
 * the chosen server while its connection is open; otherwise the next servers
 * round-robin, each connect bounded by what is left of the call's timeout,
 * until one answers. Calls arriving during a search join it, so concurrent
 * first calls open one connection.
 */
export class NameServerSelector {
  private readonly list = new NameServerList();
  private choosing: Choosing | null = null;
  private stopped = false;
  private readonly scanner: AvailabilityScanner | null;

  constructor(
    private readonly source: ChannelSource,
    private readonly options: NameServerSelectorOptions,
  ) {
    this.scanner =
      options.scanIntervalMs === undefined
        ? null
        : new AvailabilityScanner(
            () => this.list.list(),
            (address) => this.probe(address),
            options.scanIntervalMs,
          );
  }

  /** The chosen server if its connection is open: the fast path, no promise. */
  current(): ResolvedChannel | undefined {
    const address = this.list.chosen;
    if (address === null) return undefined;
    const channel = this.source.live(address);
    if (channel === undefined) return undefined;
    this.list.markReachable(address, Date.now());
    return { address, channel };
  }

  /** The chosen server's connection, choosing one if needed, within `timeoutMs` of `startedAt`. */
  async channel(timeoutMs: number, startedAt: number): Promise<ResolvedChannel> {
    const live = this.current();
    if (live !== undefined) return live;
    if (this.list.size === 0) {
      throw new NameServerUnavailableError([], Math.round(performance.now() - startedAt), timeoutMs);
    }
    const deadline = startedAt + timeoutMs;
    const joined = this.choosing;
    const choosing = joined ?? this.startChoosing(deadline, startedAt, timeoutMs);
    try {
      // The search bounds its own connects by the deadline of the call that started it; the grace
      // lets that call see the search's own verdict rather than its timer's.
      const waitUntil = joined === null ? deadline + STARTER_GRACE_MS : deadline;
      return await this.waitFor(choosing, waitUntil, startedAt, timeoutMs);
    } catch (error) {
      // A search started by a call with less time left gave up on servers this call still has time for.
      const gaveUpEarly =
        error instanceof NameServerUnavailableError && error.attempts.some((a) => a.outcome === 'not-tried');
      if (joined !== null && gaveUpEarly && deadline - performance.now() >= 1) {
        return this.channel(timeoutMs, startedAt);
      }
      throw error;
    }
  }

  /** Replaces the list; returns the chosen address if the update dropped it (the caller closes its channel). */
  update(addresses: readonly string[]): string | null {
    const { changed, droppedChosen } = this.list.update(addresses);
    if (changed && this.scanner !== null && !this.stopped) {
      // New addresses are probed at once rather than at the next tick.
      if (this.scanner.running) this.scanner.scanNow();
      else this.scanner.start();
    }
    return droppedChosen;
  }

  addresses(): string[] {
    return this.list.list();
  }

  available(): string[] {
    return this.list.available();
  }

  /** A connection to `address` closed: if it was the chosen server's, the next call chooses again. */
  channelClosed(address: string): void {
    if (this.source.live(address) === undefined) this.list.clearChoice(address);
  }

  /** `address` answered GO_AWAY (it is shutting down): the next call chooses again and tries it last. */
  goneAway(address: string): void {
    this.list.clearChoice(address);
    this.list.markUnreachable(address, Date.now(), 'answered GO_AWAY: the server is shutting down');
  }

  stats(): NameServerStats {
    return this.list.snapshot(this.scanner?.running ?? false);
  }

  stop(): void {
    this.stopped = true;
    this.scanner?.stop();
  }

  private startChoosing(deadline: number, startedAt: number, timeoutMs: number): Choosing {
    const progress: SearchProgress = { candidates: this.list.candidates(), attempts: [], current: null };
    const choosing: Choosing = {
      progress,
      promise: this.search(progress, deadline, startedAt, timeoutMs).finally(() => {
        if (this.choosing === choosing) this.choosing = null;
      }),
    };
    this.choosing = choosing;
    return choosing;
  }

  /** Tries the candidates in order until one connects; RocketMQ's loop, bounded by the call's deadline. */
  private async search(
    progress: SearchProgress,
    deadline: number,
    startedAt: number,
    timeoutMs: number,
  ): Promise<ResolvedChannel> {
    const { attempts } = progress;
    for (const address of progress.candidates) {
      const remainingMs = deadline - performance.now();
      if (remainingMs < 1) {
        attempts.push({ address, outcome: 'not-tried', elapsedMs: 0 });
        continue;
      }
      const since = performance.now();
      progress.current = { address, since };
      try {
        const channel = await this.source.open(address, remainingMs);
        // An update during the connect may have dropped it from the list: look further.
        if (this.list.choose(address, Date.now())) return { address, channel };
      } catch (error) {
        if (error instanceof RemotingShutdownError) throw error;
        const failure = error instanceof Error ? error : new Error(String(error));
        attempts.push({
          address,
          outcome: 'connect-failed',
          elapsedMs: Math.round(performance.now() - since),
          error: failure,
        });
        this.list.markUnreachable(address, Date.now(), failure.message);
      } finally {
        progress.current = null;
      }
    }
    throw new NameServerUnavailableError(attempts, Math.round(performance.now() - startedAt), timeoutMs);
  }

  /**
   * Waits for a search, but no longer than this call's own deadline: a call
   * that joined a search started by a call with a longer timeout still fails
   * on time, naming what the search had done so far.
   */
  private async waitFor(
    choosing: Choosing,
    waitUntil: number,
    startedAt: number,
    timeoutMs: number,
  ): Promise<ResolvedChannel> {
    let timer: NodeJS.Timeout | undefined;
    const expired = new Promise<never>((_, reject) => {
      timer = setTimeout(
        () => reject(this.unfinishedSearchError(choosing, startedAt, timeoutMs)),
        Math.max(0, waitUntil - performance.now()),
      );
    });
    try {
      return await Promise.race([choosing.promise, expired]);
    } finally {
      clearTimeout(timer);
    }
  }

  private unfinishedSearchError(choosing: Choosing, startedAt: number, timeoutMs: number) {
    const now = performance.now();
    const { progress } = choosing;
    const attempts = [...progress.attempts];
    const current = progress.current;
    if (current !== null) {
      attempts.push({
        address: current.address,
        outcome: 'in-progress',
        elapsedMs: Math.round(now - current.since),
      });
    }
    const named = new Set(attempts.map((a) => a.address));
    for (const address of progress.candidates) {
      if (!named.has(address)) attempts.push({ address, outcome: 'not-tried', elapsedMs: 0 });
    }
    return new NameServerUnavailableError(attempts, Math.round(now - startedAt), timeoutMs);
  }

  /** One scan of one server: an open connection or a new one means available (RocketMQ keeps it open too). */
  private async probe(address: string): Promise<void> {
    try {
      await this.source.open(address, this.options.connectTimeoutMs);
      this.list.markReachable(address, Date.now());
    } catch (error) {
      if (error instanceof RemotingShutdownError) return;
      this.list.markUnreachable(address, Date.now(), error instanceof Error ? error.message : String(error));
    }
  }
}
