import { parseArgs } from 'node:util';
import { lockOrExit, runAsChild } from '../cluster/child-protocol.js';
import { BrokerConfigError } from '../protocol/errors.js';
import { Broker } from './broker.js';
import { BROKER_DEFAULTS } from './broker-config.js';

const { values } = parseArgs({
  options: {
    id: { type: 'string' },
    dir: { type: 'string' },
    controller: { type: 'string' },
    host: { type: 'string', default: BROKER_DEFAULTS.host },
    port: { type: 'string', default: '0' },
    'lag-time-ms': { type: 'string', default: String(BROKER_DEFAULTS.replicaLagTimeMaxMs) },
    'heartbeat-ms': { type: 'string', default: String(BROKER_DEFAULTS.heartbeatIntervalMs) },
    'fetch-wait-ms': { type: 'string', default: String(BROKER_DEFAULTS.replicaFetchWaitMaxMs) },
    'flush-ms': { type: 'string', default: String(BROKER_DEFAULTS.flush.intervalMs) },
    'segment-bytes': { type: 'string' },
    'verify-segments': { type: 'boolean', default: false },
  },
});
if (values.id === undefined || values.dir === undefined || values.controller === undefined) {
  throw new BrokerConfigError('broker needs --id, --dir and --controller');
}
const brokerId = Number(values.id);
// Before any file is touched: a second broker on a directory in use refuses here.
const lock = lockOrExit(values.dir, `broker ${brokerId} (controller ${values.controller})`);
const flushMs = Number(values['flush-ms']);
const broker = new Broker({
  brokerId,
  host: values.host,
  port: Number(values.port),
  dataDir: values.dir,
  controllerAddress: values.controller,
  replicaLagTimeMaxMs: Number(values['lag-time-ms']),
  heartbeatIntervalMs: Number(values['heartbeat-ms']),
  replicaFetchWaitMaxMs: Number(values['fetch-wait-ms']),
  replicaFetchMaxBytes: BROKER_DEFAULTS.replicaFetchMaxBytes,
  flush: flushMs === 0 ? { mode: 'every-append' } : { mode: 'interval', intervalMs: flushMs },
  ...(values['segment-bytes'] === undefined ? {} : { segmentBytes: Number(values['segment-bytes']) }),
  verifySegmentsOnStart: values['verify-segments'],
});
if (lock.replaced !== null) {
  broker.say(`took over the lock of ${values.dir}: its holder (pid ${lock.replaced.pid}) is gone`);
}
const bound = await broker.start();
broker.say(`listening on ${bound.host}:${bound.port}, controller ${values.controller}`);
runAsChild({ role: 'broker', brokerId: broker.brokerId, host: bound.host, port: bound.port }, () =>
  broker.shutdown(),
);
