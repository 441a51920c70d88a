import 'reflect-metadata';

/**
 * One store for what the framework's decorators record, whichever decorator
 * mode compiled the user's class:
 * - legacy `experimentalDecorators`: reflect-metadata on the class prototype;
 * - TC39 standard decorators (TypeScript 5's default): the class's
 *   `Symbol.metadata` object.
 * Both keep one list per class that inherits from the parent class's list.
 */

// TypeScript and esbuild give a class a metadata object only when
// `Symbol.metadata` exists, and Node 20 and 22 do not define it yet. The
// shared registry key is the one TypeScript's documentation and core-js use,
// so every polyfill agrees; a native Symbol.metadata wins when there is one.
(Symbol as { metadata?: symbol }).metadata ??= Symbol.for('Symbol.metadata');

/** A TC39 decorator context: the second argument of a standard decorator. */
export interface StandardDecoratorContext {
  readonly kind: string;
  readonly name: string | symbol;
  readonly static: boolean;
  readonly private: boolean;
  /** Absent when the class was compiled by TypeScript < 5.2 or esbuild < 0.21. */
  readonly metadata?: Record<PropertyKey, unknown>;
  addInitializer(initializer: (this: unknown) => void): void;
}

/** True when a decorator was called as a TC39 standard decorator `(value, context)`. */
export function isStandardContext(arg: unknown): arg is StandardDecoratorContext {
  // Not 'metadata': compilers before TypeScript 5.2 (and esbuild 0.21) give contexts without it.
  return typeof arg === 'object' && arg !== null && 'kind' in arg && 'name' in arg && 'addInitializer' in arg;
}

/** Appends to the list under `key` in a TC39 metadata object, copying the inherited list first. */
export function appendStandard<T>(
  metadata: Record<PropertyKey, unknown>,
  key: symbol,
  item: T,
  replaces: (existing: T) => boolean,
): void {
  const inherited = (metadata[key] as T[] | undefined) ?? [];
  metadata[key] = [...inherited.filter((existing) => !replaces(existing)), item];
}

/** Appends to the list under `key` on a legacy decorator's target (the prototype). */
export function appendLegacy<T>(
  target: object,
  key: symbol,
  item: T,
  replaces: (existing: T) => boolean,
): void {
  const inherited: T[] = Reflect.getMetadata(key, target) ?? [];
  Reflect.defineMetadata(key, [...inherited.filter((existing) => !replaces(existing)), item], target);
}

/**
 * The list under `key` for an instance's class: the legacy list (prototype
 * chain), then the TC39 list (`Symbol.metadata` chain), with a later entry for
 * the same member replacing an earlier one.
 */
export function readList<T>(instance: object, key: symbol, sameMember: (a: T, b: T) => boolean): T[] {
  const legacy: T[] = Reflect.getMetadata(key, instance) ?? [];
  const metadataSymbol = (Symbol as { metadata?: symbol }).metadata as symbol;
  const classMetadata = (instance.constructor as unknown as Record<symbol, unknown> | undefined)?.[
    metadataSymbol
  ] as Record<PropertyKey, unknown> | null | undefined;
  const standard = (classMetadata?.[key] as T[] | undefined) ?? [];
  if (standard.length === 0) return legacy;
  if (legacy.length === 0) return standard;
  return [...legacy.filter((item) => !standard.some((other) => sameMember(item, other))), ...standard];
}

/** The class name for a legacy decorator's target (a prototype, or the class itself for statics). */
export function legacyClassName(target: object): string {
  return typeof target === 'function' ? target.name : (target.constructor?.name ?? 'an anonymous class');
}
