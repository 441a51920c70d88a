import {
  appendLegacy,
  appendStandard,
  isStandardContext,
  legacyClassName,
  readList,
} from '../protocol/decorator-metadata.js';
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
 * The type of `@RequestMapping(...)`: a method decorator under legacy
 * `experimentalDecorators` and under TC39 standard decorators alike.
 */
export interface RequestMappingDecorator {
  /** Legacy `experimentalDecorators` form. */
  (target: object, propertyKey: string | symbol, descriptor?: PropertyDescriptor): void;
  /** TC39 standard decorator on a method. */
  <This>(value: (this: This, ...args: never) => unknown, context: ClassMethodDecoratorContext<This>): void;
}

/**
 * Marks a controller method as the processor for request `code` (RocketMQ:
 * one `registerProcessor(code, ...)` per method). Register the controller
 * with `registerController(instance)`; each method gets its own executor
 * unless the options share one. Works under TC39 standard decorators and
 * under `experimentalDecorators`.
 *
 * @throws TypeError naming the class and member when put on something other
 *   than a public, string-named instance method.
 */
export function RequestMapping(code: number, executor?: ExecutorOptions): RequestMappingDecorator {
  function decorate(target: unknown, keyOrContext: unknown, descriptor?: PropertyDescriptor): void {
    if (isStandardContext(keyOrContext)) {
      const context = keyOrContext;
      const problem =
        context.kind !== 'method'
          ? `a ${context.kind}`
          : context.static
            ? 'a static method'
            : context.private
              ? 'a private method'
              : typeof context.name !== 'string'
                ? 'a symbol-named method'
                : null;
      if (problem !== null || context.metadata === undefined) {
        const member = String(context.name);
        context.addInitializer(function (this: unknown) {
          const owner = typeof this === 'function' ? this.name : (this as object).constructor.name;
          throw mappingMisuse(
            owner,
            member,
            problem ?? 'compiled without decorator metadata (TypeScript < 5.2?)',
          );
        });
        return;
      }
      const spec: MappingSpec = { method: context.name as string, code, executor };
      appendStandard(context.metadata, MAPPINGS_KEY, spec, () => false);
      return;
    }
    const holder = target as object;
    if (typeof holder === 'function')
      throw mappingMisuse(holder.name, String(keyOrContext), 'a static method');
    if (typeof keyOrContext !== 'string') {
      throw mappingMisuse(legacyClassName(holder), String(keyOrContext), 'a symbol-named method');
    }
    if (typeof descriptor?.value !== 'function') {
      throw mappingMisuse(legacyClassName(holder), keyOrContext, 'not a method');
    }
    appendLegacy<MappingSpec>(holder, MAPPINGS_KEY, { method: keyOrContext, code, executor }, () => false);
  }
  return decorate as RequestMappingDecorator;
}

function mappingMisuse(className: string, member: string, what: string): TypeError {
  return new TypeError(
    `@RequestMapping on ${className}.${member}: it decorates public instance methods only, and ${member} is ${what}`,
  );
}

/** Turns a controller's `@RequestMapping` methods into (code, processor, executor) triples. */
export function controllerProcessors(
  controller: object,
): Array<{ code: number; processor: RequestProcessor; executor: ExecutorOptions | undefined }> {
  const mappings = readList<MappingSpec>(controller, MAPPINGS_KEY, () => false);
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
