import type { RemotingCommand } from '../protocol/remoting-command.js';
import type { Channel } from '../transport/channel.js';

/** What a processor knows about the request it is handling. */
export interface RequestContext {
  /** The peer, as "host:port". */
  readonly remoteAddress: string;
  /** The connection the request came in on (RocketMQ's ChannelHandlerContext channel). */
  readonly channel: Channel;
  /**
   * Sends the response later, for a processor that returned null and answers
   * asynchronously. The framework fills in opaque, the response flag and the
   * request's serialization. A second response, or one to a oneway request, is ignored.
   */
  writeResponse(response: RemotingCommand): void;
  /**
   * Runs `callback` once the response's bytes are handed to the kernel (or
   * with the error if they never will be); for a oneway request, once
   * processing ends. This is when a body borrowed from a buffer pool may go
   * back to it: the framework writes bodies without copying them.
   */
  onResponseWritten(callback: (error: Error | null) => void): void;
}

/** Handles requests of one code (or, as the default processor, of any code without its own). */
export interface RequestProcessor {
  /** The response, or null when there is none (oneway) or it will be written later via `ctx.writeResponse`. */
  processRequest(
    ctx: RequestContext,
    request: RemotingCommand,
  ): RemotingCommand | null | undefined | Promise<RemotingCommand | null | undefined>;
  /** True to refuse new requests for now (answered with SYSTEM_BUSY); e.g. while the store is slow. */
  rejectRequest?(): boolean;
}

/** Runs around every request a server or client processes, and around every call it makes. */
export interface RPCHook {
  /**
   * Runs before a call's request is sent, or before a served request reaches
   * its processor (RocketMQ RPCHook.doBeforeRequest); it may change the request,
   * e.g. add extFields. If it throws, a call fails with that error without
   * sending anything, and a served request is answered SYSTEM_ERROR (a oneway
   * one gets no answer).
   */
  doBeforeRequest?(remoteAddress: string, request: RemotingCommand): void;
  /**
   * Runs when a call got its response, or when a served request's processor
   * returned (RocketMQ RPCHook.doAfterResponse). `response` is null for a served
   * request that has no response (oneway, or written later via writeResponse).
   * If it throws, a sync call rejects with that error, and a served request is
   * answered SYSTEM_ERROR instead of its response.
   */
  doAfterResponse?(remoteAddress: string, request: RemotingCommand, response: RemotingCommand | null): void;
}
