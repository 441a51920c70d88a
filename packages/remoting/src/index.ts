// Our declarations name Node's types (Buffer, node:net, node:tls): this line,
// kept in the emitted index.d.ts, loads @types/node for a consumer even when
// its tsconfig says `"types": []` (what `tsc --init` writes).
/// <reference types="node" preserve="true" />
/**
 * RocketMQ's remoting layer for Node.js, wire-compatible with the Java
 * implementation: {@link RemotingServer} and {@link RemotingClient}, the
 * {@link RemotingCommand} they exchange, custom headers ({@link HeaderField}),
 * processors and controllers ({@link RequestMapping}), and typed errors
 * ({@link RemotingError}).
 *
 * @packageDocumentation
 */
export {
  type NameServerAttempt,
  type NameServerAttemptOutcome,
  NameServerUnavailableError,
} from './client/name-server-errors.js';
export type { NameServerStats, NameServerStatus } from './client/name-server-list.js';
export {
  RemotingClient,
  type RemotingClientOptions,
} from './client.js';
export {
  DEFAULT_MAX_FRAME_BYTES,
  LanguageCode,
  type LanguageName,
  languageFromName,
  languageName,
  ResponseCode,
  RpcFlag,
  SerializeType,
  type SerializeTypeName,
  serializeTypeName,
} from './protocol/codes.js';
export {
  type CheckedHeader,
  type CustomHeaderClass,
  HeaderField,
  type HeaderFieldDecorator,
  type HeaderFieldOptions,
  type HeaderFieldType,
} from './protocol/custom-header.js';
export {
  RemotingError,
  type RemotingErrorOptions,
  RemotingHeaderError,
  RemotingProtocolError,
} from './protocol/errors.js';
export { FrameDecoder, type FrameDecoderOptions } from './protocol/frame-decoder.js';
export {
  explainFrame,
  type FormatExplanationOptions,
  type FrameExplanationRow,
  formatExplanation,
} from './protocol/frame-explainer.js';
export type { HeaderFields } from './protocol/header-fields.js';
export {
  commandDefaults,
  type DecodeOptions,
  nextOpaque,
  RemotingCommand,
} from './protocol/remoting-command.js';
export type { ExecutorOptions } from './remoting/bounded-executor.js';
export type { CodeStatsSnapshot } from './remoting/code-stats.js';
export { CountDownLatch } from './remoting/count-down-latch.js';
export {
  type CallEndMessage,
  type CallErrorMessage,
  type CallStartMessage,
  type ChannelErrorMessage,
  type ChannelMessage,
  diagnosticsChannels,
  type EndpointSide,
  type InvokeMode,
  type RequestEndMessage,
  type RequestErrorMessage,
  type RequestStartMessage,
} from './remoting/diagnostics.js';
export {
  type InvocationFacts,
  RemotingAbortError,
  RemotingCommandError,
  RemotingOpaqueInUseError,
  RemotingSendRequestError,
  RemotingShutdownError,
  RemotingTimeoutError,
  RemotingTooMuchRequestError,
} from './remoting/errors.js';
export type { ChannelEventListener, RemotingEvents } from './remoting/events.js';
export { Remarks } from './remoting/inbound-dispatcher.js';
export type { InvokeOptions, ResponseTableScanOptions } from './remoting/outbound-invoker.js';
export type { PermitRelease } from './remoting/permits.js';
export { Permits } from './remoting/permits.js';
export type { RequestContext, RequestProcessor, RPCHook } from './remoting/processor.js';
export { RequestMapping, type RequestMappingDecorator } from './remoting/processor-registry.js';
export type { EndpointStats } from './remoting/remoting-endpoint.js';
export type { InvokeCallback, ResponseFutureState } from './remoting/response-future.js';
export { RemotingService } from './remoting-service.js';
export {
  DEFAULT_MAX_PARTIAL_FRAME_BYTES_TOTAL,
  RemotingServer,
  type RemotingServerOptions,
  type ServerTlsOptions,
  type ShutdownOptions,
  type TlsMode,
} from './server.js';
export {
  Channel,
  type ChannelEvents,
  type ChannelOptions,
  DEFAULT_WRITE_BUFFER_HIGH_WATER_MARK,
  DEFAULT_WRITE_BUFFER_LOW_WATER_MARK,
  type WriteCallback,
  type WriteListener,
} from './transport/channel.js';
export { type HostPort, parseAddress } from './transport/connect.js';
export { ChannelClosedError, RemotingConnectError } from './transport/errors.js';
export { PartialFrameBudget, PartialFramesOverBudgetError } from './transport/partial-frame-budget.js';
