import type { RemotingCommand } from '../protocol/remoting-command.js';
import type { Channel } from '../transport/channel.js';

/** What a processor knows about the request it is handling. */
export interface RequestContext {
  /** The peer, as "host:port". */
  readonly remoteAddress: string;
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
  doBeforeRequest?(remoteAddress: string, request: RemotingCommand): void;
  doAfterResponse?(remoteAddress: string, request: RemotingCommand, response: RemotingCommand | null): void;
}
