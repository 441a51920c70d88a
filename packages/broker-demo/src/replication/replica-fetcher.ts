import { RemotingCommand, RemotingError, ResponseCode } from '@remoting-ts/remoting';
import { isTransportError, type RpcClient } from '../net/rpc.js';
import { BrokerResponseCode, brokerErrorName, RequestCode } from '../protocol/codes.js';
import {
  FetchRequestHeader,
  FetchResponseHeader,
  header,
  OffsetsForLeaderEpochRequestHeader,
  OffsetsForLeaderEpochResponseHeader,
} from '../protocol/headers.js';
import { sleep } from '../util/time.js';
import type { Partition } from './partition.js';
import { truncationOffset } from './truncation.js';

export interface ReplicaFetcherOptions {
  client: RpcClient;
  brokerId: number;
  partition: Partition;
  leaderId: number;
  leaderEpoch: number;
  /** The leader's current address; it changes when the leader restarts on a new port. */
  leaderAddress: () => string | undefined;
  maxWaitMs: number;
  maxBytes: number;
  /** True while an admin has paused this broker's fetchers (the scenarios hold followers behind with it). */
  paused: () => boolean;
  say: (line: string) => void;
}

/**
 * The pause after a failed fetch (Kafka's replica.fetch.backoff.ms, 1 s
 * there; shorter here to suit the demo's short timeouts). Without it a
 * follower of a deposed or restarting leader would spin on refusals.
 */
const RETRY_BACKOFF_MS = 200;

/** A truncation asked of the fetcher from outside its loop (a corrupt batch to fetch again). */
interface RequestedTruncation {
  offset: number;
  reason: string;
  done: Array<{ resolve: () => void; reject: (err: unknown) => void }>;
}

/**
 * A follower's replication loop for one partition (Kafka's
 * ReplicaFetcherThread, one per partition here): first truncate to where this
 * log and the leader's diverge (KIP-101/KIP-279, by leader epoch), then
 * long-poll fetch from the LEO, append the leader's batches as they are, and
 * take the leader's HW from each answer.
 *
 * While it runs, the loop is the only writer of the follower's log: every
 * truncation, its own or one asked for through `truncateTo`, happens between
 * two of its requests. So a fetch always carries the LEO the log has (it is
 * how the leader learns what this follower holds, and the HW is computed
 * from it), and an answer is never appended to a log cut under it.
 */
export class ReplicaFetcher {
  private readonly options: ReplicaFetcherOptions;
  /** Aborted by `stop()`. */
  private readonly stopping = new AbortController();
  /** Aborted to cancel the request in flight (a truncation was asked for); replaced after each use. */
  private interrupt = new AbortController();
  private requested: RequestedTruncation | null = null;
  private loop: Promise<void> | null = null;

  constructor(options: ReplicaFetcherOptions) {
    this.options = options;
  }

  get leaderId(): number {
    return this.options.leaderId;
  }

  get leaderEpoch(): number {
    return this.options.leaderEpoch;
  }

  start(): void {
    this.loop ??= this.run();
  }

  /**
   * Stops fetching: the request in flight (a parked long-poll, usually) is
   * cancelled, not left to time out in the client's response table. Resolves
   * once no append or truncation of this fetcher is running.
   */
  async stop(): Promise<void> {
    this.stopping.abort();
    this.interrupt.abort();
    await this.loop;
    const requested = this.requested;
    this.requested = null;
    for (const waiter of requested?.done ?? []) {
      waiter.reject(new Error(`fetcher of ${this.key} stopped before truncating to ${requested?.offset}`));
    }
  }

  /**
   * Cuts the follower's log at `offset` from inside the fetch loop: the
   * request in flight is cancelled, the log cut, and the next fetch starts
   * from the new LEO. Resolves once the log is cut (at once if it already
   * ends there); rejects if the fetcher stops first.
   */
  truncateTo(offset: number, reason: string): Promise<void> {
    if (this.stopping.signal.aborted) {
      return Promise.reject(new Error(`fetcher of ${this.key} is stopped`));
    }
    return new Promise((resolve, reject) => {
      const r = this.requested;
      if (r === null) this.requested = { offset, reason, done: [{ resolve, reject }] };
      else {
        r.done.push({ resolve, reject });
        if (offset < r.offset) {
          r.offset = offset;
          r.reason = reason;
        }
      }
      this.interrupt.abort();
    });
  }

  private get stopped(): boolean {
    return this.stopping.signal.aborted;
  }

  private get key(): string {
    return `${this.options.partition.topic}-${this.options.partition.partition}`;
  }

  /** The options of every call: cancelled by `stop()` or by a requested truncation. */
  private callOptions(): { signal: AbortSignal } {
    return { signal: this.interrupt.signal };
  }

  private async run(): Promise<void> {
    const { say } = this.options;
    // Every fetcher starts by truncating: it exists for one (leader, epoch),
    // and a new epoch may mean our tail was never the leader's (KIP-101).
    let needTruncation = true;
    while (!this.stopped) {
      if (this.requested !== null) {
        await this.applyRequestedTruncation();
        continue;
      }
      const address = this.options.leaderAddress();
      if (this.options.paused() || address === undefined) {
        await sleep(100, this.interrupt.signal);
        continue;
      }
      try {
        if (needTruncation) {
          if ((await this.truncateToLeader(address)) === 'done') needTruncation = false;
          continue;
        }
        const outcome = await this.fetchOnce(address);
        if (outcome === 'truncate') needTruncation = true;
        else if (outcome === 'backoff') await sleep(RETRY_BACKOFF_MS, this.interrupt.signal);
      } catch (err) {
        if (this.stopped) break;
        // Cancelled for a requested truncation: the loop takes it next.
        if (isAbort(err) && this.requested !== null) continue;
        // A leader restarting is routine: its connection errors are expected
        // and the controller's next state will say where to fetch from.
        if (!isTransportError(err)) say(`[${this.key}] fetcher: ${String(err)}`);
        await sleep(RETRY_BACKOFF_MS, this.interrupt.signal);
      }
    }
  }

  private async applyRequestedTruncation(): Promise<void> {
    const requested = this.requested!;
    this.requested = null;
    // Taken: calls from here on run until the next request (or stop) cancels them.
    if (!this.stopped) this.interrupt = new AbortController();
    const { partition, say } = this.options;
    try {
      if (requested.offset < partition.log.logEndOffset) {
        say(
          `[${this.key}] truncating ${partition.log.logEndOffset} -> ${requested.offset} (${requested.reason})`,
        );
        await partition.truncateTo(requested.offset);
      }
      for (const waiter of requested.done) waiter.resolve();
    } catch (err) {
      for (const waiter of requested.done) waiter.reject(err);
    }
  }

  private async fetchOnce(address: string): Promise<'ok' | 'truncate' | 'backoff'> {
    const { partition, client, brokerId, maxWaitMs, maxBytes } = this.options;
    const request = RemotingCommand.createRequest(
      RequestCode.FETCH,
      header(FetchRequestHeader, {
        topic: partition.topic,
        partition: partition.partition,
        // The fetch offset is our LEO: it is how the leader learns it.
        fetchOffset: partition.log.logEndOffset,
        maxBytes,
        maxWaitMs,
        replicaId: brokerId,
        currentLeaderEpoch: this.options.leaderEpoch,
        // Lets the leader answer at once when its HW is ahead of ours, even
        // with no new data, so our consumers are not held a long-poll behind.
        replicaHighWatermark: partition.highWatermark,
      }),
    );
    const response = await client.invokeSync(address, request, maxWaitMs + 5000, this.callOptions());
    // Paused while this long-poll was parked: holding a follower behind means
    // not appending what arrives after the pause either. Asked to truncate:
    // this answer continues a log that is about to be cut.
    if (this.options.paused() || this.requested !== null || this.stopped) return 'ok';
    if (response.code === ResponseCode.SUCCESS) {
      const h = response.decodeCustomHeader(FetchResponseHeader);
      if (response.body !== null && response.body.length > 0) {
        await partition.appendFromLeader(response.body);
      }
      partition.updateFollowerHighWatermark(h.highWatermark);
      return 'ok';
    }
    if (response.code === BrokerResponseCode.OFFSET_OUT_OF_RANGE) {
      // Ahead of the leader (an unclean election put a shorter log in charge):
      // Kafka truncates to the leader's LEO.
      const leaderLeo = Number(response.getExtField('logEndOffset'));
      if (Number.isFinite(leaderLeo) && leaderLeo < partition.log.logEndOffset) {
        this.options.say(
          `[${this.key}] ahead of leader (LEO ${partition.log.logEndOffset} > ${leaderLeo}): truncating`,
        );
        await partition.truncateTo(leaderLeo);
        return 'ok';
      }
      // Not ahead of the leader (below its log start, or no LEO in the
      // answer): check again where our logs diverge before the next fetch.
      return 'truncate';
    }
    // NOT_LEADER, FENCED / UNKNOWN_LEADER_EPOCH: the controller's next word will sort it out.
    if (response.code !== BrokerResponseCode.NOT_LEADER) {
      this.options.say(
        `[${this.key}] fetch from ${this.options.leaderId}: ` +
          `${brokerErrorName(response.code) ?? response.code} ${response.remark ?? ''}`,
      );
    }
    return 'backoff';
  }

  /**
   * KIP-101: ask the leader where our latest epoch ends in its log and cut
   * ours there. If the leader knows only an older epoch (KIP-279), cut at the
   * smaller of its end offset and ours for that epoch. 'interrupted' when a
   * requested truncation or a stop came first, or the leader was not leading
   * yet: it is asked again after.
   */
  private async truncateToLeader(address: string): Promise<'done' | 'interrupted'> {
    const { partition, client } = this.options;
    const log = partition.log;
    const myEpoch = log.latestEpoch();
    // An empty log cannot diverge from anything.
    if (myEpoch < 0 || log.logEndOffset === 0) return 'done';
    const request = RemotingCommand.createRequest(
      RequestCode.OFFSETS_FOR_LEADER_EPOCH,
      header(OffsetsForLeaderEpochRequestHeader, {
        topic: partition.topic,
        partition: partition.partition,
        leaderEpoch: myEpoch,
        currentLeaderEpoch: this.options.leaderEpoch,
      }),
    );
    const response = await client.invokeSync(address, request, 5000, this.callOptions());
    if (this.requested !== null || this.stopped) return 'interrupted';
    // A leader that is not (yet, or any more) the leader: routine while leadership moves; the
    // controller's next state says where to go. Asked again after the backoff.
    if (response.code === BrokerResponseCode.NOT_LEADER) {
      await sleep(RETRY_BACKOFF_MS, this.interrupt.signal);
      return 'interrupted';
    }
    if (response.code !== ResponseCode.SUCCESS) {
      throw new Error(
        `OffsetsForLeaderEpoch answered ${brokerErrorName(response.code) ?? response.code}: ${response.remark ?? ''}`,
      );
    }
    const answer = response.decodeCustomHeader(OffsetsForLeaderEpochResponseHeader);
    const target = truncationOffset({
      followerEpoch: myEpoch,
      followerLogEndOffset: log.logEndOffset,
      followerLogStartOffset: log.logStartOffset,
      leaderEpoch: answer.leaderEpoch,
      leaderEndOffset: answer.endOffset,
      followerEndOffsetForEpoch: (epoch) => log.endOffsetForEpoch(epoch).endOffset,
    });
    if (target < log.logEndOffset) {
      this.options.say(
        `[${this.key}] truncating ${log.logEndOffset} -> ${target} ` +
          `(our epoch ${myEpoch}; leader's epoch ${answer.leaderEpoch} ends at ${answer.endOffset})`,
      );
      await partition.truncateTo(target);
    }
    return 'done';
  }
}

function isAbort(err: unknown): boolean {
  return err instanceof RemotingError && err.code === 'REMOTING_ABORTED';
}
