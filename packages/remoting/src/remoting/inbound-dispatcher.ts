import { GO_AWAY_MIN_VERSION, ResponseCode } from '../protocol/codes.js';
import { exceptionSimpleDesc } from '../protocol/exception-desc.js';
import { RemotingCommand } from '../protocol/remoting-command.js';
import { diagnosticsChannels } from './diagnostics.js';
import { InboundChannel, InboundRequest, type InboundSettings } from './inbound-request.js';
import type { ProcessorRegistry } from './processor-registry.js';
import { asError, userCodeFailed } from './user-code.js';

/** Remarks RocketMQ sends; peers and people grep for them, so they are kept verbatim. */
export const Remarks = {
  /** Remark of a REQUEST_CODE_NOT_SUPPORTED response: no processor is registered for `code`. */
  notSupported: (code: number) => ` request type ${code} not supported`,
  /** Remark of a SYSTEM_BUSY response when the processor's `rejectRequest()` said true. */
  rejectRequest: '[REJECTREQUEST]system busy, start flow control for a while',
  /** Remark of a SYSTEM_BUSY response when the processor's executor refused the request (RocketMQ RejectedExecutionException). */
  overload: '[OVERLOAD]system busy, start flow control for a while',
  /** Remark of a GO_AWAY response from a server shutting down gracefully (RocketMQ 5's, verbatim). */
  goAway: 'please go away',
  /** Remark of the SYSTEM_BUSY response that a gracefully shutting-down server gives peers too old for GO_AWAY. */
  shuttingDown: '[SHUTDOWN]server is shutting down, send the request to another server',
} as const;

/** Per-request overhead counted on top of the body when bounding queued requests. */
const REQUEST_OVERHEAD_BYTES = 256;

/**
 * Serves inbound requests (RocketMQ's processRequestCommand): finds the
 * processor for the code, answers at once when there is none, when it rejects
 * or when its executor is full, and otherwise hands the request to the
 * executor, counting its bytes against the channel's backlog.
 */
export class InboundDispatcher {
  private goingAway = false;
  private lastRequest = 0;

  constructor(
    private readonly registry: ProcessorRegistry,
    private readonly settings: InboundSettings,
  ) {}

  /**
   * From now on every request that expects an answer is answered at once,
   * unprocessed: GO_AWAY when its version says the peer understands it
   * (GO_AWAY_MIN_VERSION, as RocketMQ 5.3.3 decides), SYSTEM_BUSY otherwise.
   * Oneway requests are still processed: they cannot be answered.
   */
  startGoingAway(): void {
    this.goingAway = true;
    this.lastRequest = performance.now();
  }

  /** performance.now() of the last request dispatched since startGoingAway (or of that call). */
  get lastRequestAt(): number {
    return this.lastRequest;
  }

  /** The serving side of a newly attached channel. */
  open(channel: InboundChannel['channel']): InboundChannel {
    return new InboundChannel(channel, this.settings);
  }

  dispatch(inbound: InboundChannel, request: RemotingCommand): void {
    const pair = this.registry.lookup(request.code);
    if (pair === null) {
      this.refuse(
        inbound,
        request,
        ResponseCode.REQUEST_CODE_NOT_SUPPORTED,
        Remarks.notSupported(request.code),
      );
      return;
    }
    if (this.goingAway) {
      this.lastRequest = performance.now();
      if (!request.isOneway()) {
        if (request.version >= GO_AWAY_MIN_VERSION)
          this.refuse(inbound, request, ResponseCode.GO_AWAY, Remarks.goAway);
        else this.refuse(inbound, request, ResponseCode.SYSTEM_BUSY, Remarks.shuttingDown);
        return;
      }
    }
    let rejected: boolean;
    try {
      rejected = pair.processor.rejectRequest?.() === true;
    } catch (thrown) {
      this.rejectRequestThrew(inbound, request, thrown);
      return;
    }
    if (rejected) {
      this.refuse(inbound, request, ResponseCode.SYSTEM_BUSY, Remarks.rejectRequest);
      return;
    }
    const cost = request.bodyLength + REQUEST_OVERHEAD_BYTES;
    // Held before submitting: a synchronous processor releases it within trySubmit.
    inbound.hold(cost);
    if (!pair.executor.trySubmit(new InboundRequest(inbound, pair.processor, request, cost))) {
      inbound.release(cost);
      this.refuse(inbound, request, ResponseCode.SYSTEM_BUSY, Remarks.overload);
    }
  }

  /** A throwing `rejectRequest()` is answered as a throwing processor is: SYSTEM_ERROR, and an `exception` event. */
  private rejectRequestThrew(inbound: InboundChannel, request: RemotingCommand, thrown: unknown): void {
    const settings = inbound.settings;
    const remoteAddress = inbound.channel.remoteAddress;
    userCodeFailed({
      side: settings.side,
      kind: 'rejectRequest',
      outcome: 'response',
      remoteAddress,
      requestCode: request.code,
      error: thrown,
    });
    const error = asError(thrown);
    this.refuse(inbound, request, ResponseCode.SYSTEM_ERROR, exceptionSimpleDesc(error));
    if (diagnosticsChannels.requestError.hasSubscribers) {
      diagnosticsChannels.requestError.publish({
        side: settings.side,
        remoteAddress,
        request,
        error,
        durationMs: 0,
      });
    }
    settings.onProcessorError(inbound.channel, error);
  }

  private refuse(inbound: InboundChannel, request: RemotingCommand, code: number, remark: string): void {
    this.settings.served.record(request.code, code !== ResponseCode.REQUEST_CODE_NOT_SUPPORTED, -1);
    inbound.reply(request, RemotingCommand.createResponse(code, remark));
  }
}
