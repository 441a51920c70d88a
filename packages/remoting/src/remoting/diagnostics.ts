/**
 * Named `node:diagnostics_channel` channels the framework publishes to. Any
 * module may subscribe (`diagnostics_channel.subscribe(name, fn)`); the
 * framework builds and publishes a message only while a channel has
 * subscribers, so an unobserved process pays one boolean check per event.
 *
 * | Channel                           | When                                         | Message                   |
 * |-----------------------------------|----------------------------------------------|---------------------------|
 * | `remoting-ts:call:start`          | a call (sync/async/oneway) begins            | {@link CallStartMessage}  |
 * | `remoting-ts:call:end`            | a call ends with a response (oneway: written)| {@link CallEndMessage}    |
 * | `remoting-ts:call:error`          | a call ends with an error                    | {@link CallErrorMessage}  |
 * | `remoting-ts:call:written`        | a call's request was handed to the socket    | {@link CallWrittenMessage} |
 * | `remoting-ts:request:start`       | a served request reaches its processor       | {@link RequestStartMessage} |
 * | `remoting-ts:request:end`         | a served request's processing ended          | {@link RequestEndMessage} |
 * | `remoting-ts:request:error`       | a processor threw or rejected                | {@link RequestErrorMessage} |
 * | `remoting-ts:channel:connect`     | a connection was attached                    | {@link ChannelMessage}    |
 * | `remoting-ts:channel:close`       | a connection closed                          | {@link ChannelMessage}    |
 * | `remoting-ts:channel:protocolError` | a peer sent bytes that are not a frame     | {@link ChannelErrorMessage} |
 * | `remoting-ts:user-code:error`     | a function a user handed us threw            | {@link UserCodeErrorMessage} |
 *
 * Calls are the ones this side makes (a client's, or a server's call back to
 * a client); requests are the ones it serves. `side` says which kind of
 * endpoint published.
 */
import diagnosticsChannel from 'node:diagnostics_channel';
import type { RemotingCommand } from '../protocol/remoting-command.js';

/** Which kind of endpoint published a message. */
export type EndpointSide = 'client' | 'server';

/** How a call waits for its answer: RocketMQ's invokeSync / invokeAsync / invokeOneway. */
export type InvokeMode = 'sync' | 'async' | 'oneway';

/** `remoting-ts:call:start`: a call begins (before hooks, permits and connection waits). */
export interface CallStartMessage {
  /** Which kind of endpoint published: the client, or the server. */
  side: EndpointSide;
  /** How the call waits: sync, async or oneway (RocketMQ invokeSync / invokeAsync / invokeOneway). */
  mode: InvokeMode;
  /** Address (`host:port`) of the peer the call goes to. */
  remoteAddress: string;
  /** The request the call sends (published before RPC hooks run on it). */
  request: RemotingCommand;
  /** The call's timeout, in milliseconds (RocketMQ `timeoutMillis`). */
  timeoutMs: number;
}

/** `remoting-ts:call:end`: a call ended with a response, or a oneway call was written. */
export interface CallEndMessage {
  /** Which kind of endpoint published: the client, or the server. */
  side: EndpointSide;
  /** How the call waits: sync, async or oneway (RocketMQ invokeSync / invokeAsync / invokeOneway). */
  mode: InvokeMode;
  /** Address (`host:port`) of the peer the call goes to. */
  remoteAddress: string;
  /** The request's command code (RocketMQ RemotingCommand `code`). */
  requestCode: number;
  /** The request's opaque: the id pairing its response with it (RocketMQ `opaque`). */
  opaque: number;
  /** From the call's start to its end, in milliseconds. */
  durationMs: number;
  /** The response; null for a oneway call. */
  response: RemotingCommand | null;
}

/** `remoting-ts:call:error`: a call ended with an error (timeout, send failure, abort, no permit, close). */
export interface CallErrorMessage {
  /** Which kind of endpoint published: the client, or the server. */
  side: EndpointSide;
  /** How the call waits: sync, async or oneway (RocketMQ invokeSync / invokeAsync / invokeOneway). */
  mode: InvokeMode;
  /** Address (`host:port`) of the peer the call goes to. */
  remoteAddress: string;
  /** The request's command code (RocketMQ RemotingCommand `code`). */
  requestCode: number;
  /** The request's opaque: the id pairing its response with it (RocketMQ `opaque`). */
  opaque: number;
  /** From the call's start to its end, in milliseconds. */
  durationMs: number;
  /** A RemotingError subclass: its `code` says what happened. */
  error: Error;
}

/**
 * `remoting-ts:call:written`: the socket took a call's request (its bytes
 * are the kernel's now), or for a oneway call, the socket took it after its
 * `call:end`. From here the peer may have it; before, the call waited for a
 * writable connection or for this tick's batch. A call whose write fails
 * publishes `call:error` instead. Only a write watched while the channel had
 * a subscriber is reported.
 */
export interface CallWrittenMessage {
  /** Which kind of endpoint published: the client, or the server. */
  side: EndpointSide;
  /** How the call waits: sync, async or oneway (RocketMQ invokeSync / invokeAsync / invokeOneway). */
  mode: InvokeMode;
  /** Address (`host:port`) of the peer the call goes to. */
  remoteAddress: string;
  /** The request's command code (RocketMQ RemotingCommand `code`). */
  requestCode: number;
  /** The request's opaque: the id pairing its response with it (RocketMQ `opaque`). */
  opaque: number;
  /** From the call's start to the socket taking its bytes, in milliseconds. */
  durationMs: number;
}

/** `remoting-ts:request:start`: a served request reaches its processor (after the executor's queue). */
export interface RequestStartMessage {
  /** Which kind of endpoint published: the client, or the server. */
  side: EndpointSide;
  /** Address (`host:port`) of the peer that sent the request. */
  remoteAddress: string;
  /** The request as received. */
  request: RemotingCommand;
}

/** `remoting-ts:request:end`: the processor returned or resolved. */
export interface RequestEndMessage {
  /** Which kind of endpoint published: the client, or the server. */
  side: EndpointSide;
  /** Address (`host:port`) of the peer that sent the request. */
  remoteAddress: string;
  /** The request as received. */
  request: RemotingCommand;
  /** The processor's response; null when it returned none (oneway, or answered later via writeResponse). */
  response: RemotingCommand | null;
  /** Processing time in milliseconds, from dispatch to the processor's return/resolution. */
  durationMs: number;
}

/** `remoting-ts:request:error`: the processor (or a hook) threw or rejected; the peer is answered SYSTEM_ERROR. */
export interface RequestErrorMessage {
  /** Which kind of endpoint published: the client, or the server. */
  side: EndpointSide;
  /** Address (`host:port`) of the peer that sent the request. */
  remoteAddress: string;
  /** The request as received. */
  request: RemotingCommand;
  /** What the processor or hook threw or rejected with. */
  error: Error;
  /** Processing time in milliseconds. */
  durationMs: number;
}

/** `remoting-ts:channel:connect` and `remoting-ts:channel:close`. Addresses are "host:port". */
export interface ChannelMessage {
  /** Which kind of endpoint published: the client, or the server. */
  side: EndpointSide;
  /** The peer's address (`host:port`). */
  remoteAddress: string;
  /** This side's address (`host:port`) of the connection. */
  localAddress: string;
}

/** `remoting-ts:channel:protocolError`: `error` is a RemotingProtocolError; the connection closes. */
export interface ChannelErrorMessage extends ChannelMessage {
  /** The RemotingProtocolError that says what was wrong with the bytes. */
  error: Error;
}

/**
 * Which function a user handed the framework threw (or rejected):
 * - `invokeCallback`: the callback of `invokeAsync`;
 * - `doBeforeRequest`, `doAfterResponse`: an RPC hook, on a call made or a request served;
 * - `processRequest`, `rejectRequest`: a processor;
 * - `onResponseWritten`: a callback given to `RequestContext.onResponseWritten`;
 * - `eventListener`: a listener of a server's or client's `connect`, `close`, `exception` or `idle` event;
 * - `channelEventListener`: a method of the `channelEventListener` option.
 */
export type UserCodeKind =
  | 'invokeCallback'
  | 'doBeforeRequest'
  | 'doAfterResponse'
  | 'processRequest'
  | 'rejectRequest'
  | 'onResponseWritten'
  | 'eventListener'
  | 'channelEventListener';

/**
 * Where a user-code failure went:
 * - `call`: the call it belonged to failed with the thrown error (a hook of a call made);
 * - `response`: the peer was answered SYSTEM_ERROR and `exception` was emitted (a hook, processor or rejectRequest of a request served);
 * - `uncaught`: it was thrown again on a later tick, off the I/O path, as Node does for a throwing callback or listener (process `uncaughtException`).
 */
export type UserCodeOutcome = 'call' | 'response' | 'uncaught';

/**
 * `remoting-ts:user-code:error`: a function a user handed the framework threw.
 * Published for every such failure, whatever else reports it, before it surfaces.
 */
export interface UserCodeErrorMessage {
  /** Which kind of endpoint published: the client, or the server. */
  side: EndpointSide;
  /** Which function threw. */
  kind: UserCodeKind;
  /** Where the failure went. */
  outcome: UserCodeOutcome;
  /** The peer (`host:port`) of the call, request or connection concerned; null when none. */
  remoteAddress: string | null;
  /** The request code of the call or request concerned; null for connection events. */
  requestCode: number | null;
  /** What was thrown (not always an Error). */
  error: unknown;
}

/** The channels, by name; `diagnosticsChannels.callStart.name` etc. give the strings. */
export const diagnosticsChannels = {
  /** `remoting-ts:call:start`, publishes {@link CallStartMessage}. */
  callStart: diagnosticsChannel.channel('remoting-ts:call:start'),
  /** `remoting-ts:call:end`, publishes {@link CallEndMessage}. */
  callEnd: diagnosticsChannel.channel('remoting-ts:call:end'),
  /** `remoting-ts:call:error`, publishes {@link CallErrorMessage}. */
  callError: diagnosticsChannel.channel('remoting-ts:call:error'),
  /** `remoting-ts:call:written`, publishes {@link CallWrittenMessage}. */
  callWritten: diagnosticsChannel.channel('remoting-ts:call:written'),
  /** `remoting-ts:request:start`, publishes {@link RequestStartMessage}. */
  requestStart: diagnosticsChannel.channel('remoting-ts:request:start'),
  /** `remoting-ts:request:end`, publishes {@link RequestEndMessage}. */
  requestEnd: diagnosticsChannel.channel('remoting-ts:request:end'),
  /** `remoting-ts:request:error`, publishes {@link RequestErrorMessage}. */
  requestError: diagnosticsChannel.channel('remoting-ts:request:error'),
  /** `remoting-ts:channel:connect`, publishes {@link ChannelMessage}. */
  channelConnect: diagnosticsChannel.channel('remoting-ts:channel:connect'),
  /** `remoting-ts:channel:close`, publishes {@link ChannelMessage}. */
  channelClose: diagnosticsChannel.channel('remoting-ts:channel:close'),
  /** `remoting-ts:channel:protocolError`, publishes {@link ChannelErrorMessage}. */
  channelProtocolError: diagnosticsChannel.channel('remoting-ts:channel:protocolError'),
  /** `remoting-ts:user-code:error`, publishes {@link UserCodeErrorMessage}. */
  userCodeError: diagnosticsChannel.channel('remoting-ts:user-code:error'),
} as const;
