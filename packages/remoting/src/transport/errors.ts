import { RemotingError } from '../protocol/errors.js';

/** A connection to `remoteAddress` could not be established in time or was refused. */
export class RemotingConnectError extends RemotingError {
  readonly remoteAddress: string;
  readonly elapsedMs: number;
  readonly timeoutMs: number;

  constructor(remoteAddress: string, elapsedMs: number, timeoutMs: number, cause?: unknown) {
    const why = cause instanceof Error ? `: ${cause.message}` : '';
    super(
      'REMOTING_CONNECT',
      `connect to ${remoteAddress} failed after ${elapsedMs} ms (timeout ${timeoutMs} ms)${why}`,
      {
        cause,
        retriable: true,
      },
    );
    this.remoteAddress = remoteAddress;
    this.elapsedMs = elapsedMs;
    this.timeoutMs = timeoutMs;
  }
}

/** A write was attempted on a channel that is already closed. */
export class ChannelClosedError extends RemotingError {
  readonly remoteAddress: string;

  constructor(remoteAddress: string, cause?: unknown) {
    super('REMOTING_CHANNEL_CLOSED', `channel to ${remoteAddress} is closed`, { cause, retriable: true });
    this.remoteAddress = remoteAddress;
  }
}
