/**
 * Numeric constants of the RocketMQ remoting protocol. Values are RocketMQ's own
 * (org.apache.rocketmq.remoting.protocol.LanguageCode, SerializeType,
 * RemotingSysResponseCode); peers compare the numbers, so they must never drift.
 */

/** The client language a command says it came from (one byte in the binary header). */
export const LanguageCode = {
  JAVA: 0,
  CPP: 1,
  DOTNET: 2,
  PYTHON: 3,
  DELPHI: 4,
  ERLANG: 5,
  RUBY: 6,
  OTHER: 7,
  HTTP: 8,
  GO: 9,
  PHP: 10,
  OMS: 11,
  RUST: 12,
  NODE_JS: 13,
} as const;
export type LanguageCode = (typeof LanguageCode)[keyof typeof LanguageCode];
export type LanguageName = keyof typeof LanguageCode;

const languageNames = new Map<number, LanguageName>(
  Object.entries(LanguageCode).map(([name, code]) => [code, name as LanguageName]),
);

/** The enum name a JSON header carries for a language code; unknown codes become "OTHER". */
export function languageName(code: number): LanguageName {
  return languageNames.get(code) ?? 'OTHER';
}

/** The language code for a JSON enum name, or undefined when the name is not one RocketMQ knows. */
export function languageFromName(name: string): LanguageCode | undefined {
  return Object.hasOwn(LanguageCode, name) ? LanguageCode[name as LanguageName] : undefined;
}

/** How the header of a frame is serialized: the high byte of the header-length word. */
export const SerializeType = {
  JSON: 0,
  ROCKETMQ: 1,
} as const;
export type SerializeType = (typeof SerializeType)[keyof typeof SerializeType];
export type SerializeTypeName = keyof typeof SerializeType;

export function serializeTypeName(type: SerializeType): SerializeTypeName {
  return type === SerializeType.ROCKETMQ ? 'ROCKETMQ' : 'JSON';
}

/**
 * Response codes the remoting layer itself produces (RemotingSysResponseCode).
 * Application protocols (the broker demo, RocketMQ's ResponseCode) add their own above these.
 */
export const ResponseCode = {
  SUCCESS: 0,
  SYSTEM_ERROR: 1,
  SYSTEM_BUSY: 2,
  REQUEST_CODE_NOT_SUPPORTED: 3,
  TRANSACTION_FAILED: 4,
} as const;
export type ResponseCode = (typeof ResponseCode)[keyof typeof ResponseCode];

/** Bits of the header's `flag` word. */
export const RpcFlag = {
  /** Set on responses; clear on requests. */
  RESPONSE: 1,
  /** Set on requests that expect no response. */
  ONEWAY: 2,
} as const;

/** Netty LengthFieldBasedFrameDecoder limit RocketMQ configures: 16 MiB, counting the 4-byte length prefix. */
export const DEFAULT_MAX_FRAME_BYTES = 16 * 1024 * 1024;
