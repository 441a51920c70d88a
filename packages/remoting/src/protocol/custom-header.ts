import 'reflect-metadata';
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

export interface HeaderFieldOptions {
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
  checkFields(): void;
}

const FIELDS_KEY = Symbol.for('remoting-ts:header-fields');

/** Marks a property of a header class as an extFields entry of the given type. */
export function HeaderField(options: HeaderFieldOptions): PropertyDecorator {
  return (target, propertyKey) => {
    if (typeof propertyKey !== 'string') throw new TypeError('@HeaderField needs a string property name');
    const inherited: FieldSpec[] = Reflect.getMetadata(FIELDS_KEY, target) ?? [];
    const own = inherited.filter((spec) => spec.property !== propertyKey);
    own.push({
      property: propertyKey,
      key: options.name ?? propertyKey,
      type: options.type,
      required: options.required ?? false,
    });
    Reflect.defineMetadata(FIELDS_KEY, own, target);
  };
}

function fieldsOf(header: object): FieldSpec[] {
  return Reflect.getMetadata(FIELDS_KEY, header) ?? [];
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
