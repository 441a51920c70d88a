import {
  type NameServerStats,
  parseAddress,
  RemotingClient,
  type RemotingCommand,
} from '@remoting-ts/remoting';
import { BrokerConfigError } from '../protocol/errors.js';

/**
 * Bootstrap addresses as the command line gives them: `host:port[,host:port...]`.
 * Blank entries (a trailing comma) are ignored, duplicates collapse, and a
 * malformed entry is refused by name.
 */
export function parseBootstrapList(value: string | readonly string[]): string[] {
  const entries = (typeof value === 'string' ? [value] : value)
    .flatMap((v) => v.split(','))
    .map((v) => v.trim())
    .filter((v) => v !== '');
  if (entries.length === 0) throw new BrokerConfigError('--bootstrap needs at least one host:port');
  for (const entry of entries) {
    try {
      parseAddress(entry);
    } catch {
      throw new BrokerConfigError(`--bootstrap entry ${JSON.stringify(entry)} is not host:port`);
    }
  }
  return [...new Set(entries)];
}

/**
 * Calls "any bootstrap broker": the remoting client's name server list
 * (RocketMQ's calls with a null address). A call goes to the broker chosen
 * last time while its connection holds, and moves on to the next one in the
 * list when it cannot connect, all within the call's timeout.
 */
export interface BootstrapClient {
  invokeSync(request: RemotingCommand, timeoutMs: number): Promise<RemotingCommand>;
  /** Which bootstrap broker is chosen and what is known of each. */
  stats(): NameServerStats;
  shutdown(): Promise<void>;
}

export function createBootstrapClient(
  addresses: readonly string[],
  options: { connectTimeoutMs?: number } = {},
): BootstrapClient {
  const client = new RemotingClient({ connectTimeoutMs: options.connectTimeoutMs ?? 3000 });
  client.updateNameServerAddressList(addresses);
  return {
    invokeSync: (request, timeoutMs) => client.invokeSync(null, request, timeoutMs),
    stats: () => client.nameServerStats(),
    shutdown: () => client.shutdown(),
  };
}
