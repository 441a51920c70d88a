import 'reflect-metadata';
import type { RemotingCommand } from '../protocol/remoting-command.js';
import { BoundedExecutor, type ExecutorOptions } from './bounded-executor.js';
import type { RequestContext, RequestProcessor } from './processor.js';

/** A processor with the executor it runs under. */
export interface ProcessorPair {
  readonly processor: RequestProcessor;
  readonly executor: BoundedExecutor;
}

/** Request code → processor and executor, plus the default for codes with none. */
export class ProcessorRegistry {
  private readonly table = new Map<number, ProcessorPair>();
  private defaultPair: ProcessorPair | null = null;

  register(code: number, processor: RequestProcessor, executor?: ExecutorOptions | BoundedExecutor): void {
    if (!Number.isInteger(code)) throw new TypeError(`request code must be an integer, got ${code}`);
    this.table.set(code, { processor, executor: toExecutor(executor) });
  }

  registerDefault(processor: RequestProcessor, executor?: ExecutorOptions | BoundedExecutor): void {
    this.defaultPair = { processor, executor: toExecutor(executor) };
  }

  lookup(code: number): ProcessorPair | null {
    return this.table.get(code) ?? this.defaultPair;
  }

  executors(): BoundedExecutor[] {
    const all = [...this.table.values()].map((pair) => pair.executor);
    if (this.defaultPair) all.push(this.defaultPair.executor);
    return [...new Set(all)];
  }
}

function toExecutor(executor: ExecutorOptions | BoundedExecutor | undefined): BoundedExecutor {
  return executor instanceof BoundedExecutor ? executor : new BoundedExecutor(executor);
}

type HandlerMethod = (
  ctx: RequestContext,
  request: RemotingCommand,
) => ReturnType<RequestProcessor['processRequest']>;

interface MappingSpec {
  method: string;
  code: number;
  executor: ExecutorOptions | undefined;
}

const MAPPINGS_KEY = Symbol.for('remoting-ts:request-mappings');

/**
 * Marks a controller method as the processor for request `code`. Register the
 * controller with `registerController(instance)`; each method gets its own
 * executor unless the options share one.
 */
export function RequestMapping(code: number, executor?: ExecutorOptions): MethodDecorator {
  return (target, propertyKey) => {
    if (typeof propertyKey !== 'string') throw new TypeError('@RequestMapping needs a string method name');
    const mappings: MappingSpec[] = [...(Reflect.getMetadata(MAPPINGS_KEY, target) ?? [])];
    mappings.push({ method: propertyKey, code, executor });
    Reflect.defineMetadata(MAPPINGS_KEY, mappings, target);
  };
}

/** Turns a controller's `@RequestMapping` methods into (code, processor, executor) triples. */
export function controllerProcessors(
  controller: object,
): Array<{ code: number; processor: RequestProcessor; executor: ExecutorOptions | undefined }> {
  const mappings: MappingSpec[] = Reflect.getMetadata(MAPPINGS_KEY, controller) ?? [];
  if (mappings.length === 0) {
    throw new TypeError(`${controller.constructor.name} has no @RequestMapping methods`);
  }
  const rejecter = (controller as Partial<Pick<RequestProcessor, 'rejectRequest'>>).rejectRequest;
  return mappings.map(({ method, code, executor }) => {
    const handler = (controller as Record<string, HandlerMethod>)[method] as HandlerMethod;
    const processor: RequestProcessor = {
      processRequest: (ctx, request) => handler.call(controller, ctx, request),
    };
    if (typeof rejecter === 'function') processor.rejectRequest = () => rejecter.call(controller);
    return { code, processor, executor };
  });
}
