import { debuglog } from 'node:util';

/**
 * `NODE_DEBUG=remoting` logs connection lifecycle and protocol errors to
 * stderr (Node's util.debuglog); otherwise every call is a no-op.
 */
export const debugLog = debuglog('remoting');
