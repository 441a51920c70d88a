import type { RemotingCommand } from '../protocol/remoting-command.js';
import type { EndpointSide, UserCodeOutcome } from './diagnostics.js';
import type { RPCHook } from './processor.js';
import { asError, userCodeFailed } from './user-code.js';

/**
 * The RPC hooks of one server or client, run in registration order around
 * every call and request. Each run is guarded: a hook that throws stops the
 * hooks after it, is reported on `remoting-ts:user-code:error`, and comes
 * back as the error the caller then fails the call or request with.
 */
export class RpcHooks {
  private readonly hooks: RPCHook[];

  constructor(
    private readonly side: EndpointSide,
    initial: readonly RPCHook[] = [],
  ) {
    this.hooks = [...initial];
  }

  get isEmpty(): boolean {
    return this.hooks.length === 0;
  }

  add(hook: RPCHook): void {
    this.hooks.push(hook);
  }

  /** Runs every `doBeforeRequest`; returns what one threw (as an Error), or null. */
  beforeRequest(remoteAddress: string, request: RemotingCommand, outcome: UserCodeOutcome): Error | null {
    try {
      for (const hook of this.hooks) hook.doBeforeRequest?.(remoteAddress, request);
      return null;
    } catch (thrown) {
      return this.threw('doBeforeRequest', outcome, remoteAddress, request, thrown);
    }
  }

  /** Runs every `doAfterResponse`; returns what one threw (as an Error), or null. */
  afterResponse(
    remoteAddress: string,
    request: RemotingCommand,
    response: RemotingCommand | null,
    outcome: UserCodeOutcome,
  ): Error | null {
    try {
      for (const hook of this.hooks) hook.doAfterResponse?.(remoteAddress, request, response);
      return null;
    } catch (thrown) {
      return this.threw('doAfterResponse', outcome, remoteAddress, request, thrown);
    }
  }

  private threw(
    kind: 'doBeforeRequest' | 'doAfterResponse',
    outcome: UserCodeOutcome,
    remoteAddress: string,
    request: RemotingCommand,
    thrown: unknown,
  ): Error {
    userCodeFailed({
      side: this.side,
      kind,
      outcome,
      remoteAddress,
      requestCode: request.code,
      error: thrown,
    });
    return asError(thrown);
  }
}
