import type { Etcd3, IWatchResponse, Watcher } from 'etcd3';
import { sleep } from '../../util/time.js';
import { toKeyValue } from './etcd-client.js';
import { EtcdClusterState } from './etcd-cluster-state.js';
import type { EtcdKeyLayout } from './etcd-records.js';

/** Waits between attempts to read the cluster's keys while etcd cannot be reached. */
const RELOAD_RETRY_MS = 250;

/**
 * A live copy of the cluster's keys in etcd: one full read, then a watch on
 * the cluster's prefix from the revision after it. Every broker, the
 * controller and the live view keep one; they learn of changes by watching,
 * never by polling.
 *
 * The watch resumes from its last revision after a dropped stream, and on
 * every reconnection the copy is read again whole, so a change that fell
 * between two streams is never missed: events the read already covers (at
 * or below its revision) are skipped, those after it applied.
 */
export class EtcdClusterMirror {
  readonly state: EtcdClusterState;
  private readonly listeners = new Set<() => void>();
  private readonly revisionWaiters = new Set<{ revision: number; resolve: () => void }>();
  private watcher: Watcher | null = null;
  /** While a full read is under way, watch events are held here and applied after it. */
  private held: IWatchResponse[] | null = null;
  private stopped = false;
  private loaded: Promise<void> | null = null;
  private connected = false;

  constructor(
    private readonly client: Etcd3,
    readonly keys: EtcdKeyLayout,
    private readonly say: (line: string) => void,
  ) {
    this.state = new EtcdClusterState(keys, (key, err) =>
      this.say(`etcd key ${key} ignored: ${String(err)}`),
    );
  }

  /** Resolves once the first full read is in (retried until etcd answers, or `stop()`). */
  start(): Promise<void> {
    this.loaded ??= this.loadAndWatch();
    return this.loaded;
  }

  /** Calls `listener` after every change the copy takes in; returns the way to stop. */
  onChange(listener: () => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  /** Whether the watch stream is up: while it is not, the copy may be behind etcd. */
  get watching(): boolean {
    return this.connected;
  }

  /** Resolves once the copy reflects `revision` (or `stop()`). */
  waitForRevision(revision: number): Promise<void> {
    if (this.state.revision >= revision || this.stopped) return Promise.resolve();
    return new Promise((resolve) => this.revisionWaiters.add({ revision, resolve }));
  }

  /**
   * Resolves once the copy has everything etcd had when this was called: a
   * linearizable read gives etcd's current revision, and the watch is waited
   * for up to it. For decisions that must not rest on a copy a moment behind
   * (a member serving the watch may apply a little after the leader).
   */
  async catchUp(): Promise<void> {
    await this.start();
    const now = await this.client.get(this.keys.config).exec();
    await this.waitForRevision(Number(now.header.revision));
  }

  /** Resolves when `ok` holds for the copy, checked after every change; false after `timeoutMs`. */
  waitUntil(ok: (state: EtcdClusterState) => boolean, timeoutMs: number): Promise<boolean> {
    if (ok(this.state)) return Promise.resolve(true);
    return new Promise((resolve) => {
      const timer = setTimeout(() => done(false), timeoutMs);
      const off = this.onChange(() => {
        if (ok(this.state)) done(true);
      });
      const done = (result: boolean) => {
        clearTimeout(timer);
        off();
        resolve(result);
      };
    });
  }

  async stop(): Promise<void> {
    this.stopped = true;
    for (const w of this.revisionWaiters) w.resolve();
    this.revisionWaiters.clear();
    const watcher = this.watcher;
    this.watcher = null;
    await watcher?.cancel().catch(() => undefined);
  }

  private async loadAndWatch(): Promise<void> {
    const revision = await this.readAll();
    if (this.stopped) return;
    this.watch(revision + 1);
  }

  /** Reads every key of the cluster; retried until it succeeds. Returns the read's revision. */
  private async readAll(): Promise<number> {
    let complained = false;
    for (;;) {
      try {
        const response = await this.client.getAll().prefix(this.keys.prefix).exec();
        const revision = Number(response.header.revision);
        this.state.reset(response.kvs.map(toKeyValue), revision);
        if (complained) this.say('etcd answers again; cluster state read');
        return revision;
      } catch (err) {
        if (this.stopped) return this.state.revision;
        if (!complained) this.say(`cannot read the cluster state from etcd (${String(err)}); retrying`);
        complained = true;
        await sleep(RELOAD_RETRY_MS);
      }
    }
  }

  private watch(fromRevision: number): void {
    const watcher = this.client
      .watch()
      .prefix(this.keys.prefix)
      .startRevision(String(fromRevision))
      .watcher();
    this.watcher = watcher;
    let dropped = false;
    watcher.on('connected', () => {
      this.connected = true;
      if (dropped) void this.resync();
      dropped = false;
    });
    watcher.on('disconnected', () => {
      this.connected = false;
      dropped = true;
    });
    watcher.on('data', (response) => {
      if (this.held !== null) this.held.push(response);
      else this.apply(response);
    });
    // The watch was cancelled by etcd (its revision compacted away, say): read
    // everything again and watch anew from there.
    watcher.on('error', (err) => {
      if (this.stopped || this.watcher !== watcher) return;
      this.say(`etcd watch cancelled (${String(err)}); reading the cluster state again`);
      this.connected = false;
      this.watcher = null;
      void watcher.cancel().catch(() => undefined);
      void this.readAll().then((revision) => {
        if (!this.stopped) this.watch(revision + 1);
        this.notify();
      });
    });
  }

  /** After a reconnection: a full read, with watch events held meanwhile and applied past its revision. */
  private async resync(): Promise<void> {
    if (this.held !== null) return;
    this.held = [];
    try {
      await this.readAll();
    } finally {
      const held = this.held ?? [];
      this.held = null;
      for (const response of held) this.apply(response);
      this.notify();
    }
  }

  private apply(response: IWatchResponse): void {
    const covered = this.state.revision;
    let changed = false;
    for (const event of response.events) {
      const kv = toKeyValue(event.kv);
      if (kv.modRevision <= covered) continue;
      if (event.type === 'Put') changed = this.state.put(kv) || changed;
      else changed = this.state.delete(kv.key, kv.modRevision) || changed;
    }
    // A response without events is a progress notification: nothing of ours changed up to its revision.
    if (response.events.length === 0)
      this.state.revision = Math.max(covered, Number(response.header.revision));
    this.notify(changed);
  }

  /** Wakes the revision waiters, and the listeners when something they read changed. */
  private notify(changed = true): void {
    for (const w of this.revisionWaiters) {
      if (this.state.revision >= w.revision) {
        this.revisionWaiters.delete(w);
        w.resolve();
      }
    }
    if (!changed) return;
    for (const listener of this.listeners) {
      try {
        listener();
      } catch (err) {
        this.say(`a cluster state listener failed: ${String(err)}`);
      }
    }
  }
}
