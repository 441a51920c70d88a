import type { Channel } from '../transport/channel.js';

/** RocketMQ's ChannelEventListener: told about connections without being on the I/O path. */
export interface ChannelEventListener {
  /**
   * A connection to or from `remoteAddress` (`host:port`) was attached and can
   * carry commands (RocketMQ ChannelEventListener.onChannelConnect). Called on a
   * later event-loop turn; what it throws is swallowed.
   */
  onChannelConnect?(remoteAddress: string, channel: Channel): void;
  /**
   * The connection closed, for any reason; calls still waiting on it have been
   * failed (RocketMQ ChannelEventListener.onChannelClose). What it throws is swallowed.
   */
  onChannelClose?(remoteAddress: string, channel: Channel): void;
  /**
   * A socket error, a protocol error (bytes that are not a frame) or a processor
   * failure (RocketMQ ChannelEventListener.onChannelException). `channel` is null
   * when the failure came before a channel existed (a failed TLS handshake).
   * What it throws is swallowed.
   */
  onChannelException?(remoteAddress: string, channel: Channel | null, error: Error): void;
  /**
   * The connection saw no reads or writes for the configured idle time
   * (`channelMaxIdleTimeSeconds`) and is being closed (RocketMQ
   * ChannelEventListener.onChannelIdle). What it throws is swallowed.
   */
  onChannelIdle?(remoteAddress: string, channel: Channel): void;
}

/** The same events as EventEmitter events on RemotingServer and RemotingClient. */
export interface RemotingEvents {
  /** As {@link ChannelEventListener.onChannelConnect}: a connection was attached. */
  connect: [remoteAddress: string, channel: Channel];
  /** As {@link ChannelEventListener.onChannelClose}: a connection closed. */
  close: [remoteAddress: string, channel: Channel];
  /** As {@link ChannelEventListener.onChannelException}: a socket, protocol or processor error. */
  exception: [remoteAddress: string, channel: Channel | null, error: Error];
  /** As {@link ChannelEventListener.onChannelIdle}: an idle connection is being closed. */
  idle: [remoteAddress: string, channel: Channel];
}
