import { EventEmitter } from 'node:events';
import type { RemotingCommand } from './protocol/remoting-command.js';
import type { ExecutorOptions } from './remoting/bounded-executor.js';
import type { RemotingEvents } from './remoting/events.js';
import type { OnewayCallback } from './remoting/oneway-write.js';
import type { InvokeOptions } from './remoting/outbound-invoker.js';
import type { RequestProcessor, RPCHook } from './remoting/processor.js';
import { controllerProcessors, type ProcessorRegistry } from './remoting/processor-registry.js';
import { type EndpointOptions, type EndpointStats, RemotingEndpoint } from './remoting/remoting-endpoint.js';
import type { InvokeCallback } from './remoting/response-future.js';

/**
 * What RemotingServer and RemotingClient have in common (RocketMQ's
 * RemotingService): processors for requests the peer sends, RPC hooks,
 * channel events, counters, and `invokeAsync`'s two forms. `Target` is what
 * a call goes to: an address (`"host:port"`, or null for the chosen name
 * server) for a client, a connected Channel for a server.
 */
export abstract class RemotingService<Target> extends EventEmitter<RemotingEvents> {
  protected readonly endpoint: RemotingEndpoint;
  private readonly registry: ProcessorRegistry;

  protected constructor(endpointOptions: EndpointOptions) {
    super();
    this.endpoint = new RemotingEndpoint(endpointOptions, (event, ...args) =>
      (this.emit as (name: string, ...values: unknown[]) => boolean)(event, ...args),
    );
    this.registry = this.endpoint.registry;
  }

  /**
   * Sends `request` to `target` under an async permit and delivers the
   * response later (RocketMQ's invokeAsync), as a promise. `timeoutMs`
   * covers everything from this call on: connecting, waiting for a permit or
   * a writable connection, and the response. Whatever the response code, it
   * resolves with the response.
   * @throws RemotingTimeoutError no response in time (`written` says whether the peer may have it)
   * @throws RemotingSendRequestError could not be sent, or the connection closed before the response
   * @throws RemotingTooMuchRequestError no async permit freed up in time
   * @throws RemotingConnectError, RemotingAbortError, RemotingShutdownError, RemotingEncodeError, or what an RPC hook threw
   */
  invokeAsync(
    target: Target,
    request: RemotingCommand,
    timeoutMs: number,
    options?: InvokeOptions,
  ): Promise<RemotingCommand>;
  /**
   * The callback form: `callback` is called exactly once, with the response or
   * with one of the errors the promise form rejects with. With an open
   * connection and a free permit everything up to the write runs
   * synchronously, with no promise. What `callback` throws cannot change the
   * call: it is re-thrown on a later tick (an `uncaughtException`, as Node
   * does with callbacks) and published on `remoting-ts:user-code:error`.
   */
  invokeAsync(
    target: Target,
    request: RemotingCommand,
    timeoutMs: number,
    callback: InvokeCallback,
    options?: InvokeOptions,
  ): void;
  invokeAsync(
    target: Target,
    request: RemotingCommand,
    timeoutMs: number,
    callbackOrOptions?: InvokeCallback | InvokeOptions,
    maybeOptions?: InvokeOptions,
  ): Promise<RemotingCommand> | undefined {
    // A precise reading, not a cached one: a deadline counted from an earlier time would fail the call before its timeout.
    const startedAt = performance.now();
    if (typeof callbackOrOptions === 'function') {
      this.startAsync(target, request, timeoutMs, callbackOrOptions, startedAt, maybeOptions?.signal);
      return undefined;
    }
    const signal = callbackOrOptions?.signal;
    return new Promise((resolve, reject) => {
      this.startAsync(
        target,
        request,
        timeoutMs,
        (error, response) => {
          if (error !== null) reject(error);
          else resolve(response as RemotingCommand);
        },
        startedAt,
        signal,
      );
    });
  }

  /**
   * Sends `request` to `target` expecting no response (RocketMQ's
   * invokeOneway), under a oneway permit held until its bytes reach the
   * socket. Resolves once the request is handed to the connection; nothing
   * tells whether the peer processed it. `timeoutMs` covers connecting and
   * waiting for a permit or a writable connection.
   * @throws RemotingTooMuchRequestError no oneway permit freed up in time
   * @throws RemotingTimeoutError the connection stayed unwritable past `timeoutMs` (not sent)
   * @throws RemotingSendRequestError, RemotingConnectError, RemotingAbortError, RemotingShutdownError, RemotingEncodeError, or what an RPC hook threw
   */
  invokeOneway(
    target: Target,
    request: RemotingCommand,
    timeoutMs: number,
    options?: InvokeOptions,
  ): Promise<void>;
  /**
   * The callback form, for a loop that sends many requests: no promise per
   * request. Returns true when the request went out at once and the
   * connection can take more; false when the loop should
   * `await waitWritable(target, timeoutMs)` before its next request (this one
   * still goes, in order, once it can: it waits for a connection, a permit or
   * a drained connection, or it took the connection past its high
   * watermark). The `stream.write()` and `'drain'` discipline. `callback`
   * runs exactly once, never before this returns: null once the request was
   * sent (for one that went out at once, once its bytes reached the socket),
   * or one of the errors the promise form rejects with; a
   * RemotingSendRequestError (`written` as ever) when the connection failed
   * before the bytes reached the socket. What it throws is re-thrown on a
   * later tick, as with `invokeAsync`.
   */
  invokeOneway(
    target: Target,
    request: RemotingCommand,
    timeoutMs: number,
    callback: OnewayCallback,
    options?: InvokeOptions,
  ): boolean;
  invokeOneway(
    target: Target,
    request: RemotingCommand,
    timeoutMs: number,
    callbackOrOptions?: OnewayCallback | InvokeOptions,
    maybeOptions?: InvokeOptions,
  ): Promise<void> | boolean {
    const startedAt = performance.now();
    if (typeof callbackOrOptions === 'function') {
      return this.sendOneway(target, request, timeoutMs, callbackOrOptions, startedAt, maybeOptions?.signal);
    }
    return this.startOneway(target, request, timeoutMs, startedAt, callbackOrOptions?.signal);
  }

  /**
   * Resolves true once a oneway request to `target` would go out at once: the
   * connection open (a client connects if it must) and below its high
   * watermark with nothing queued ahead, and a oneway permit free. False when
   * `timeoutMs` passes or the connection closes first. A sending loop awaits
   * it when `invokeOneway`'s callback form returns false: one wait per batch.
   * @throws RemotingConnectError (a client that could not connect), RemotingShutdownError
   */
  abstract waitWritable(target: Target, timeoutMs: number): Promise<boolean>;

  /** The promise form of `invokeOneway`. */
  protected abstract startOneway(
    target: Target,
    request: RemotingCommand,
    timeoutMs: number,
    startedAt: number,
    signal: AbortSignal | undefined,
  ): Promise<void>;

  /** The callback form of `invokeOneway`: true while the caller may keep sending. */
  protected abstract sendOneway(
    target: Target,
    request: RemotingCommand,
    timeoutMs: number,
    callback: OnewayCallback,
    startedAt: number,
    signal: AbortSignal | undefined,
  ): boolean;

  /** Starts an async call whose end `callback` hears exactly once (the one implementation behind both forms). */
  protected abstract startAsync(
    target: Target,
    request: RemotingCommand,
    timeoutMs: number,
    callback: InvokeCallback,
    startedAt: number,
    signal: AbortSignal | undefined,
  ): void;

  /** Handles requests of `code` with `processor`, under its own bounded executor (RocketMQ's registerProcessor). */
  registerProcessor(code: number, processor: RequestProcessor, executor?: ExecutorOptions): this {
    this.registry.register(code, processor, executor);
    return this;
  }

  /** Handles every code that has no processor of its own (RocketMQ's registerDefaultProcessor). */
  registerDefaultProcessor(processor: RequestProcessor, executor?: ExecutorOptions): this {
    this.registry.registerDefault(processor, executor);
    return this;
  }

  /**
   * Registers every `@RequestMapping` method of `controller` as a processor.
   * @throws TypeError when the controller has no `@RequestMapping` method.
   */
  registerController(controller: object): this {
    for (const { code, processor, executor } of controllerProcessors(controller)) {
      this.registry.register(code, processor, executor);
    }
    return this;
  }

  /** Adds a hook run around every call this side makes and every request it serves (RocketMQ's registerRPCHook). */
  registerRPCHook(hook: RPCHook): this {
    this.endpoint.hooks.add(hook);
    return this;
  }

  /**
   * A snapshot of calls waiting for responses, permits, channels, unmatched
   * responses and calls waiting for writability (the numbers a leak would
   * show in), plus per-request-code counters and latency percentiles (ms) of
   * calls made and requests served.
   */
  stats(): EndpointStats {
    return this.endpoint.stats();
  }
}
