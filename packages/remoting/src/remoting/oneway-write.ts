import type { RemotingCommand } from '../protocol/remoting-command.js';
import type { Channel, WriteListener } from '../transport/channel.js';
import type { EndpointSide } from './diagnostics.js';
import { RemotingSendRequestError } from './errors.js';
import type { Permits } from './permits.js';
import { runInvokeCallback } from './user-code.js';

/**
 * What the callback form of `invokeOneway` calls, exactly once and never
 * before `invokeOneway` has returned: with null once the request was sent
 * (for one that went out at once: once its bytes reached the socket), or
 * with the error that stopped it.
 */
export type OnewayCallback = (error: Error | null) => void;

/**
 * A oneway request sent at once in the callback form, as the write's
 * listener: once the flush holding its bytes is done, it returns the oneway
 * permit and tells the caller. One small object per request is the whole
 * cost of the form (no promise, no closure): the request's facts are here
 * for the error, should the connection fail before its bytes reach the socket.
 */
export class OnewayWrite implements WriteListener {
  constructor(
    private readonly side: EndpointSide,
    private readonly permits: Permits,
    private readonly channel: Channel,
    private readonly request: RemotingCommand,
    private readonly timeoutMs: number,
    private readonly startedAt: number,
    private readonly callback: OnewayCallback,
  ) {}

  writeDone(error: Error | null): void {
    this.permits.release();
    const request = this.request;
    const outcome =
      error === null || error === undefined
        ? null
        : new RemotingSendRequestError(
            {
              remoteAddress: this.channel.remoteAddress,
              requestCode: request.code,
              opaque: request.opaque,
              elapsedMs: Math.round(performance.now() - this.startedAt),
              timeoutMs: this.timeoutMs,
              written: !neverLeft(error),
            },
            `could not be sent: ${error.message}`,
            error,
          );
    runInvokeCallback(this.side, this.callback, outcome, null, this.channel.remoteAddress, request.code);
  }
}

/**
 * Whether a write's error proves none of its bytes left this process: the
 * channel was closed before the write (REMOTING_CHANNEL_CLOSED), or the
 * socket was destroyed while the bytes were still in Node's buffer
 * (ERR_STREAM_DESTROYED). Any other error may come after part was sent.
 */
export function neverLeft(error: Error): boolean {
  const code = (error as { code?: string }).code;
  return code === 'REMOTING_CHANNEL_CLOSED' || code === 'ERR_STREAM_DESTROYED';
}
