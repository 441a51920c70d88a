import { EventEmitter } from 'node:events';
import type { ExecutorOptions } from './remoting/bounded-executor.js';
import type { RemotingEvents } from './remoting/events.js';
import type { RequestProcessor, RPCHook } from './remoting/processor.js';
import { controllerProcessors, type ProcessorRegistry } from './remoting/processor-registry.js';
import { type EndpointOptions, type EndpointStats, RemotingEndpoint } from './remoting/remoting-endpoint.js';

/**
 * What RemotingServer and RemotingClient have in common (RocketMQ's
 * RemotingService): processors for requests the peer sends, RPC hooks,
 * channel events, and counters.
 */
export abstract class RemotingService extends EventEmitter<RemotingEvents> {
  protected readonly endpoint: RemotingEndpoint;
  private readonly registry: ProcessorRegistry;

  protected constructor(endpointOptions: EndpointOptions) {
    super();
    this.endpoint = new RemotingEndpoint(endpointOptions, (event, ...args) =>
      (this.emit as (name: string, ...values: unknown[]) => boolean)(event, ...args),
    );
    this.registry = this.endpoint.registry;
  }

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
