import { EventEmitter } from 'node:events';
import type { ExecutorOptions } from './remoting/bounded-executor.js';
import type { RemotingEvents } from './remoting/events.js';
import type { RequestProcessor, RPCHook } from './remoting/processor.js';
import { type EndpointOptions, type EndpointStats, RemotingEndpoint } from './remoting/remoting-endpoint.js';

/**
 * What RemotingServer and RemotingClient have in common (RocketMQ's
 * RemotingService): processors for requests the peer sends, RPC hooks,
 * channel events, and counters.
 */
export abstract class RemotingService extends EventEmitter<RemotingEvents> {
  protected readonly endpoint: RemotingEndpoint;

  protected constructor(endpointOptions: EndpointOptions) {
    super();
    this.endpoint = new RemotingEndpoint(endpointOptions, (event, ...args) =>
      (this.emit as (name: string, ...values: unknown[]) => boolean)(event, ...args),
    );
  }

  /** Handles requests of `code` with `processor`, under its own bounded executor. */
  registerProcessor(code: number, processor: RequestProcessor, executor?: ExecutorOptions): this {
    this.endpoint.registerProcessor(code, processor, executor);
    return this;
  }

  /** Handles every code that has no processor of its own. */
  registerDefaultProcessor(processor: RequestProcessor, executor?: ExecutorOptions): this {
    this.endpoint.registerDefaultProcessor(processor, executor);
    return this;
  }

  /** Registers every `@RequestMapping` method of `controller` as a processor. */
  registerController(controller: object): this {
    this.endpoint.registerController(controller);
    return this;
  }

  /** Adds a hook run around every request served and every call made (RocketMQ's registerRPCHook). */
  registerRPCHook(hook: RPCHook): this {
    this.endpoint.registerRPCHook(hook);
    return this;
  }

  /** Calls waiting for responses, permits, channels: the numbers a leak would show in. */
  stats(): EndpointStats {
    return this.endpoint.stats();
  }
}
