import type { RemotingCommand } from '../protocol/remoting-command.js';
import type { RPCHook } from './processor.js';

/** The RPC hooks of one server or client, run in registration order around every call and request. */
export class RpcHooks {
  private readonly hooks: RPCHook[];

  constructor(initial: readonly RPCHook[] = []) {
    this.hooks = [...initial];
  }

  get isEmpty(): boolean {
    return this.hooks.length === 0;
  }

  add(hook: RPCHook): void {
    this.hooks.push(hook);
  }

  /** Runs every `doBeforeRequest`; a throwing hook stops the call or request (the throw propagates). */
  beforeRequest(remoteAddress: string, request: RemotingCommand): void {
    for (const hook of this.hooks) hook.doBeforeRequest?.(remoteAddress, request);
  }

  /** Runs every `doAfterResponse`; a throwing hook's error propagates. */
  afterResponse(remoteAddress: string, request: RemotingCommand, response: RemotingCommand | null): void {
    for (const hook of this.hooks) hook.doAfterResponse?.(remoteAddress, request, response);
  }
}
