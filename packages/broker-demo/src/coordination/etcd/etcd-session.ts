import { type Etcd3, EtcdLeaseInvalidError, type Lease } from 'etcd3';
import { sleep } from '../../util/time.js';
import { ETCD_CLIENT_TIMINGS } from './etcd-client.js';
import type { EtcdClusterMirror } from './etcd-cluster-mirror.js';
import { type BrokerRegistrationRecord, encodeRecord } from './etcd-records.js';

/** The session's timings, named. */
export const ETCD_SESSION_TIMINGS = {
  /**
   * The session counts as lost this long before its lease could expire in
   * etcd: the broker stops acknowledging before anyone can have declared it
   * dead. It covers the gap between two clocks' rates and a slow event loop.
   */
  safetyMarginMs: 250,
  /** After a failed keepalive, the next one comes this soon rather than a third of the TTL later. */
  retryMs: 250,
} as const;

export interface EtcdSessionOptions {
  client: Etcd3;
  mirror: EtcdClusterMirror;
  /** The lease's time to live: a broker silent this long is dead to the cluster. */
  ttlSeconds: number;
  registrationKey: string;
  registration: BrokerRegistrationRecord;
  say: (line: string) => void;
  now?: () => number;
}

/** How often the session looks at the clock to log the moment it stops being valid. */
const VALIDITY_LOG_INTERVAL_MS = 100;

type SessionPhase = 'registering' | 'registered' | 'stopped';

/**
 * A broker's session with the cluster (Kafka's ZooKeeper session): a lease,
 * kept alive by the broker, and the broker's registration key under it. When
 * the lease expires etcd deletes the key and the controller declares the
 * broker dead.
 *
 * The broker must stop acting as a leader before that can happen. Each
 * keepalive etcd answers proves the lease alive until (send time + TTL), since
 * etcd restarted the TTL after the keepalive was sent; the session is valid
 * only until then, less a margin. A broker cut off from etcd therefore fences
 * itself before its lease can expire, let alone before a new leader is elected.
 * A lease etcd says is gone is replaced by a new one and the broker registers
 * again (a new broker epoch); it counts as valid only once its copy of the
 * cluster state has caught up with that registration, so it has seen every
 * election made while it was away.
 */
export class EtcdSession {
  private readonly options: EtcdSessionOptions;
  private readonly now: () => number;
  private phase: SessionPhase = 'registering';
  private lease: Lease | null = null;
  private validUntilMs = 0;
  /** The etcd revision of our current registration; the copy must reach it before we count as valid. */
  private registeredAt = Number.POSITIVE_INFINITY;
  private loop: Promise<void> | null = null;
  private readonly stopping = new AbortController();
  private unreachable = false;
  private wasValid = false;
  private validityTimer: NodeJS.Timeout | null = null;
  /** The registration's create revision: the broker epoch the controller elects leaders under. */
  brokerEpoch: number | null = null;
  /** The current lease's id (decimal), what an ISR change compares the registration's lease with. */
  leaseId: string | null = null;

  constructor(options: EtcdSessionOptions) {
    this.options = options;
    this.now = options.now ?? Date.now;
  }

  start(): void {
    this.loop ??= this.run();
    // The moment validity runs out passes without any answer arriving: a timer logs it.
    this.validityTimer ??= setInterval(() => this.noteValidity(), VALIDITY_LOG_INTERVAL_MS);
  }

  /** Whether the broker may act as leader now (see the class comment). */
  valid(): boolean {
    return (
      this.phase === 'registered' &&
      this.now() < this.validUntilMs &&
      this.options.mirror.state.revision >= this.registeredAt
    );
  }

  /** Ends the session: the lease is revoked, so the registration goes at once and leaderships move without waiting for a TTL. */
  async stop(): Promise<void> {
    this.phase = 'stopped';
    this.stopping.abort();
    if (this.validityTimer !== null) clearInterval(this.validityTimer);
    await this.loop;
    await this.lease?.revoke().catch(() => undefined);
  }

  private async run(): Promise<void> {
    const signal = this.stopping.signal;
    while (!signal.aborted) {
      const lease = await this.grantLease();
      if (lease === null) return;
      if (!(await this.register(lease))) continue;
      await this.keepAlive(lease);
    }
  }

  /** A fresh lease, retried until etcd grants one. */
  private async grantLease(): Promise<Lease | null> {
    const signal = this.stopping.signal;
    while (!signal.aborted) {
      const lease = this.options.client.lease(this.options.ttlSeconds, { autoKeepAlive: false });
      lease.on('lost', () => undefined);
      const sentAt = this.now();
      try {
        this.leaseId = await lease.grant();
        this.lease = lease;
        this.validUntilMs = sentAt + this.options.ttlSeconds * 1000 - ETCD_SESSION_TIMINGS.safetyMarginMs;
        return lease;
      } catch (err) {
        this.noteUnreachable(err);
        await sleep(ETCD_SESSION_TIMINGS.retryMs, signal);
      }
    }
    return null;
  }

  /**
   * Creates the registration key under `lease` if nobody holds it. A previous
   * process of this broker may still hold it under its own lease (killed less
   * than a TTL ago): we wait for that lease to expire, as Kafka's broker
   * waits for its old ephemeral node, keeping ours alive meanwhile.
   */
  private async register(lease: Lease): Promise<boolean> {
    const { client, registrationKey, registration, mirror } = this.options;
    const signal = this.stopping.signal;
    let waitingSaid = false;
    while (!signal.aborted) {
      try {
        const result = await client
          .if(registrationKey, 'Create', '==', 0)
          .then(client.put(registrationKey).value(encodeRecord(registration)).lease(this.leaseId!))
          .else(client.get(registrationKey))
          .commit();
        if (result.succeeded) {
          this.brokerEpoch = Number(result.header.revision);
          this.registeredAt = this.brokerEpoch;
          this.phase = 'registered';
          this.unreachable = false;
          this.options.say(
            `registered in etcd as broker ${registration.id} at ${registration.host}:${registration.port} ` +
              `(lease ${this.leaseId}, broker epoch ${this.brokerEpoch}, TTL ${this.options.ttlSeconds} s)`,
          );
          return true;
        }
        const holder = result.responses[0]?.response_range?.kvs[0];
        if (holder !== undefined && holder.lease === this.leaseId) {
          // Our own earlier attempt went through, its answer lost (a timeout): it stands.
          this.brokerEpoch = Number(holder.create_revision);
          this.registeredAt = this.brokerEpoch;
          this.phase = 'registered';
          this.options.say(
            `registered in etcd as broker ${registration.id} (an earlier attempt's answer was lost; ` +
              `lease ${this.leaseId}, broker epoch ${this.brokerEpoch})`,
          );
          return true;
        }
        if (!waitingSaid) {
          this.options.say(
            `broker ${registration.id} is still registered under lease ${holder?.lease ?? '?'} ` +
              '(a previous process of this broker); waiting for that lease to expire',
          );
          waitingSaid = true;
        }
        // Woken by the copy seeing the key go; the keepalive keeps our lease meanwhile.
        await Promise.race([
          mirror.waitUntil((s) => !s.brokers.has(registration.id), this.options.ttlSeconds * 1000),
          sleep(this.options.ttlSeconds * 1000, signal),
        ]);
        await this.keepaliveOnce(lease);
      } catch (err) {
        if (err instanceof EtcdLeaseInvalidError) return false;
        this.noteUnreachable(err);
        await sleep(ETCD_SESSION_TIMINGS.retryMs, signal);
      }
    }
    return false;
  }

  /** Keeps `lease` alive until etcd says it is gone (or `stop()`); each answer extends the validity. */
  private async keepAlive(lease: Lease): Promise<void> {
    const signal = this.stopping.signal;
    const intervalMs = Math.max(200, Math.floor((this.options.ttlSeconds * 1000) / 3));
    while (!signal.aborted) {
      let next = intervalMs;
      try {
        await this.keepaliveOnce(lease);
      } catch (err) {
        if (err instanceof EtcdLeaseInvalidError) {
          this.phase = 'registering';
          this.options.say(
            `etcd says lease ${this.leaseId} has expired: this broker was declared dead; registering again`,
          );
          this.noteValidity();
          return;
        }
        this.noteUnreachable(err);
        next = ETCD_SESSION_TIMINGS.retryMs;
      }
      this.noteValidity();
      await sleep(next, signal);
    }
  }

  /**
   * One keepalive round trip. Validity runs from the send time: etcd reset
   * the TTL no earlier than that. A lease that is still alive after a long
   * silence (etcd itself was down, and extends every lease when it is back)
   * is simply kept.
   */
  private async keepaliveOnce(lease: Lease): Promise<void> {
    const sentAt = this.now();
    const timeoutMs = Math.min(ETCD_CLIENT_TIMINGS.callTimeoutMs, (this.options.ttlSeconds * 1000) / 3);
    const answer = await lease.keepaliveOnce({ deadline: sentAt + timeoutMs });
    const ttlMs = Number(answer.TTL) * 1000;
    this.validUntilMs = Math.max(this.validUntilMs, sentAt + ttlMs - ETCD_SESSION_TIMINGS.safetyMarginMs);
    if (this.unreachable) this.options.say('etcd reachable again; session kept alive');
    this.unreachable = false;
  }

  private noteUnreachable(err: unknown): void {
    if (this.unreachable) return;
    this.unreachable = true;
    const left = Math.max(0, this.validUntilMs - this.now());
    this.options.say(
      `etcd unreachable (${err instanceof Error ? err.message : String(err)}); ` +
        (this.phase === 'registered'
          ? `session valid for ${left} ms more unless a keepalive gets through`
          : 'not registered yet; retrying'),
    );
  }

  /** Logs the moments the session stops or starts being valid (the broker is fenced, or no longer). */
  private noteValidity(): void {
    const valid = this.valid();
    if (valid === this.wasValid) return;
    this.wasValid = valid;
    this.options.say(
      valid
        ? 'session valid: acting as leader where elected'
        : 'session no longer provably alive: FENCED (no acks=all write is acknowledged, no metadata answered)',
    );
  }
}
