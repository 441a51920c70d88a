import { parseArgs } from 'node:util';
import { parseAddress } from '@remoting-ts/remoting';
import { lockOrExit, runAsChild } from '../cluster/child-protocol.js';
import { type EtcdCoordinates, parseCoordinatorUrl } from '../coordination/etcd/etcd-url.js';
import { BrokerConfigError } from '../protocol/errors.js';
import { Broker, type ControllerLinkFactory } from './broker.js';
import { BROKER_DEFAULTS, type BrokerConfig } from './broker-config.js';

/** The session TTL of an etcd-coordinated broker unless `--session-timeout-ms` says otherwise. */
export const DEFAULT_ETCD_SESSION_TIMEOUT_MS = 6000;

/** The options of a broker process, shared by `broker start` and the processes `broker cluster` spawns. */
export const BROKER_PROCESS_OPTIONS = {
  id: { type: 'string' },
  dir: { type: 'string' },
  /** The built-in controller process, HOST:PORT. */
  controller: { type: 'string' },
  /** etcd://HOST:PORT[,HOST:PORT...][/ROOT]: coordinate through etcd instead. */
  coordinator: { type: 'string' },
  /** Where to listen, HOST:PORT (or --host and --port). */
  listen: { type: 'string' },
  host: { type: 'string' },
  port: { type: 'string' },
  /** The address others connect to, when it is not the one listened on (NAT, a proxy). */
  advertise: { type: 'string' },
  'session-timeout-ms': { type: 'string' },
  'lag-time-ms': { type: 'string', default: String(BROKER_DEFAULTS.replicaLagTimeMaxMs) },
  'heartbeat-ms': { type: 'string', default: String(BROKER_DEFAULTS.heartbeatIntervalMs) },
  'fetch-wait-ms': { type: 'string', default: String(BROKER_DEFAULTS.replicaFetchWaitMaxMs) },
  'flush-ms': { type: 'string', default: String(BROKER_DEFAULTS.flush.intervalMs) },
  'segment-bytes': { type: 'string' },
  'verify-segments': { type: 'boolean', default: false },
} as const;

/** A parsed broker command line: the broker's config and, for etcd, where and how long its session lasts. */
export interface BrokerProcessSpec {
  config: BrokerConfig;
  /** Null: the built-in controller at `config.controllerAddress`. */
  etcd: { coordinates: EtcdCoordinates; sessionTtlSeconds: number } | null;
  /** "controller HOST:PORT" or "etcd etcd://…", for the first log line. */
  coordination: string;
}

function hostPort(value: string, option: string): { host: string; port: number } {
  try {
    const { host, port } = parseAddress(value);
    return { host, port };
  } catch {
    throw new BrokerConfigError(`--${option} must be HOST:PORT, not ${JSON.stringify(value)}`);
  }
}

function number(value: string, option: string): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 0)
    throw new BrokerConfigError(`--${option} must be a non-negative integer, not ${value}`);
  return n;
}

/** Parses a broker's command line. @throws BrokerConfigError naming the option at fault */
export function parseBrokerProcessArgs(args: string[]): BrokerProcessSpec {
  const { values } = parseArgs({ args, options: BROKER_PROCESS_OPTIONS, strict: true });
  if (values.id === undefined || values.dir === undefined)
    throw new BrokerConfigError('a broker needs --id and --dir');
  if ((values.controller === undefined) === (values.coordinator === undefined))
    throw new BrokerConfigError(
      'a broker needs exactly one of --controller HOST:PORT (the built-in controller) and --coordinator etcd://…',
    );
  if (values.listen !== undefined && (values.host !== undefined || values.port !== undefined))
    throw new BrokerConfigError('give --listen HOST:PORT, or --host and --port, not both');
  const listen =
    values.listen !== undefined
      ? hostPort(values.listen, 'listen')
      : { host: values.host ?? BROKER_DEFAULTS.host, port: number(values.port ?? '0', 'port') };
  const brokerId = number(values.id, 'id');
  const flushMs = number(values['flush-ms'], 'flush-ms');
  const config: BrokerConfig = {
    brokerId,
    host: listen.host,
    port: listen.port,
    ...(values.advertise === undefined ? {} : { advertise: hostPort(values.advertise, 'advertise') }),
    dataDir: values.dir,
    controllerAddress: values.controller ?? '',
    replicaLagTimeMaxMs: number(values['lag-time-ms'], 'lag-time-ms'),
    heartbeatIntervalMs: number(values['heartbeat-ms'], 'heartbeat-ms'),
    replicaFetchWaitMaxMs: number(values['fetch-wait-ms'], 'fetch-wait-ms'),
    replicaFetchMaxBytes: BROKER_DEFAULTS.replicaFetchMaxBytes,
    flush: flushMs === 0 ? { mode: 'every-append' } : { mode: 'interval', intervalMs: flushMs },
    ...(values['segment-bytes'] === undefined
      ? {}
      : { segmentBytes: number(values['segment-bytes'], 'segment-bytes') }),
    verifySegmentsOnStart: values['verify-segments'],
  };
  if (values.coordinator === undefined) {
    return { config, etcd: null, coordination: `controller ${values.controller}` };
  }
  const coordinates = parseCoordinatorUrl(values.coordinator);
  const sessionTimeoutMs = number(
    values['session-timeout-ms'] ?? String(DEFAULT_ETCD_SESSION_TIMEOUT_MS),
    'session-timeout-ms',
  );
  // etcd leases count whole seconds.
  const sessionTtlSeconds = Math.max(1, Math.ceil(sessionTimeoutMs / 1000));
  return {
    config,
    etcd: { coordinates, sessionTtlSeconds },
    coordination: `etcd ${coordinates.url} (session TTL ${sessionTtlSeconds} s, keys under ${coordinates.root}/)`,
  };
}

/**
 * The etcd link, loaded only for an etcd-coordinated broker: the etcd client
 * (gRPC and its protocol definitions) costs a broker of the built-in
 * controller about 0.4 s of start-up on a busy machine otherwise.
 */
async function linkFactory(spec: BrokerProcessSpec): Promise<ControllerLinkFactory | undefined> {
  const etcd = spec.etcd;
  if (etcd === null) return undefined;
  const { EtcdControllerLink } = await import('../coordination/etcd/etcd-controller-link.js');
  const brokerId = spec.config.brokerId;
  return (_client, say) => new EtcdControllerLink({ ...etcd, brokerId, say });
}

/**
 * Runs one broker until SIGINT/SIGTERM (or, as a child of `broker cluster`,
 * until its parent goes): the broker process's whole life.
 * @throws BrokerConfigError naming the option at fault, before anything starts
 */
export async function runBrokerProcess(args: string[]): Promise<void> {
  await runBroker(parseBrokerProcessArgs(args));
}

/** Runs the broker a parsed command line describes (see `runBrokerProcess`). */
export async function runBroker(spec: BrokerProcessSpec): Promise<void> {
  const dir = spec.config.dataDir;
  const coordinatedBy = spec.etcd === null ? spec.coordination : `etcd ${spec.etcd.coordinates.url}`;
  // Before any file is touched: a second broker on a directory in use refuses here.
  const lock = lockOrExit(dir, `broker ${spec.config.brokerId} (${coordinatedBy})`);
  const broker = new Broker(spec.config, await linkFactory(spec));
  if (lock.replaced !== null)
    broker.say(`took over the lock of ${dir}: its holder (pid ${lock.replaced.pid}) is gone`);
  const bound = await broker.start();
  const advertised = spec.config.advertise;
  broker.say(
    `listening on ${bound.host}:${bound.port}` +
      (advertised === undefined ? '' : `, advertised as ${advertised.host}:${advertised.port}`) +
      `, ${spec.coordination}`,
  );
  runAsChild({ role: 'broker', brokerId: broker.brokerId, host: bound.host, port: bound.port }, () =>
    broker.shutdown(),
  );
}
