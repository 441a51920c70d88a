import {
  appendLegacy,
  appendStandard,
  isStandardContext,
  legacyClassName,
  readList,
} from './decorator-metadata.js';
import { RemotingHeaderError } from './errors.js';

/**
 * How a header field converts to and from its extFields string.
 * - `string`: as is.
 * - `int`: a 32-bit signed integer (Java int / Integer).
 * - `long`: a 64-bit signed integer as a bigint (Java long / Long); never passes
 *   through a JS number, so commit-log offsets keep every digit.
 * - `number`: a finite floating point number (Java float / double).
 * - `boolean`: "true" or "false", case-insensitive.
 */
export type HeaderFieldType = 'string' | 'int' | 'long' | 'number' | 'boolean';

/** What `@HeaderField` is told about a field. */
export interface HeaderFieldOptions {
  /** How the value converts to and from its extFields string. */
  type: HeaderFieldType;
  /** A required field must be present on decode and set on encode (RocketMQ's @CFNotNull). */
  required?: boolean;
  /** The extFields key, when it differs from the property name. */
  name?: string;
}

interface FieldSpec {
  property: string;
  key: string;
  type: HeaderFieldType;
  required: boolean;
}

/** A header class: constructible with no arguments, fields marked with `@HeaderField`. */
export type CustomHeaderClass<T extends object> = new () => T;

/** Optional validation a header class may add, run after decoding (RocketMQ's checkFields). */
export interface CheckedHeader {
  /** Throws (RemotingHeaderError is a good choice) when the decoded values break a rule of the header. */
  checkFields(): void;
}

const FIELDS_KEY = Symbol.for('remoting-ts:header-fields');

/**
 * The type of `@HeaderField(...)`: a property decorator under legacy
 * `experimentalDecorators`, a field (or auto-accessor) decorator under TC39
 * standard decorators. Both record the same field list.
 */
export interface HeaderFieldDecorator {
  /** Legacy `experimentalDecorators` form. */
  (target: object, propertyKey: string | symbol): void;
  /** TC39 standard decorator on a field. */
  <This, Value>(value: undefined, context: ClassFieldDecoratorContext<This, Value>): void;
  /** TC39 standard decorator on an `accessor` field. */
  <This, Value>(
    value: ClassAccessorDecoratorTarget<This, Value>,
    context: ClassAccessorDecoratorContext<This, Value>,
  ): void;
}

/**
 * Marks a property of a header class as an extFields entry of the given type
 * (RocketMQ: a field of a CommandCustomHeader). Works under TC39 standard
 * decorators and under `experimentalDecorators`.
 *
 * @throws RemotingHeaderError naming the class and member when put on a
 *   method, a static, a private (`#x`) or a symbol-named member: under legacy
 *   decorators when the class is defined, under standard decorators when the
 *   class (or, for an instance member, an instance) is first created.
 */
export function HeaderField(options: HeaderFieldOptions): HeaderFieldDecorator {
  const specFor = (property: string): FieldSpec => ({
    property,
    key: options.name ?? property,
    type: options.type,
    required: options.required ?? false,
  });
  const sameProperty = (spec: FieldSpec, other: FieldSpec) => spec.property === other.property;
  function decorate(target: unknown, keyOrContext: unknown, descriptor?: unknown): void {
    if (isStandardContext(keyOrContext)) {
      const context = keyOrContext;
      const problem =
        context.kind !== 'field' && context.kind !== 'accessor'
          ? `a ${context.kind}`
          : context.static
            ? 'a static field'
            : context.private
              ? 'a private field'
              : typeof context.name !== 'string'
                ? 'a symbol-named field'
                : null;
      if (problem !== null || typeof context.name !== 'string') {
        // A standard decorator is not told its class; an initializer is, so
        // the error names both (for instance members: at the first `new`).
        const member = String(context.name);
        context.addInitializer(function (this: unknown) {
          throw misuse(classNameOf(this), member, problem ?? 'a symbol-named field');
        });
        return;
      }
      if (context.metadata === undefined) {
        throw new RemotingHeaderError(
          'unknown',
          context.name,
          `@HeaderField on "${context.name}": the decorator got no metadata object; compile with ` +
            'TypeScript 5.2+ (or esbuild 0.21+), or use experimentalDecorators',
        );
      }
      appendStandard(context.metadata, FIELDS_KEY, specFor(context.name), (spec) =>
        sameProperty(spec, specFor(context.name as string)),
      );
      return;
    }
    const holder = target as object;
    if (typeof holder === 'function')
      throw misuse(legacyClassName(holder), String(keyOrContext), 'a static field');
    if (typeof keyOrContext !== 'string') {
      throw misuse(legacyClassName(holder), String(keyOrContext), 'a symbol-named field');
    }
    // Legacy decorators pass a property descriptor for methods and accessors only.
    if (descriptor !== undefined) throw misuse(legacyClassName(holder), keyOrContext, 'a method or accessor');
    const spec = specFor(keyOrContext);
    appendLegacy(holder, FIELDS_KEY, spec, (existing) => sameProperty(existing, spec));
  }
  return decorate as HeaderFieldDecorator;
}

function classNameOf(self: unknown): string {
  if (typeof self === 'function') return self.name;
  if (typeof self === 'object' && self !== null) return self.constructor.name;
  return 'an anonymous class';
}

function misuse(className: string, member: string, what: string): RemotingHeaderError {
  return new RemotingHeaderError(
    className,
    member,
    `@HeaderField on ${className}.${member}: it decorates public instance fields only, and ${member} is ${what}`,
  );
}

function fieldsOf(header: object): FieldSpec[] {
  return readList<FieldSpec>(header, FIELDS_KEY, (a, b) => a.property === b.property);
}

/** The extFields entries for a header instance, in declaration order; unset optional fields are left out. */
export function encodeCustomHeader(header: object): Array<[string, string]> {
  const className = header.constructor.name;
  const entries: Array<[string, string]> = [];
  for (const spec of fieldsOf(header)) {
    const value: unknown = (header as Record<string, unknown>)[spec.property];
    if (value === undefined || value === null) {
      if (spec.required) {
        throw new RemotingHeaderError(
          className,
          spec.key,
          `${className}: required field "${spec.key}" is not set`,
        );
      }
      continue;
    }
    entries.push([spec.key, toWire(className, spec, value)]);
  }
  return entries;
}

/** Builds an instance of `headerClass` from extFields, converting each declared field. */
export function decodeCustomHeader<T extends object>(
  headerClass: CustomHeaderClass<T>,
  extFields: ReadonlyMap<string, string>,
): T {
  const header = new headerClass();
  const className = headerClass.name;
  for (const spec of fieldsOf(header)) {
    const raw = extFields.get(spec.key);
    if (raw === undefined) {
      if (spec.required) {
        throw new RemotingHeaderError(
          className,
          spec.key,
          `${className}: required field "${spec.key}" is missing`,
        );
      }
      continue;
    }
    (header as Record<string, unknown>)[spec.property] = fromWire(className, spec, raw);
  }
  const maybeChecked = header as Partial<CheckedHeader>;
  if (typeof maybeChecked.checkFields === 'function') maybeChecked.checkFields();
  return header;
}

const INT_PATTERN = /^[+-]?\d+$/;
const LONG_MIN = -(2n ** 63n);
const LONG_MAX = 2n ** 63n - 1n;

function fromWire(className: string, spec: FieldSpec, raw: string): unknown {
  const malformed = (expected: string) =>
    new RemotingHeaderError(
      className,
      spec.key,
      `${className}: field "${spec.key}" is ${JSON.stringify(raw)}, which is not ${expected}`,
    );
  switch (spec.type) {
    case 'string':
      return raw;
    case 'int': {
      const text = raw.trim();
      if (!INT_PATTERN.test(text)) throw malformed('a 32-bit integer');
      const value = Number(text);
      if (value < -2147483648 || value > 2147483647) throw malformed('a 32-bit integer');
      return value;
    }
    case 'long': {
      const text = raw.trim();
      if (!INT_PATTERN.test(text)) throw malformed('a 64-bit integer');
      const value = BigInt(text);
      if (value < LONG_MIN || value > LONG_MAX) throw malformed('a 64-bit integer');
      return value;
    }
    case 'number': {
      const value = Number(raw);
      if (raw.trim() === '' || !Number.isFinite(value)) throw malformed('a number');
      return value;
    }
    case 'boolean': {
      const text = raw.trim().toLowerCase();
      if (text === 'true') return true;
      if (text === 'false') return false;
      throw malformed('"true" or "false"');
    }
  }
}

function toWire(className: string, spec: FieldSpec, value: unknown): string {
  const wrongType = (expected: string) =>
    new RemotingHeaderError(
      className,
      spec.key,
      `${className}: field "${spec.key}" holds ${typeof value} ${String(value)}, expected ${expected}`,
    );
  switch (spec.type) {
    case 'string':
      if (typeof value !== 'string') throw wrongType('a string');
      return value;
    case 'int':
      if (
        typeof value !== 'number' ||
        !Number.isInteger(value) ||
        value < -2147483648 ||
        value > 2147483647
      ) {
        throw wrongType('a 32-bit integer');
      }
      return String(value);
    case 'long':
      if (typeof value === 'bigint' && value >= LONG_MIN && value <= LONG_MAX) return value.toString();
      if (typeof value === 'number' && Number.isSafeInteger(value)) return String(value);
      throw wrongType('a 64-bit integer (bigint)');
    case 'number':
      if (typeof value !== 'number' || !Number.isFinite(value)) throw wrongType('a finite number');
      return String(value);
    case 'boolean':
      if (typeof value !== 'boolean') throw wrongType('a boolean');
      return value ? 'true' : 'false';
  }
}
