import type { SerializeType } from '../protocol/codes.js';
import { RemotingProtocolError } from '../protocol/errors.js';
import type { Channel } from '../transport/channel.js';
import type { ResponseTableScanOptions } from './call-deadlines.js';
import type { CodeStatsSnapshot } from './code-stats.js';
import { CodeStats } from './code-stats.js';
import { debugLog } from './debug-log.js';
import { diagnosticsChannels, type EndpointSide } from './diagnostics.js';
import { type EmitEvent, EventFanOut } from './event-fan-out.js';
import type { ChannelEventListener } from './events.js';
import { InboundDispatcher } from './inbound-dispatcher.js';
import { OutboundInvoker } from './outbound-invoker.js';
import type { RPCHook } from './processor.js';
import { ProcessorRegistry } from './processor-registry.js';
import { RpcHooks } from './rpc-hooks.js';

export interface EndpointOptions {
  /** Which kind of endpoint this is, for diagnostics messages. Default 'client'. */
  side?: EndpointSide;
  /** Async calls in flight at once. */
  permitsAsync: number;
  /** Oneway calls not yet written at once. */
  permitsOneway: number;
  responseTableScan?: ResponseTableScanOptions;
  /**
   * Bytes of this channel's requests that may wait in executors before the
   * channel stops reading (read back-pressure). Default 8 MiB.
   */
  maxPendingRequestBytesPerChannel?: number;
  /** Stop reading from a channel while its outbound buffer is above the high watermark. */
  pauseReadWhenUnwritable: boolean;
  rpcHooks?: RPCHook[];
  channelEventListener?: ChannelEventListener;
  /** Serialization of the responses this side writes; by default each mirrors its request's. */
  responseSerializeType?: SerializeType;
  /**
   * LanguageCode this side announces on the requests it sends and the
   * responses it writes (a command whose language was set to anything but
   * `commandDefaults.language` keeps it). Default: leave commands as made.
   */
  language?: number;
  /** RocketMQ version ordinal stamped on the requests this side sends that kept `commandDefaults.version`. */
  version?: number;
}

/** What `stats()` reports: the numbers a leak or an overload would show in. */
export interface EndpointStats {
  /** Calls awaiting a response. */
  pendingResponses: number;
  /** Permits bounding async calls in flight (RocketMQ semaphoreAsync). */
  asyncPermits: {
    /** The pool's size: the configured `permitsAsync`. */
    total: number;
    /** Permits free now; `total - available` async calls hold one. */
    available: number;
  };
  /** Permits bounding oneway calls not yet written (RocketMQ semaphoreOneway). */
  onewayPermits: {
    /** The pool's size: the configured `permitsOneway`. */
    total: number;
    /** Permits free now; `total - available` oneway calls hold one. */
    available: number;
  };
  /** Connections attached and not yet closed. */
  channels: number;
  /**
   * Responses that matched no call waiting on their channel: late (after a
   * timeout or abort), unknown, or carrying another channel's opaque.
   */
  unmatchedResponses: number;
  /** Calls waiting for a channel to drain below its high watermark, and the bytes they hold. */
  writeWaiters: {
    /** Calls waiting. */
    calls: number;
    /** Encoded bytes those calls hold, waiting to be written. */
    bytes: number;
  };
  /** Calls this side made, per request code: counts, errors, latency percentiles (ms). */
  callsByCode: Record<number, CodeStatsSnapshot>;
  /** Requests this side served, per request code: counts, errors, processing latency percentiles (ms). */
  requestsByCode: Record<number, CodeStatsSnapshot>;
}

/**
 * What a server and a client share (RocketMQ's NettyRemotingAbstract), as
 * the wiring of three parts: the outbound invoker (calls this side makes),
 * the inbound dispatcher (requests it serves) and the event fan-out. This
 * class attaches each channel to them and reports their numbers.
 */
export class RemotingEndpoint {
  readonly registry = new ProcessorRegistry();
  readonly hooks: RpcHooks;
  readonly invoker: OutboundInvoker;
  readonly dispatcher: InboundDispatcher;
  private readonly events: EventFanOut;
  private readonly served = new CodeStats();
  private readonly side: EndpointSide;
  private readonly pauseReadWhenUnwritable: boolean;
  private channelCount = 0;

  constructor(options: EndpointOptions, emit: EmitEvent) {
    this.side = options.side ?? 'client';
    this.hooks = new RpcHooks(this.side, options.rpcHooks);
    this.events = new EventFanOut(this.side, emit, options.channelEventListener);
    this.pauseReadWhenUnwritable = options.pauseReadWhenUnwritable;
    this.invoker = new OutboundInvoker({
      side: this.side,
      permitsAsync: options.permitsAsync,
      permitsOneway: options.permitsOneway,
      responseTableScan: options.responseTableScan,
      hooks: this.hooks,
      language: options.language,
      version: options.version,
    });
    this.dispatcher = new InboundDispatcher(this.registry, {
      side: this.side,
      hooks: this.hooks,
      served: this.served,
      maxPendingRequestBytes: options.maxPendingRequestBytesPerChannel ?? 8 * 1024 * 1024,
      responseSerializeType: options.responseSerializeType,
      language: options.language,
      onProcessorError: (channel, error) =>
        this.events.notify('exception', channel.remoteAddress, channel, error),
    });
  }

  stats(): EndpointStats {
    const invoker = this.invoker;
    return {
      pendingResponses: invoker.responseTable.size,
      asyncPermits: { total: invoker.asyncPermits.total, available: invoker.asyncPermits.available },
      onewayPermits: { total: invoker.onewayPermits.total, available: invoker.onewayPermits.available },
      channels: this.channelCount,
      unmatchedResponses: invoker.unmatchedResponses,
      writeWaiters: invoker.writeWaiters(),
      callsByCode: invoker.telemetry.calls.snapshot(),
      requestsByCode: this.served.snapshot(),
    };
  }

  /** Wires a new channel: its commands, its close, its writability, its idleness. */
  attachChannel(channel: Channel): void {
    this.channelCount += 1;
    const remote = channel.remoteAddress;
    const inbound = this.dispatcher.open(channel);
    const invoker = this.invoker;
    const dispatcher = this.dispatcher;
    channel.on('command', (cmd) => {
      if (cmd.isResponse()) invoker.onResponse(channel, cmd);
      else dispatcher.dispatch(inbound, cmd);
    });
    // Calls failed by a close that bad bytes caused say so, and keep the protocol error as their cause.
    let closedBy: Error | null = null;
    channel.on('protocolError', (error) => {
      closedBy = error;
      debugLog('%s channel %s: protocol error, closing: %s', this.side, remote, error.message);
      if (diagnosticsChannels.channelProtocolError.hasSubscribers) {
        diagnosticsChannels.channelProtocolError.publish({ ...this.channelFacts(channel), error });
      }
      this.events.notify('exception', remote, channel, error);
    });
    channel.on('error', (error) => {
      debugLog('%s channel %s: socket error: %s', this.side, remote, error.message);
      this.events.notify('exception', remote, channel, error);
    });
    channel.on('idle', () => {
      debugLog('%s channel %s: idle, closing', this.side, remote);
      this.events.notify('idle', remote, channel);
      channel.destroy();
    });
    if (this.pauseReadWhenUnwritable) {
      channel.on('writabilityChanged', (writable) => {
        if (writable) channel.resumeReading('unwritable');
        else channel.pauseReading('unwritable');
      });
    }
    channel.on('close', () => {
      this.channelCount -= 1;
      debugLog('%s channel %s: closed', this.side, remote);
      invoker.failChannelCalls(
        channel,
        closedBy === null
          ? 'the connection closed before the response arrived'
          : `the connection was closed before the response arrived: ${closedBy.message}`,
        closedBy ?? undefined,
      );
      if (diagnosticsChannels.channelClose.hasSubscribers) {
        diagnosticsChannels.channelClose.publish(this.channelFacts(channel));
      }
      this.events.notify('close', remote, channel);
    });
    debugLog('%s channel %s: connected', this.side, remote);
    if (diagnosticsChannels.channelConnect.hasSubscribers) {
      diagnosticsChannels.channelConnect.publish(this.channelFacts(channel));
    }
    this.events.notify('connect', remote, channel);
  }

  /**
   * A connection failed before it became a channel (a TLS handshake, a
   * malformed PROXY header, a plain client at an enforcing server): the
   * `exception` event with no channel, and `channel:protocolError` when it
   * is a protocol error.
   */
  connectionFailed(remoteAddress: string, localAddress: string, error: Error): void {
    debugLog('%s connection %s: failed before it was attached: %s', this.side, remoteAddress, error.message);
    if (error instanceof RemotingProtocolError && diagnosticsChannels.channelProtocolError.hasSubscribers) {
      diagnosticsChannels.channelProtocolError.publish({
        side: this.side,
        remoteAddress,
        localAddress,
        error,
      });
    }
    this.events.notify('exception', remoteAddress, null, error);
  }

  private channelFacts(channel: Channel): {
    side: EndpointSide;
    remoteAddress: string;
    localAddress: string;
  } {
    return { side: this.side, remoteAddress: channel.remoteAddress, localAddress: channel.localAddress };
  }
}
