import type { Campaign, Etcd3 } from 'etcd3';
import { sleep } from '../../util/time.js';
import { type PlannedChange, planControllerChanges } from './controller-plan.js';
import type { EtcdClusterMirror } from './etcd-cluster-mirror.js';
import {
  CONTROLLER_ELECTION,
  type ControllerEpochRecord,
  type EtcdKeyLayout,
  encodeRecord,
} from './etcd-records.js';

/** The controller's timings, named. */
export const ETCD_CONTROLLER_TIMINGS = {
  /** After a campaign failed (etcd unreachable), the next one starts this much later. */
  campaignRetryMs: 250,
  /** A pass whose writes lost a race is planned again this soon even if no change arrives. */
  retryPassMs: 250,
  /** With nothing arriving, the copy is looked at again this often (no request to etcd unless work is found). */
  idlePassMs: 1000,
} as const;

export interface EtcdControllerOptions {
  client: Etcd3;
  mirror: EtcdClusterMirror;
  keys: EtcdKeyLayout;
  brokerId: number;
  /** The campaign's lease TTL: how long a dead controller holds the office before another takes over. */
  ttlSeconds: number;
  say: (line: string) => void;
}

/** The term of a broker as controller: its election key and the epoch it claimed. */
export interface ControllerTerm {
  electionKey: string;
  electionRevision: number;
  epoch: number;
}

/** The term ended: the election key is gone, so another broker may be controller (Kafka's ControllerMovedException). */
class Deposed extends Error {
  override readonly name = 'Deposed';
}

/**
 * Every broker campaigns to be the controller (etcd3's Election: the
 * candidate whose key was created first leads); one at a time is. On taking
 * over it claims the next controller epoch, then makes the cluster's
 * decisions from its copy of the state (see controller-plan.ts), each one a
 * transaction that also compares its election key's create revision: once
 * that key is gone (its lease expired, it was cut off) nothing it writes is
 * accepted, whatever it still believes.
 */
export class EtcdController {
  private readonly options: EtcdControllerOptions;
  private readonly stopping = new AbortController();
  private loop: Promise<void> | null = null;
  private campaign: Campaign | null = null;
  private term: ControllerTerm | null = null;
  private wake: (() => void) | null = null;
  private kicked = false;

  constructor(options: EtcdControllerOptions) {
    this.options = options;
  }

  start(): void {
    this.loop ??= this.campaignLoop();
  }

  /** The controller epoch while this broker is the controller, else null. */
  get activeEpoch(): number | null {
    return this.term?.epoch ?? null;
  }

  /** Resigns (revoking the campaign's lease), so another broker takes over at once. */
  async stop(): Promise<void> {
    this.stopping.abort();
    this.wake?.();
    await this.campaign?.resign().catch(() => undefined);
    await this.loop;
  }

  private say(line: string): void {
    this.options.say(`[controller] ${line}`);
  }

  private async campaignLoop(): Promise<void> {
    const { client, keys, brokerId, ttlSeconds } = this.options;
    const signal = this.stopping.signal;
    while (!signal.aborted) {
      const campaign = client
        .namespace(keys.electionNamespace)
        .election(CONTROLLER_ELECTION, ttlSeconds)
        .campaign(String(brokerId));
      this.campaign = campaign;
      // The campaign reports every failure as 'error' (its lease lost, etcd unreachable): it ends the term.
      let onAbort: () => void = () => undefined;
      const ended = new Promise<string>((resolve) => {
        campaign.on('error', (err: Error) => resolve(err.message));
        onAbort = () => resolve('stopping');
        signal.addEventListener('abort', onAbort, { once: true });
      });
      const elected = new Promise<true>((resolve) => campaign.once('elected', () => resolve(true)));
      const outcome = await Promise.race([elected, ended]);
      if (outcome === true && !signal.aborted) {
        try {
          this.term = await this.takeOver(campaign);
          this.say(
            `broker ${brokerId} is the controller: epoch ${this.term.epoch} ` +
              `(election key ${this.term.electionKey} created at revision ${this.term.electionRevision})`,
          );
          const why = await Promise.race([this.lead(this.term), ended]);
          this.say(`controller epoch ${this.term.epoch} ended: ${why}`);
        } catch (err) {
          if (!signal.aborted) this.say(`taking over as controller failed: ${String(err)}`);
        } finally {
          this.term = null;
        }
      } else if (!signal.aborted) {
        this.say(`campaign failed (${String(outcome)}); campaigning again`);
      }
      signal.removeEventListener('abort', onAbort);
      await campaign.resign().catch(() => undefined);
      await sleep(ETCD_CONTROLLER_TIMINGS.campaignRetryMs, signal);
    }
  }

  /** Claims the next controller epoch, fenced by the election key. */
  private async takeOver(campaign: Campaign): Promise<ControllerTerm> {
    const { client, keys, mirror, brokerId } = this.options;
    const electionKey = await campaign.getCampaignKey();
    for (;;) {
      const own = await client.get(electionKey).exec();
      const kv = own.kvs[0];
      if (kv === undefined) throw new Deposed(`election key ${electionKey} is gone`);
      const electionRevision = Number(kv.create_revision);
      await this.untilStopped(mirror.waitForRevision(Number(own.header.revision)));
      if (this.stopping.signal.aborted) throw new Deposed('stopping');
      const previous = mirror.state.controllerEpoch;
      const record: ControllerEpochRecord = {
        epoch: (previous?.record.epoch ?? 0) + 1,
        brokerId,
        electionKey,
        electionRevision,
      };
      const claim = client.if(electionKey, 'Create', '==', electionRevision);
      if (previous === null) claim.and(keys.controllerEpoch, 'Create', '==', 0);
      else claim.and(keys.controllerEpoch, 'Mod', '==', previous.modRevision);
      const result = await claim.then(client.put(keys.controllerEpoch).value(encodeRecord(record))).commit();
      if (result.succeeded) {
        await this.untilStopped(mirror.waitForRevision(Number(result.header.revision)));
        return { electionKey, electionRevision, epoch: record.epoch };
      }
      // Our copy of the epoch was behind: wait until it has the newer one and claim past it.
      await this.untilStopped(mirror.waitForRevision(Number(result.header.revision)));
    }
  }

  /** Makes the cluster's decisions until the term ends (deposed or stopping); resolves with why. */
  private async lead(term: ControllerTerm): Promise<string> {
    const { mirror } = this.options;
    const signal = this.stopping.signal;
    const off = mirror.onChange(() => this.kick());
    try {
      let retrySoon = false;
      while (!signal.aborted) {
        if (!this.kicked) {
          await new Promise<void>((resolve) => {
            this.wake = resolve;
            setTimeout(
              resolve,
              retrySoon ? ETCD_CONTROLLER_TIMINGS.retryPassMs : ETCD_CONTROLLER_TIMINGS.idlePassMs,
            );
          });
          this.wake = null;
        }
        this.kicked = false;
        if (signal.aborted) break;
        retrySoon = false;
        let lastWrite = 0;
        for (const change of planControllerChanges(mirror.state, term.epoch, Date.now())) {
          const revision = await this.execute(term, change);
          if (revision === null) retrySoon = true;
          else lastWrite = revision;
        }
        // The next plan is made from a copy that has our own writes in it.
        if (lastWrite > 0) await this.untilStopped(mirror.waitForRevision(lastWrite));
      }
      return 'stopping';
    } catch (err) {
      if (err instanceof Deposed) return `FENCED: ${err.message}; another broker may be controller now`;
      throw err;
    } finally {
      off();
    }
  }

  /** `wait`, or less once stopping: a copy that cannot catch up (etcd gone) must not hold a shutdown. */
  private untilStopped(wait: Promise<void>): Promise<void> {
    const signal = this.stopping.signal;
    if (signal.aborted) return Promise.resolve();
    return new Promise<void>((resolve) => {
      const done = () => {
        signal.removeEventListener('abort', done);
        resolve();
      };
      signal.addEventListener('abort', done, { once: true });
      void wait.then(done);
    });
  }

  private kick(): void {
    this.kicked = true;
    this.wake?.();
  }

  /**
   * One decision as one transaction: applied only while our election key is
   * the one we were elected with, the partition state is the version the
   * decision was made from, and the elected leader is still registered under
   * the broker epoch it was chosen at. Returns its revision, or null when a
   * compare failed (the next pass decides again from newer state).
   * @throws Deposed when the failure was our own election key
   */
  private async execute(term: ControllerTerm, change: PlannedChange): Promise<number | null> {
    const { client, keys } = this.options;
    let result: Awaited<ReturnType<typeof writeDecision>>;
    try {
      result = await writeDecision(client, keys, term, change);
    } catch (err) {
      this.say(`cannot write to etcd (${String(err)}): ${change.reason} is retried`);
      return null;
    }
    if (result.succeeded) {
      this.say(`${change.reason} (controller epoch ${term.epoch}, revision ${result.header.revision})`);
      return Number(result.header.revision);
    }
    const own = await client
      .get(term.electionKey)
      .exec()
      .catch(() => null);
    const kv = own?.kvs[0];
    if (own !== null && (kv === undefined || Number(kv.create_revision) !== term.electionRevision)) {
      throw new Deposed(
        `a write of controller epoch ${term.epoch} was refused because its election key ${term.electionKey} is gone`,
      );
    }
    return null;
  }
}

/**
 * One controller decision as one etcd transaction: applied only while the
 * term's election key still exists with the revision it was elected at, the
 * partition state is the version the decision was made from, and the elected
 * leader is still registered under the broker epoch it was chosen at.
 */
export function writeDecision(
  client: Etcd3,
  keys: EtcdKeyLayout,
  term: ControllerTerm,
  change: PlannedChange,
) {
  const stateKey = keys.partitionState(change.topic, change.partition);
  const txn = client.if(term.electionKey, 'Create', '==', term.electionRevision);
  if (change.expectedModRevision === 0) txn.and(stateKey, 'Create', '==', 0);
  else txn.and(stateKey, 'Mod', '==', change.expectedModRevision);
  if (change.leaderRegistration !== undefined)
    txn.and(
      keys.brokerRegistration(change.leaderRegistration.brokerId),
      'Create',
      '==',
      change.leaderRegistration.brokerEpoch,
    );
  if (change.resignation !== undefined)
    txn.and(change.resignation.key, 'Mod', '==', change.resignation.modRevision);
  const ops = [];
  if (change.next !== null) ops.push(client.put(stateKey).value(encodeRecord(change.next)));
  if (change.resignation !== undefined) ops.push(client.delete().key(change.resignation.key));
  return txn.then(...ops).commit();
}
