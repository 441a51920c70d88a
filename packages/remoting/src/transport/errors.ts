import { RemotingError } from '../protocol/errors.js';

/**
 * A connection to `remoteAddress` could not be established in time or was
 * refused (RocketMQ's RemotingConnectException). Nothing was written, so any
 * request may be retried: `retriable` true, `written` false. Code
 * `REMOTING_CONNECT`.
 */
export class RemotingConnectError extends RemotingError {
  /** The `host:port` that was dialled. */
  readonly remoteAddress: string;
  /** Milliseconds from the start of the attempt to the failure. */
  readonly elapsedMs: number;
  /** The connect timeout in milliseconds. */
  readonly timeoutMs: number;
  declare readonly written: false;

  constructor(remoteAddress: string, elapsedMs: number, timeoutMs: number, cause?: unknown) {
    const why = cause instanceof Error ? `: ${cause.message}` : '';
    super(
      'REMOTING_CONNECT',
      `connect to ${remoteAddress} failed after ${elapsedMs} ms (timeout ${timeoutMs} ms)${why}; ` +
        'the request was not written',
      { cause, retriable: true, written: false },
    );
    this.remoteAddress = remoteAddress;
    this.elapsedMs = elapsedMs;
    this.timeoutMs = timeoutMs;
  }
}

/**
 * A write was attempted on a channel that is already closed; the bytes were not
 * written (`written` false) and a new connection may succeed (`retriable`
 * true). Code `REMOTING_CHANNEL_CLOSED`.
 */
export class ChannelClosedError extends RemotingError {
  /** The peer the channel was connected to. */
  readonly remoteAddress: string;
  declare readonly written: false;

  constructor(remoteAddress: string, cause?: unknown) {
    super('REMOTING_CHANNEL_CLOSED', `channel to ${remoteAddress} is closed`, {
      cause,
      retriable: true,
      written: false,
    });
    this.remoteAddress = remoteAddress;
  }
}
