import { ResponseCode, SerializeType } from '../protocol/codes.js';
import { RemotingEncodeError } from '../protocol/errors.js';
import { exceptionSimpleDesc } from '../protocol/exception-desc.js';
import { commandDefaults, RemotingCommand } from '../protocol/remoting-command.js';
import type { Channel, WriteCallback } from '../transport/channel.js';
import type { ExecutorTask } from './bounded-executor.js';
import type { CodeStats } from './code-stats.js';
import { diagnosticsChannels, type EndpointSide } from './diagnostics.js';
import type { RequestContext, RequestProcessor } from './processor.js';
import type { RpcHooks } from './rpc-hooks.js';
import { asError, rethrowLater, userCodeFailed } from './user-code.js';

/** What every inbound channel of one server or client shares. */
export interface InboundSettings {
  readonly side: EndpointSide;
  readonly hooks: RpcHooks;
  readonly served: CodeStats;
  /** Bytes of queued requests per channel before it stops reading. */
  readonly maxPendingRequestBytes: number;
  /** Serialization of responses; undefined mirrors each request's. */
  readonly responseSerializeType: SerializeType | undefined;
  /** LanguageCode stamped on responses that kept the process default; undefined leaves them as they are. */
  readonly language: number | undefined;
  /** A processor threw: the peer hears SYSTEM_ERROR, this hears the error. */
  readonly onProcessorError: (channel: Channel, error: Error) => void;
}

/**
 * The serving side of one channel: writes replies and keeps the count of
 * request bytes waiting in executors, pausing reads while it is over the
 * limit (read back-pressure) and resuming at half of it.
 */
export class InboundChannel {
  private pendingRequestBytes = 0;
  /** Whether this channel's reading is paused for its backlog (so only then is there anything to resume). */
  private pausedForBacklog = false;

  constructor(
    readonly channel: Channel,
    readonly settings: InboundSettings,
  ) {}

  /**
   * Answers `request` unless it is oneway: the response carries its opaque
   * and serialization unchanged, except that a response the ROCKETMQ header
   * cannot carry goes out with a JSON header.
   */
  reply(request: RemotingCommand, response: RemotingCommand, afterWrite?: WriteCallback): void {
    if (request.isOneway()) return;
    response.opaque = request.opaque;
    response.markResponse();
    response.serializeType = this.settings.responseSerializeType ?? request.serializeType;
    const language = this.settings.language;
    if (language !== undefined && response.language === commandDefaults.language)
      response.language = language;
    try {
      this.channel.write(response, afterWrite);
    } catch (error) {
      if (!(error instanceof RemotingEncodeError) || response.serializeType === SerializeType.JSON)
        throw error;
      // The ROCKETMQ header cannot carry it (a code above 32767, say); every peer decodes either
      // serialization, and JSON carries it intact, where Java would send it truncated.
      response.serializeType = SerializeType.JSON;
      this.channel.write(response, afterWrite);
    }
  }

  /** Counts `bytes` of a request now waiting in an executor. */
  hold(bytes: number): void {
    this.pendingRequestBytes += bytes;
    if (this.pendingRequestBytes > this.settings.maxPendingRequestBytes && !this.pausedForBacklog) {
      this.pausedForBacklog = true;
      this.channel.pauseReading('backlog');
    }
  }

  /** A request held with `hold(bytes)` is done with. */
  release(bytes: number): void {
    this.pendingRequestBytes -= bytes;
    if (this.pausedForBacklog && this.pendingRequestBytes <= this.settings.maxPendingRequestBytes / 2) {
      this.pausedForBacklog = false;
      this.channel.resumeReading('backlog');
    }
  }
}

/**
 * One request on its way through a processor: the executor's task and the
 * processor's context in one object, so a request costs one allocation and,
 * when the processor answers synchronously, no promise at all.
 */
export class InboundRequest implements RequestContext, ExecutorTask {
  private responded = false;
  private writtenCallbacks: WriteCallback[] | null = null;
  /** performance.now() when processing began; -1 when not timed. */
  private startedAt = -1;

  constructor(
    private readonly inbound: InboundChannel,
    private readonly processor: RequestProcessor,
    private readonly request: RemotingCommand,
    private readonly cost: number,
  ) {}

  get channel(): Channel {
    return this.inbound.channel;
  }

  get remoteAddress(): string {
    return this.inbound.channel.remoteAddress;
  }

  writeResponse(response: RemotingCommand): void {
    if (this.responded) return;
    const afterWrite =
      this.writtenCallbacks === null ? undefined : (error: Error | null) => this.written(error);
    this.inbound.reply(this.request, response, afterWrite);
    // Only once it was queued: a response that could not be encoded leaves room for the SYSTEM_ERROR answer.
    this.responded = true;
  }

  onResponseWritten(callback: (error: Error | null) => void): void {
    if (this.writtenCallbacks === null) this.writtenCallbacks = [];
    this.writtenCallbacks.push(callback);
  }

  run(): void | Promise<void> {
    const settings = this.inbound.settings;
    // The clock costs ~70 ns: read it only when a sample or a subscriber needs it.
    this.startedAt =
      settings.served.wantsLatency(this.request.code) ||
      diagnosticsChannels.requestEnd.hasSubscribers ||
      diagnosticsChannels.requestError.hasSubscribers
        ? performance.now()
        : -1;
    if (diagnosticsChannels.requestStart.hasSubscribers) {
      diagnosticsChannels.requestStart.publish({
        side: settings.side,
        remoteAddress: this.remoteAddress,
        request: this.request,
      });
    }
    if (!settings.hooks.isEmpty) {
      const hookError = settings.hooks.beforeRequest(this.remoteAddress, this.request, 'response');
      if (hookError !== null) {
        this.fail(hookError);
        return;
      }
    }
    let result: ReturnType<RequestProcessor['processRequest']>;
    try {
      result = this.processor.processRequest(this, this.request);
    } catch (thrown) {
      this.processorThrew(thrown);
      return;
    }
    if (isThenable(result)) return this.completeLater(result);
    this.complete(result);
  }

  /** An async processor's answer. A method of its own, so a synchronous processor's request allocates no closure context. */
  private completeLater(result: PromiseLike<RemotingCommand | null | undefined>): Promise<void> {
    return Promise.resolve(result).then(
      (response) => this.complete(response),
      (thrown: unknown) => this.processorThrew(thrown),
    );
  }

  private complete(response: RemotingCommand | null | undefined): void {
    const settings = this.inbound.settings;
    if (!settings.hooks.isEmpty) {
      const hookError = settings.hooks.afterResponse(
        this.remoteAddress,
        this.request,
        response ?? null,
        'response',
      );
      if (hookError !== null) {
        this.fail(hookError);
        return;
      }
    }
    if (response) {
      try {
        this.writeResponse(response);
      } catch (error) {
        // Not even JSON could carry it (see InboundChannel.reply): the peer hears SYSTEM_ERROR instead.
        this.fail(asError(error));
        return;
      }
    }
    const code = response ? response.code : ResponseCode.SUCCESS;
    settings.served.record(
      this.request.code,
      code === ResponseCode.SYSTEM_ERROR || code === ResponseCode.SYSTEM_BUSY,
      this.startedAt,
    );
    if (diagnosticsChannels.requestEnd.hasSubscribers) {
      diagnosticsChannels.requestEnd.publish({
        side: settings.side,
        remoteAddress: this.remoteAddress,
        request: this.request,
        response: response ?? null,
        durationMs: performance.now() - this.startedAt,
      });
    }
    this.finish();
  }

  /** The processor threw or rejected: user code, reported as such before the peer hears SYSTEM_ERROR. */
  private processorThrew(thrown: unknown): void {
    userCodeFailed({
      side: this.inbound.settings.side,
      kind: 'processRequest',
      outcome: 'response',
      remoteAddress: this.remoteAddress,
      requestCode: this.request.code,
      error: thrown,
    });
    this.fail(asError(thrown));
  }

  /** Answers SYSTEM_ERROR (a oneway request gets nothing) and tells the endpoint's `exception` listeners. */
  private fail(error: Error): void {
    const settings = this.inbound.settings;
    this.writeResponse(RemotingCommand.createResponse(ResponseCode.SYSTEM_ERROR, exceptionSimpleDesc(error)));
    settings.served.record(this.request.code, true, this.startedAt);
    if (diagnosticsChannels.requestError.hasSubscribers) {
      diagnosticsChannels.requestError.publish({
        side: settings.side,
        remoteAddress: this.remoteAddress,
        request: this.request,
        error,
        durationMs: performance.now() - this.startedAt,
      });
    }
    settings.onProcessorError(this.inbound.channel, error);
    this.finish();
  }

  private finish(): void {
    // A oneway request has no response to wait for: what was held for it is free now.
    if (this.request.isOneway()) this.written(null);
    this.inbound.release(this.cost);
  }

  /** Runs the onResponseWritten callbacks: user code after the fact, so a throw is re-thrown on a later tick. */
  private written(error: Error | null): void {
    const callbacks = this.writtenCallbacks;
    this.writtenCallbacks = null;
    if (callbacks === null) return;
    for (const callback of callbacks) {
      try {
        callback(error);
      } catch (thrown) {
        userCodeFailed({
          side: this.inbound.settings.side,
          kind: 'onResponseWritten',
          outcome: 'uncaught',
          remoteAddress: this.remoteAddress,
          requestCode: this.request.code,
          error: thrown,
        });
        rethrowLater(thrown);
      }
    }
  }
}

function isThenable<T>(value: T | PromiseLike<T>): value is PromiseLike<T> {
  return typeof (value as PromiseLike<T> | null)?.then === 'function';
}
