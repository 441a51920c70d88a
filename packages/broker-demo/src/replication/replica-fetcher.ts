import { RemotingCommand, ResponseCode } from '@remoting-ts/remoting';
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

/**
 * A follower's replication loop for one partition (Kafka's
 * ReplicaFetcherThread, one per partition here): first truncate to where this
 * log and the leader's diverge (KIP-101/KIP-279, by leader epoch), then
 * long-poll fetch from the LEO, append the leader's batches as they are, and
 * take the leader's HW from each answer.
 */
export class ReplicaFetcher {
  private readonly options: ReplicaFetcherOptions;
  private readonly abort = new AbortController();
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

  /** Stops fetching; resolves once no append or truncation of this fetcher is running. */
  async stop(): Promise<void> {
    this.abort.abort();
    await this.loop;
  }

  private get stopped(): boolean {
    return this.abort.signal.aborted;
  }

  private async run(): Promise<void> {
    const { partition, say } = this.options;
    // Every fetcher starts by truncating: it exists for one (leader, epoch),
    // and a new epoch may mean our tail was never the leader's (KIP-101).
    let needTruncation = true;
    while (!this.stopped) {
      const address = this.options.leaderAddress();
      if (this.options.paused() || address === undefined) {
        await sleep(100, this.abort.signal);
        continue;
      }
      try {
        if (needTruncation) {
          await this.truncateToLeader(address);
          needTruncation = false;
          continue;
        }
        const outcome = await this.fetchOnce(address);
        if (outcome === 'truncate') needTruncation = true;
        else if (outcome === 'backoff') await sleep(RETRY_BACKOFF_MS, this.abort.signal);
      } catch (err) {
        if (this.stopped) break;
        // A leader restarting is routine: its connection errors are expected
        // and the controller's next state will say where to fetch from.
        if (!isTransportError(err))
          say(`[${partition.topic}-${partition.partition}] fetcher: ${String(err)}`);
        await sleep(RETRY_BACKOFF_MS, this.abort.signal);
      }
    }
  }

  private async fetchOnce(address: string): Promise<'ok' | 'truncate' | 'backoff' | 'stopped'> {
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
    const response = await this.untilStopped(client.invokeSync(address, request, maxWaitMs + 5000));
    if (response === null) return 'stopped';
    // Paused while this long-poll was parked: holding a follower behind means
    // not appending what arrives after the pause either.
    if (this.options.paused()) return 'ok';
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
          `[${partition.topic}-${partition.partition}] ahead of leader (LEO ${partition.log.logEndOffset} > ${leaderLeo}): truncating`,
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
        `[${partition.topic}-${partition.partition}] fetch from ${this.options.leaderId}: ` +
          `${brokerErrorName(response.code) ?? response.code} ${response.remark ?? ''}`,
      );
    }
    return 'backoff';
  }

  /**
   * KIP-101: ask the leader where our latest epoch ends in its log and cut
   * ours there. If the leader knows only an older epoch (KIP-279), cut at the
   * smaller of its end offset and ours for that epoch.
   */
  private async truncateToLeader(address: string): Promise<void> {
    const { partition, client } = this.options;
    const log = partition.log;
    const myEpoch = log.latestEpoch();
    // An empty log cannot diverge from anything.
    if (myEpoch < 0 || log.logEndOffset === 0) return;
    const request = RemotingCommand.createRequest(
      RequestCode.OFFSETS_FOR_LEADER_EPOCH,
      header(OffsetsForLeaderEpochRequestHeader, {
        topic: partition.topic,
        partition: partition.partition,
        leaderEpoch: myEpoch,
        currentLeaderEpoch: this.options.leaderEpoch,
      }),
    );
    const response = await this.untilStopped(client.invokeSync(address, request, 5000));
    if (response === null) return;
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
        `[${partition.topic}-${partition.partition}] truncating ${log.logEndOffset} -> ${target} ` +
          `(our epoch ${myEpoch}; leader's epoch ${answer.leaderEpoch} ends at ${answer.endOffset})`,
      );
      await partition.truncateTo(target);
    }
  }

  /** The call's result, or null once the fetcher is stopped (the answer, if any, is dropped). */
  private untilStopped<T>(call: Promise<T>): Promise<T | null> {
    if (this.stopped) return Promise.resolve(null);
    return new Promise<T | null>((resolve, reject) => {
      const onAbort = () => resolve(null);
      this.abort.signal.addEventListener('abort', onAbort, { once: true });
      call.then(
        (value) => {
          this.abort.signal.removeEventListener('abort', onAbort);
          resolve(this.stopped ? null : value);
        },
        (err: unknown) => {
          this.abort.signal.removeEventListener('abort', onAbort);
          if (this.stopped) resolve(null);
          else reject(err);
        },
      );
    });
  }
}
