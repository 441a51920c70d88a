import type { Channel } from '../transport/channel.js';

/** RocketMQ's ChannelEventListener: told about connections without being on the I/O path. */
export interface ChannelEventListener {
  onChannelConnect?(remoteAddress: string, channel: Channel): void;
  onChannelClose?(remoteAddress: string, channel: Channel): void;
  /** `channel` is null when the failure came before a channel existed (a failed TLS handshake). */
  onChannelException?(remoteAddress: string, channel: Channel | null, error: Error): void;
  onChannelIdle?(remoteAddress: string, channel: Channel): void;
}

/** The same events as EventEmitter events on RemotingServer and RemotingClient. */
export interface RemotingEvents {
  connect: [remoteAddress: string, channel: Channel];
  close: [remoteAddress: string, channel: Channel];
  exception: [remoteAddress: string, channel: Channel | null, error: Error];
  idle: [remoteAddress: string, channel: Channel];
}
