import { parseArgs } from 'node:util';
import { lockOrExit, runAsChild } from '../cluster/child-protocol.js';
import { CONTROLLER_TIMINGS, Controller } from './controller.js';

const { values } = parseArgs({
  options: {
    host: { type: 'string', default: '127.0.0.1' },
    port: { type: 'string', default: '0' },
    'min-insync': { type: 'string', default: '2' },
    partitions: { type: 'string', default: '1' },
    'replication-factor': { type: 'string', default: '3' },
    unclean: { type: 'boolean', default: false },
    'session-timeout-ms': { type: 'string', default: String(CONTROLLER_TIMINGS.defaultSessionTimeoutMs) },
    /** Where the controller persists its state; a restart on the same directory resumes from it. */
    dir: { type: 'string' },
  },
});

// Before the state file is read or written: a second controller on a directory in use refuses here.
const lock = values.dir === undefined ? null : lockOrExit(values.dir, 'the controller');
const controller = new Controller({
  host: values.host,
  port: Number(values.port),
  sessionTimeoutMs: Number(values['session-timeout-ms']),
  ...(values.dir === undefined ? {} : { stateDir: values.dir }),
  cluster: {
    minInsyncReplicas: Number(values['min-insync']),
    uncleanLeaderElection: values.unclean,
    defaultPartitions: Number(values.partitions),
    defaultReplicationFactor: Number(values['replication-factor']),
  },
});
if (lock?.replaced)
  controller.say(`took over the lock of ${values.dir}: its holder (pid ${lock.replaced.pid}) is gone`);
const bound = await controller.start();
controller.say(`listening on ${bound.host}:${bound.port}`);
runAsChild({ role: 'controller', brokerId: null, host: bound.host, port: bound.port }, () =>
  controller.shutdown(),
);
