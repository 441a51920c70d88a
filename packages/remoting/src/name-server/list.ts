import { parseAddress } from '../transport/connect.js';

/** What the client knows about one name server. */
export interface NameServerStatus {
  /** The name server's address (`host:port`), as on the list. */
  address: string;
  /** True once reached, false once a connect or probe failed, null before either. */
  available: boolean | null;
  /** Epoch ms the client last reached it (a connect, a probe, a call over its connection); null if never. */
  lastSeenAt: number | null;
  /** Epoch ms of the last failed connect or probe; null if none. */
  lastFailedAt: number | null;
  /** Why the last connect or probe failed. */
  lastError: string | null;
}

/** The list, the choice and what is known of each server (RemotingClient.nameServerStats()). */
export interface NameServerStats {
  /** The list in the order given to updateNameServerAddressList. */
  addresses: string[];
  /** The server calls with no address go to, or null until one is chosen (or after it was lost). */
  chosen: string | null;
  /** Whether the periodic availability scan is running. */
  scanning: boolean;
  /** What is known of each server on the list, in list order. */
  servers: NameServerStatus[];
}

/**
 * The name server list and which server is chosen: pure state, no sockets,
 * time passed in. RocketMQ keeps the same state in NettyRemotingClient
 * (namesrvAddrList, namesrvAddrChoosed, namesrvIndex, availableNamesrvAddrMap).
 */
export class NameServerList {
  private addresses: string[] = [];
  private readonly status = new Map<string, NameServerStatus>();
  private chosenAddress: string | null = null;
  /** Where the last choice started; the next starts one further. RocketMQ starts it at a random number below 999. */
  private index: number;

  constructor(random: () => number = Math.random) {
    this.index = Math.floor(random() * 999);
  }

  get chosen(): string | null {
    return this.chosenAddress;
  }

  get size(): number {
    return this.addresses.length;
  }

  list(): string[] {
    return [...this.addresses];
  }

  /**
   * Replaces the list. Returns the previously chosen address when the new
   * list drops it (its connection should be closed), else null. An update
   * with the same addresses in another order changes nothing, as in RocketMQ.
   */
  update(addresses: readonly string[]): { changed: boolean; droppedChosen: string | null } {
    const next = [...new Set(addresses)];
    if (next.length === 0) {
      throw new TypeError('the name server address list must not be empty');
    }
    for (const address of next) parseAddress(address);
    const same = next.length === this.addresses.length && next.every((a) => this.status.has(a));
    if (same) return { changed: false, droppedChosen: null };
    this.addresses = next;
    for (const address of [...this.status.keys()]) {
      if (!next.includes(address)) this.status.delete(address);
    }
    for (const address of next) {
      if (!this.status.has(address)) {
        this.status.set(address, {
          address,
          available: null,
          lastSeenAt: null,
          lastFailedAt: null,
          lastError: null,
        });
      }
    }
    const chosen = this.chosenAddress;
    if (chosen !== null && !next.includes(chosen)) {
      this.chosenAddress = null;
      return { changed: true, droppedChosen: chosen };
    }
    return { changed: true, droppedChosen: null };
  }

  /**
   * The order to try servers in when choosing: round-robin from the next
   * index, servers a probe or connect found unreachable moved to the end
   * (still tried: the scan's view may be stale, and an answer beats none).
   */
  candidates(): string[] {
    const n = this.addresses.length;
    if (n === 0) return [];
    this.index = (this.index + 1) % n;
    const start = this.index;
    const ordered: string[] = [];
    for (let i = 0; i < n; i++) ordered.push(this.addresses[(start + i) % n] as string);
    const reachable = ordered.filter((a) => this.status.get(a)?.available !== false);
    const unreachable = ordered.filter((a) => this.status.get(a)?.available === false);
    return [...reachable, ...unreachable];
  }

  /**
   * Makes `address` the chosen server; the next choice starts after it.
   * False (and nothing chosen) when the list no longer holds it.
   */
  choose(address: string, nowMs: number): boolean {
    if (!this.status.has(address)) return false;
    this.chosenAddress = address;
    this.index = this.addresses.indexOf(address);
    this.markReachable(address, nowMs);
    return true;
  }

  /** Forgets the choice if it is `address` (its connection closed, or a send on it failed). */
  clearChoice(address: string): void {
    if (this.chosenAddress === address) this.chosenAddress = null;
  }

  markReachable(address: string, nowMs: number): void {
    const status = this.status.get(address);
    if (status === undefined) return;
    status.available = true;
    status.lastSeenAt = nowMs;
  }

  markUnreachable(address: string, nowMs: number, reason: string): void {
    const status = this.status.get(address);
    if (status === undefined) return;
    status.available = false;
    status.lastFailedAt = nowMs;
    status.lastError = reason;
  }

  /** Servers last found reachable (RocketMQ getAvailableNameSrvList). */
  available(): string[] {
    return this.addresses.filter((a) => this.status.get(a)?.available === true);
  }

  snapshot(scanning: boolean): NameServerStats {
    return {
      addresses: this.list(),
      chosen: this.chosenAddress,
      scanning,
      servers: this.addresses.map((a) => ({ ...(this.status.get(a) as NameServerStatus) })),
    };
  }
}
