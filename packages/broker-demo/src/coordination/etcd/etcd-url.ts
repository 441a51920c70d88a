import { parseAddress } from '@remoting-ts/remoting';
import { BrokerConfigError } from '../../protocol/errors.js';

/** Where a cluster's coordination lives, from `--coordinator etcd://HOST:PORT[,HOST:PORT...][/ROOT]`. */
export interface EtcdCoordinates {
  /** The etcd members' client URLs ("http://host:port"), as the etcd3 client takes them. */
  endpoints: string[];
  /** The key prefix every key of this cluster lives under ("/broker-demo"): one etcd can hold several clusters. */
  root: string;
  /** The URL as given, for messages. */
  url: string;
}

/** The root when the URL names none. */
export const DEFAULT_ETCD_ROOT = '/broker-demo';

/**
 * Parses `etcd://HOST:PORT[,HOST:PORT...][/ROOT]`. Several members are
 * listed with commas (the client moves to another when one fails); ROOT is a
 * path of letters, digits, `.`, `_` and `-` segments.
 * @throws BrokerConfigError naming what is wrong
 */
export function parseCoordinatorUrl(text: string): EtcdCoordinates {
  const match = /^etcd:\/\/([^/]+)(\/.*)?$/.exec(text.trim());
  if (match === null) {
    throw new BrokerConfigError(
      `--coordinator must be etcd://HOST:PORT[,HOST:PORT...][/ROOT], not ${JSON.stringify(text)}`,
    );
  }
  const members = match[1]!
    .split(',')
    .map((m) => m.trim())
    .filter((m) => m !== '');
  if (members.length === 0) throw new BrokerConfigError(`--coordinator ${text} names no etcd member`);
  for (const member of members) {
    try {
      parseAddress(member);
    } catch {
      throw new BrokerConfigError(`--coordinator member ${JSON.stringify(member)} is not HOST:PORT`);
    }
  }
  const path = (match[2] ?? '').replace(/\/+$/, '');
  if (path !== '' && !/^(\/[A-Za-z0-9._-]+)+$/.test(path)) {
    throw new BrokerConfigError(
      `--coordinator root ${JSON.stringify(path)} must be /segments of letters, digits, . _ or -`,
    );
  }
  return {
    endpoints: [...new Set(members)].map((m) => `http://${m}`),
    root: path === '' ? DEFAULT_ETCD_ROOT : path,
    url: text.trim(),
  };
}

/** The URL for a set of members and a root: what a cluster hands its brokers. */
export function formatCoordinatorUrl(members: readonly string[], root = DEFAULT_ETCD_ROOT): string {
  return `etcd://${members.join(',')}${root === DEFAULT_ETCD_ROOT ? '' : root}`;
}
