import { RemotingProtocolError } from '../protocol/errors.js';

/** What a budget needs of a connection: a name for the message, and a way to close it. */
export interface PartialFrameHolder {
  readonly remoteAddress: string;
  /** Closes the connection for `error` (reported as a protocol error, as bad bytes are). */
  abortOverBudget(error: PartialFramesOverBudgetError): void;
}

/**
 * The connections of a server held more bytes of unfinished frames than the
 * server allows in total; the one holding the most was closed.
 */
export class PartialFramesOverBudgetError extends RemotingProtocolError {
  /** Address (`host:port`) of the connection that was closed. */
  readonly remoteAddress: string;
  /** What the closed connection held. */
  readonly heldBytes: number;
  /** What every connection held together, the closed one included. */
  readonly totalHeldBytes: number;
  /** The server's cap on those bytes, all connections together (its `maxPartialFrameBytesTotal` option). */
  readonly maxPartialFrameBytesTotal: number;

  constructor(remoteAddress: string, heldBytes: number, totalHeldBytes: number, maxBytes: number) {
    super(
      `connection ${remoteAddress} closed: it held ${heldBytes} bytes of an unfinished frame, the most of any ` +
        `connection, when partial frames on this server reached ${totalHeldBytes} bytes ` +
        `(maxPartialFrameBytesTotal ${maxBytes})`,
    );
    this.remoteAddress = remoteAddress;
    this.heldBytes = heldBytes;
    this.totalHeldBytes = totalHeldBytes;
    this.maxPartialFrameBytesTotal = maxBytes;
  }
}

/**
 * Caps the bytes a server's connections hold in frames that have started to
 * arrive but not finished. Each connection may announce up to the maximum frame
 * size, so without a cap N slow senders hold N × 16 MiB. Past the cap, the
 * connection holding the most is closed: it is the cheapest way back under,
 * and the likeliest culprit. Checking costs a map update when a connection's
 * holding changes; the scan for the largest runs only when the cap is passed.
 */
export class PartialFrameBudget {
  private readonly held = new Map<PartialFrameHolder, number>();
  private total = 0;

  /**
   * @param maxBytes - The cap, in bytes, on unfinished-frame bytes all connections hold together.
   * @throws RangeError when `maxBytes` is not positive.
   */
  constructor(readonly maxBytes: number) {
    if (!(maxBytes > 0)) throw new RangeError(`maxPartialFrameBytesTotal must be positive, got ${maxBytes}`);
  }

  /** Bytes held by every connection together. */
  get heldBytes(): number {
    return this.total;
  }

  /** Records that `holder` now holds `bytes`; closes the largest holders while the total is over the cap. */
  update(holder: PartialFrameHolder, bytes: number): void {
    const before = this.held.get(holder) ?? 0;
    if (bytes === before) return;
    if (bytes === 0) this.held.delete(holder);
    else this.held.set(holder, bytes);
    this.total += bytes - before;
    while (this.total > this.maxBytes) this.closeLargest();
  }

  /** The connection is gone: what it held is free. */
  release(holder: PartialFrameHolder): void {
    this.update(holder, 0);
  }

  private closeLargest(): void {
    let largest: PartialFrameHolder | null = null;
    let largestBytes = 0;
    for (const [holder, bytes] of this.held) {
      if (bytes > largestBytes) {
        largest = holder;
        largestBytes = bytes;
      }
    }
    if (largest === null) return;
    const totalBefore = this.total;
    this.held.delete(largest);
    this.total -= largestBytes;
    largest.abortOverBudget(
      new PartialFramesOverBudgetError(largest.remoteAddress, largestBytes, totalBefore, this.maxBytes),
    );
  }
}
