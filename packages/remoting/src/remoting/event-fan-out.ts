import type { Channel } from '../transport/channel.js';
import type { ChannelEventListener, RemotingEvents } from './events.js';

/** Emits a channel event to the owner's EventEmitter listeners. */
export type EmitEvent = <K extends keyof RemotingEvents>(event: K, ...args: RemotingEvents[K]) => void;

/**
 * Delivers channel events (connect, close, exception, idle) to both the
 * owner's EventEmitter and its ChannelEventListener, off the I/O path: on a
 * later turn of the event loop, and a throwing listener cannot break the connection.
 */
export class EventFanOut {
  constructor(
    private readonly emit: EmitEvent,
    private readonly listener: ChannelEventListener | undefined,
  ) {}

  notify<K extends keyof RemotingEvents>(event: K, ...args: RemotingEvents[K]): void {
    setImmediate(() => {
      try {
        this.emit(event, ...args);
      } catch {
        // A listener's bug is its own; the channelEventListener below still hears of the event.
      }
      try {
        const [remote, channel, error] = args as unknown as [string, Channel, Error];
        const l = this.listener;
        if (event === 'connect') l?.onChannelConnect?.(remote, channel);
        else if (event === 'close') l?.onChannelClose?.(remote, channel);
        else if (event === 'idle') l?.onChannelIdle?.(remote, channel);
        else if (event === 'exception') l?.onChannelException?.(remote, channel, error);
      } catch {
        // A listener's bug is its own; the I/O path carries on.
      }
    });
  }
}
