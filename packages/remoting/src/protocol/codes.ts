/**
 * Numeric constants of the RocketMQ remoting protocol. Values are RocketMQ's own
 * (org.apache.rocketmq.remoting.protocol.LanguageCode, SerializeType,
 * RemotingSysResponseCode); peers compare the numbers, so they must never drift.
 */

/**
 * The client language a command says it came from (RocketMQ's LanguageCode;
 * one byte in the binary header, the enum name in a JSON header). RocketMQ
 * 4.9.7 knows 0..12 (RUST is its last); NODE_JS came with 5.x, which is why
 * new commands say JAVA by default (see {@link commandDefaults}).
 */
export const LanguageCode = {
  /** The Java client and servers; the default of new commands. */
  JAVA: 0,
  /** rocketmq-client-cpp. */
  CPP: 1,
  /** The .NET client. */
  DOTNET: 2,
  /** The Python client. */
  PYTHON: 3,
  /** Delphi. */
  DELPHI: 4,
  /** Erlang. */
  ERLANG: 5,
  /** Ruby. */
  RUBY: 6,
  /** Any other language; also what unknown codes are named in a JSON header. */
  OTHER: 7,
  /** The HTTP proxy. */
  HTTP: 8,
  /** rocketmq-client-go. */
  GO: 9,
  /** PHP. */
  PHP: 10,
  /** OpenMessaging. */
  OMS: 11,
  /** rocketmq-rust (RocketMQ 4.9.7 and 5.x know it). */
  RUST: 12,
  /** Node.js (recent RocketMQ 5.x only; 4.x reads it as null). */
  NODE_JS: 13,
} as const;
/** A LanguageCode number. */
export type LanguageCode = (typeof LanguageCode)[keyof typeof LanguageCode];
/** A LanguageCode name, as a JSON header spells it ("JAVA", "GO", ...). */
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
  /** A JSON object header, RocketMQ's default (fastjson on the Java side). */
  JSON: 0,
  /** RocketMQ's binary header (RocketMQSerializable), smaller and faster to parse. */
  ROCKETMQ: 1,
} as const;
/** A SerializeType number: 0 JSON, 1 ROCKETMQ. */
export type SerializeType = (typeof SerializeType)[keyof typeof SerializeType];
/** A SerializeType name, as the JSON header's `serializeTypeCurrentRPC` spells it. */
export type SerializeTypeName = keyof typeof SerializeType;

/** The name of a serialize type ("JSON" or "ROCKETMQ"). */
export function serializeTypeName(type: SerializeType): SerializeTypeName {
  return type === SerializeType.ROCKETMQ ? 'ROCKETMQ' : 'JSON';
}

/**
 * Response codes the remoting layer itself produces (RemotingSysResponseCode,
 * plus RocketMQ 5's GO_AWAY). Application protocols (the broker demo,
 * RocketMQ's ResponseCode) add their own above these.
 */
export const ResponseCode = {
  /** The request was served. */
  SUCCESS: 0,
  /** The processor threw; the remark describes the error (RocketMQ's exceptionSimpleDesc shape). */
  SYSTEM_ERROR: 1,
  /** Flow control: the processor rejected the request or its executor queue is full; try later. */
  SYSTEM_BUSY: 2,
  /** No processor for the request code and no default processor; the remark names the code. */
  REQUEST_CODE_NOT_SUPPORTED: 3,
  /** A transactional message operation failed (used by RocketMQ brokers). */
  TRANSACTION_FAILED: 4,
  /**
   * The server is shutting down and did not process the request: send it
   * again on a new connection, to another server if there is one (RocketMQ 5
   * ResponseCode.GO_AWAY, remark "please go away"). Servers send it only to
   * requests whose `version` is at least {@link GO_AWAY_MIN_VERSION}.
   */
  GO_AWAY: 1500,
} as const;
/** One of the system response codes. */
export type ResponseCode = (typeof ResponseCode)[keyof typeof ResponseCode];

/**
 * The lowest request `version` a shutting-down server answers with GO_AWAY;
 * lower versions get SYSTEM_BUSY (RocketMQ 5.3.3 serves them until the socket
 * closes). RocketMQ 5.3.3 compares with `MQVersion.Version.V5_1_4.ordinal()`
 * (475): a request with version 476 got GO_AWAY, 475 did not (5.2.0 to 5.3.1
 * used ordinal 441). RocketMQ's own 5.x clients send their MQVersion ordinal,
 * above it; this framework's default `version` is 0, so a client opts in
 * with `new RemotingClient({ version: GO_AWAY_MIN_VERSION })`.
 */
export const GO_AWAY_MIN_VERSION = 476;

/** Bits of the header's `flag` word. */
export const RpcFlag = {
  /** Set on responses; clear on requests. */
  RESPONSE: 1,
  /** Set on requests that expect no response. */
  ONEWAY: 2,
} as const;

/** Netty LengthFieldBasedFrameDecoder limit RocketMQ configures: 16 MiB, counting the 4-byte length prefix. */
export const DEFAULT_MAX_FRAME_BYTES = 16 * 1024 * 1024;
