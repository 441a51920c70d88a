import type { ForeignProtocol } from './foreign-protocol.js';

/** Options every {@link RemotingError} takes. */
export interface RemotingErrorOptions {
  /** The error underneath (a socket error, a parse error), kept as `error.cause`. */
  cause?: unknown;
  /** True when repeating the same call may succeed. Default false. */
  retriable?: boolean;
  /**
   * Whether the request's bytes had been handed to the socket: true, false, or
   * undefined when the error concerns no outgoing request or nobody can know.
   */
  written?: boolean;
}

/** Instance property holding the brand of every class in an error's class chain. */
const BRANDS = Symbol.for('remoting-ts.error.brands');
/** Static property a class may set to choose its brand; otherwise its name makes one. */
const BRAND = Symbol.for('remoting-ts.error.brand');

type BrandedClass = abstract new (...args: never[]) => unknown;

function brandOf(errorClass: BrandedClass): symbol {
  if (Object.hasOwn(errorClass, BRAND))
    return (errorClass as unknown as Record<symbol, symbol>)[BRAND] as symbol;
  return Symbol.for(`remoting-ts.error.${errorClass.name}`);
}

/**
 * The root of every error the framework raises. `code` is stable and meant for
 * programs (branch on it); `message` is for people and may change.
 *
 * `retriable` and `written` are the one way to classify a failure: a retry
 * loop retries when `retriable` is true, and may resend a non-idempotent
 * request only when `written` is false (the peer cannot have seen it).
 *
 * `instanceof` works across two copies of this package (two versions in one
 * node_modules tree, or an ESM and a bundled copy): every instance carries a
 * `Symbol.for`-keyed brand per class in its chain, and `Symbol.hasInstance`
 * checks the brand when the prototype check fails, as undici does.
 */
export class RemotingError extends Error {
  /** The brand of this class itself; subclasses get one from their name. */
  static readonly [BRAND]: symbol = Symbol.for('remoting-ts.error.RemotingError');

  /** A stable, machine-readable code such as `REMOTING_TIMEOUT`. */
  readonly code: string;
  /** True when repeating the same call may succeed (a timeout, a dropped connection). */
  readonly retriable: boolean;
  /**
   * True when the request had been written to the socket, so the peer may have
   * acted on it; false when it certainly was not; undefined when the error is
   * not about an outgoing request.
   */
  readonly written: boolean | undefined;

  /**
   * @param code - stable code for programs, e.g. `REMOTING_PROTOCOL`.
   * @param message - the facts for a person.
   */
  constructor(code: string, message: string, options?: RemotingErrorOptions) {
    super(message, options?.cause === undefined ? undefined : { cause: options.cause });
    this.name = new.target.name;
    this.code = code;
    this.retriable = options?.retriable ?? false;
    this.written = options?.written;
    const brands: symbol[] = [];
    for (
      let errorClass: BrandedClass | null = new.target;
      errorClass !== null && errorClass !== (Error as unknown);
      errorClass = Object.getPrototypeOf(errorClass) as BrandedClass | null
    ) {
      brands.push(brandOf(errorClass));
    }
    Object.defineProperty(this, BRANDS, { value: brands, enumerable: false });
  }

  /** `instanceof` that also recognises errors from another copy of this package. */
  static override [Symbol.hasInstance](
    this: abstract new (
      ...args: never[]
    ) => unknown,
    instance: unknown,
  ): boolean {
    if (typeof instance !== 'object' || instance === null) return false;
    // `this` is the class on the right of `instanceof` (a subclass included), not RemotingError.
    // biome-ignore lint/complexity/noThisInStatic: the receiver is the subclass being tested
    if (Function.prototype[Symbol.hasInstance].call(this, instance)) return true;
    const brands = (instance as Record<symbol, unknown>)[BRANDS];
    // biome-ignore lint/complexity/noThisInStatic: as above, the subclass's own brand
    return Array.isArray(brands) && brands.includes(brandOf(this));
  }
}

/**
 * Bytes that are not a valid RocketMQ remoting frame (RocketMQ's
 * RemotingCommandException from decoding). The connection that sent them
 * cannot be resynchronised and is closed. Code `REMOTING_PROTOCOL`.
 */
export class RemotingProtocolError extends RemotingError {
  /** Byte offset in the stream where the offending frame starts, when known. */
  readonly streamOffset: number | undefined;
  /**
   * The protocol the connection's first bytes belong to, when they were
   * another protocol's (an HTTP/2 preface, a TLS handshake, ...); undefined
   * for a malformed remoting frame.
   */
  readonly foreignProtocol: ForeignProtocol | undefined;

  constructor(
    message: string,
    options?: { streamOffset?: number; cause?: unknown; foreignProtocol?: ForeignProtocol },
  ) {
    const where =
      options?.streamOffset === undefined ? '' : ` (frame at stream offset ${options.streamOffset})`;
    super('REMOTING_PROTOCOL', `${message}${where}`, { cause: options?.cause });
    this.streamOffset = options?.streamOffset;
    this.foreignProtocol = options?.foreignProtocol;
  }
}

/**
 * A custom header could not be built from, or written to, extFields: a required
 * field is missing, a value does not convert to the declared type, or a header
 * class is declared wrongly (RocketMQ's RemotingCommandException from
 * decodeCommandCustomHeader / checkFields). Code `REMOTING_HEADER`.
 */
export class RemotingHeaderError extends RemotingError {
  /** The name of the header class involved. */
  readonly headerClass: string;
  /** The extFields key (or property name) at fault, when one is. */
  readonly field: string | undefined;

  constructor(headerClass: string, field: string | undefined, message: string) {
    super('REMOTING_HEADER', message);
    this.headerClass = headerClass;
    this.field = field;
  }
}

/**
 * A command cannot be written in its serialization: a value does not fit the
 * field that carries it. RocketMQ's binary (ROCKETMQ) header holds `code` and
 * `version` as int16 (-32768..32767) and an extFields key in at most 32767
 * bytes; Java truncates the code silently (RocketMQ 5's POP code 200050 goes
 * out as 3442), we refuse. JSON serialization carries all of them. Nothing
 * was written: `written` false; `retriable` false (the same command fails the
 * same way). Code `REMOTING_ENCODE`.
 */
export class RemotingEncodeError extends RemotingError {
  /** The header field whose value does not fit. */
  readonly field: 'code' | 'version' | 'extFields key';
  /** The value that does not fit (a key's byte length for `extFields key`). */
  readonly value: number;
  declare readonly written: false;

  constructor(field: 'code' | 'version' | 'extFields key', value: number, message: string) {
    super('REMOTING_ENCODE', message, { retriable: false, written: false });
    this.field = field;
    this.value = value;
  }
}
