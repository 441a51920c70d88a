// Our declarations name Node's types (Buffer, node:net, node:tls): this line,
// kept in the emitted index.d.ts, loads @types/node for a consumer even when
// its tsconfig says `"types": []` (what `tsc --init` writes).
/// <reference types="node" preserve="true" />
/**
 * RocketMQ's remoting layer for Node.js, wire-compatible with the Java
 * implementation: {@link RemotingServer} and {@link RemotingClient} (and
 * {@link BlockingRemotingClient}, whose calls block the calling thread), the
 * {@link RemotingCommand} they exchange, custom headers ({@link HeaderField}),
 * processors and controllers ({@link RequestMapping}), and typed errors
 * ({@link RemotingError}).
 *
 * What is exported is what a user calls, implements, catches or reads; the
 * machinery behind it (permits, the response table, the partial-frame budget,
 * writability queues) is not. {@link Channel} and {@link RemotingService} are
 * exported as types only: a server hands its channels to processors, events
 * and `server.invokeSync(channel, ...)`, and a user never constructs one.
 *
 * @packageDocumentation
 */
export {
  BlockingRemotingClient,
  type BlockingRemotingClientOptions,
} from './blocking/blocking-client.js';
export {
  type BlockingWorkerFailure,
  type ReentrantCallSite,
  RemotingReentrantCallError,
  RemotingWorkerError,
} from './blocking/errors.js';
export {
  RemotingClient,
  type RemotingClientOptions,
} from './client.js';
export {
  ClusterRestartLimitError,
  type ClusterWorkerFacts,
  ClusterWorkerStartError,
} from './cluster/errors.js';
export {
  type ClusterWorkerExit,
  type ClusterWorkerExitReason,
  type ClusterWorkerInfo,
  type ClusterWorkerStats,
  ServerCluster,
  type ServerClusterEvents,
  type ServerClusterOptions,
  startServerCluster,
} from './cluster/primary.js';
export type { ClusterRestartOptions } from './cluster/restart-policy.js';
export {
  type ClusterServerFactory,
  type ClusterWorkerContext,
  runClusterWorker,
} from './cluster/worker.js';
export {
  type NameServerAttempt,
  type NameServerAttemptOutcome,
  NameServerUnavailableError,
} from './name-server/errors.js';
export type { NameServerStats, NameServerStatus } from './name-server/list.js';
export {
  DEFAULT_MAX_FRAME_BYTES,
  GO_AWAY_MIN_VERSION,
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
  RemotingEncodeError,
  RemotingError,
  type RemotingErrorOptions,
  RemotingHeaderError,
  RemotingProtocolError,
} from './protocol/errors.js';
export type { ForeignProtocol } from './protocol/foreign-protocol.js';
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
  type CallWrittenMessage,
  type ChannelErrorMessage,
  type ChannelMessage,
  diagnosticsChannels,
  type EndpointSide,
  type InvokeMode,
  type RequestEndMessage,
  type RequestErrorMessage,
  type RequestStartMessage,
  type UserCodeErrorMessage,
  type UserCodeKind,
  type UserCodeOutcome,
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
export type { OnewayCallback } from './remoting/oneway-write.js';
export type { InvokeOptions, ResponseTableScanOptions } from './remoting/outbound-invoker.js';
export type { RequestContext, RequestProcessor, RPCHook } from './remoting/processor.js';
export { RequestMapping, type RequestMappingDecorator } from './remoting/processor-registry.js';
export type { EndpointStats } from './remoting/remoting-endpoint.js';
export type { InvokeCallback } from './remoting/response-future.js';
export type { RemotingService } from './remoting-service.js';
export {
  RemotingServer,
  type RemotingServerOptions,
  type ServerTlsOptions,
  type ShutdownOptions,
  type TlsMode,
} from './server.js';
export type { Channel, ChannelEvents, WriteCallback, WriteListener } from './transport/channel.js';
export { type HostPort, parseAddress } from './transport/connect.js';
export { ChannelClosedError, RemotingConnectError } from './transport/errors.js';
export type { ProxyProtocolMode } from './transport/first-bytes.js';
export { PartialFramesOverBudgetError } from './transport/partial-frame-budget.js';
