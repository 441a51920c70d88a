import type { Channel } from '../transport/channel.js';
import type { EndpointSide } from './diagnostics.js';
import type { ChannelEventListener, RemotingEvents } from './events.js';
import { rethrowLater, userCodeFailed } from './user-code.js';

/** Emits a channel event to the owner's EventEmitter listeners. */
export type EmitEvent = <K extends keyof RemotingEvents>(event: K, ...args: RemotingEvents[K]) => void;

/**
 * Delivers channel events (connect, close, exception, idle) to both the
 * owner's EventEmitter and its ChannelEventListener, off the I/O path: on a
 * later turn of the event loop (RocketMQ hands them to its NettyEventExecutor
 * thread for the same reason).
 *
 * A listener that throws gets Node's EventEmitter treatment, not silence:
 * the error is re-thrown (process `uncaughtException`) once both deliveries
 * are done, so the ChannelEventListener still hears of an event whose
 * EventEmitter listener threw, and the connection is never touched by it.
 * Each failure is also published on `remoting-ts:user-code:error`.
 */
export class EventFanOut {
  constructor(
    private readonly side: EndpointSide,
    private readonly emit: EmitEvent,
    private readonly listener: ChannelEventListener | undefined,
  ) {}

  notify<K extends keyof RemotingEvents>(event: K, ...args: RemotingEvents[K]): void {
    setImmediate(() => {
      const [remote, channel, error] = args as unknown as [string, Channel, Error];
      try {
        this.emit(event, ...args);
      } catch (thrown) {
        this.listenerThrew('eventListener', remote, thrown);
      }
      const l = this.listener;
      if (l === undefined) return;
      try {
        if (event === 'connect') l.onChannelConnect?.(remote, channel);
        else if (event === 'close') l.onChannelClose?.(remote, channel);
        else if (event === 'idle') l.onChannelIdle?.(remote, channel);
        else if (event === 'exception') l.onChannelException?.(remote, channel, error);
      } catch (thrown) {
        this.listenerThrew('channelEventListener', remote, thrown);
      }
    });
  }

  private listenerThrew(
    kind: 'eventListener' | 'channelEventListener',
    remote: string,
    thrown: unknown,
  ): void {
    userCodeFailed({
      side: this.side,
      kind,
      outcome: 'uncaught',
      remoteAddress: remote,
      requestCode: null,
      error: thrown,
    });
    rethrowLater(thrown);
  }
}
