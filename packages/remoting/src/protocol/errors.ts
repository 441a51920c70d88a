/**
 * The root of every error the framework raises. `code` is stable and meant for
 * programs (branch on it); `message` is for people and may change.
 */
export class RemotingError extends Error {
  readonly code: string;
  /** True when repeating the same call may succeed (a timeout, a dropped connection). */
  readonly retriable: boolean;

  constructor(code: string, message: string, options?: { cause?: unknown; retriable?: boolean }) {
    super(message, options?.cause === undefined ? undefined : { cause: options.cause });
    this.name = new.target.name;
    this.code = code;
    this.retriable = options?.retriable ?? false;
  }
}

/**
 * Bytes that are not a valid RocketMQ remoting frame. The connection that sent
 * them cannot be resynchronised and must be closed.
 */
export class RemotingProtocolError extends RemotingError {
  /** Byte offset in the stream where the offending frame starts, when known. */
  readonly streamOffset: number | undefined;

  constructor(message: string, options?: { streamOffset?: number; cause?: unknown }) {
    const where =
      options?.streamOffset === undefined ? '' : ` (frame at stream offset ${options.streamOffset})`;
    super('REMOTING_PROTOCOL', `${message}${where}`, { cause: options?.cause });
    this.streamOffset = options?.streamOffset;
  }
}

/**
 * A custom header could not be built from, or written to, extFields: a required
 * field is missing or a value does not convert to the declared type.
 */
export class RemotingHeaderError extends RemotingError {
  readonly headerClass: string;
  readonly field: string | undefined;

  constructor(headerClass: string, field: string | undefined, message: string) {
    super('REMOTING_HEADER', message);
    this.headerClass = headerClass;
    this.field = field;
  }
}
