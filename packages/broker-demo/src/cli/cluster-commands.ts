import { parseArgs } from 'node:util';
import {
  type BrokerProcessSpec,
  DEFAULT_ETCD_SESSION_TIMEOUT_MS,
  parseBrokerProcessArgs,
  runBroker,
} from '../broker/broker-command.js';
import { LocalCluster } from '../cluster/local-cluster.js';
import { checkProcessIdentity } from '../cluster/process-identity.js';
import { BrokerConfigError } from '../protocol/errors.js';
import { ViewServer } from '../view/view-server.js';
import {
  type CliCommand,
  COORDINATOR_USAGE,
  coordinatorOption,
  intOption,
  PNPM,
  requiredOption,
  UsageError,
} from './command.js';
import { checkClusterOwner, registerCluster, resolveCluster, unregisterCluster, userPath } from './paths.js';

/*
 * The commands that run a cluster on this machine and act on its processes.
 */

/** How long the `cluster` command waits before restarting a controller that died. */
const CONTROLLER_RESTART_DELAY_MS = 1000;

export const clusterCommand: CliCommand = {
  name: 'cluster',
  summary: 'run a controller and brokers as processes on this machine, with a live view',
  help: `usage: ${PNPM} broker cluster --dir D [--brokers 3] [--partitions 1] [--replication-factor 3] [--min-insync 2]
                       [--unclean] [--lag-time-ms 1500] [--session-timeout-ms 3000] [--verify-segments]
                       [--controller-restart-ms ${CONTROLLER_RESTART_DELAY_MS}|never] [--no-view]
                       [--coordinator ${COORDINATOR_USAGE}]
  Starts a controller and the brokers as separate processes on 127.0.0.1 ports the OS picks,
  prints their addresses and pids and the URL of a live view of the cluster (unless
  --no-view), writes D/cluster.json, and stops them all on Ctrl-C. D is locked while the
  cluster runs: a second cluster on it refuses and names this one. --partitions and
  --replication-factor are the defaults of create-topic. The controller is restarted
  --controller-restart-ms after it dies (never: only \`restart\` restarts it).
  With --coordinator, no controller process: the brokers coordinate through that etcd (one
  of them is elected controller there), and the cluster's settings are written to it.`,
  async run(args) {
    const { values } = parseArgs({
      args,
      options: {
        brokers: { type: 'string', default: '3' },
        partitions: { type: 'string', default: '1' },
        'replication-factor': { type: 'string', default: '3' },
        'min-insync': { type: 'string', default: '2' },
        dir: { type: 'string' },
        unclean: { type: 'boolean', default: false },
        'lag-time-ms': { type: 'string' },
        'session-timeout-ms': { type: 'string' },
        'verify-segments': { type: 'boolean', default: false },
        'controller-restart-ms': { type: 'string', default: String(CONTROLLER_RESTART_DELAY_MS) },
        'no-view': { type: 'boolean', default: false },
        coordinator: { type: 'string' },
      },
    });
    const coordinator = values.coordinator === undefined ? null : coordinatorOption(values.coordinator).url;
    const dir = userPath(requiredOption(values.dir, 'dir'));
    const restartText = values['controller-restart-ms'];
    const restartMs = restartText === 'never' ? null : intOption(restartText, 'controller-restart-ms');
    const options = {
      brokers: intOption(values.brokers, 'brokers'),
      partitions: intOption(values.partitions, 'partitions'),
      replicationFactor: intOption(values['replication-factor'], 'replication-factor'),
      minInsync: intOption(values['min-insync'], 'min-insync'),
      dir,
      unclean: values.unclean,
      replicaLagTimeMaxMs: intOption(values['lag-time-ms'], 'lag-time-ms', 1500),
      sessionTimeoutMs: intOption(values['session-timeout-ms'], 'session-timeout-ms', 3000),
      verifySegmentsOnStart: values['verify-segments'],
      controllerRestartDelayMs: restartMs,
      coordinator,
      owner: `the cluster command "${['broker', 'cluster', ...args].join(' ')}"`,
    };
    if (options.replicationFactor > options.brokers) {
      throw new UsageError(
        `--replication-factor ${options.replicationFactor} > --brokers ${options.brokers}`,
      );
    }
    if (options.minInsync < 1 || options.minInsync > options.replicationFactor) {
      throw new UsageError(
        `--min-insync must be between 1 and --replication-factor (${options.replicationFactor})`,
      );
    }
    const c = await LocalCluster.start(options);
    const stale = c.replacedLock;
    if (stale !== null) console.log(`took over the lock of ${dir}: its holder (pid ${stale.pid}) is gone`);
    registerCluster(dir);
    const view = values['no-view'] ? null : new ViewServer();
    const viewUrl = await view?.start();
    await view?.attach(c, `cluster in ${dir}`);
    for (const p of c.processes()) {
      const name = p.role === 'controller' ? 'controller' : `broker ${p.brokerId}`;
      console.log(`${name.padEnd(10)} ${p.address.padEnd(16)} pid ${p.pid}  log ${p.logFile}`);
    }
    if (coordinator !== null)
      console.log(`etcd       ${coordinator}  (one of the brokers is elected controller there)`);
    if (viewUrl !== undefined)
      console.log(`view       ${viewUrl}  (live ISR, HW and LEO, with controls for every broker)`);
    console.log(`state file ${dir}/cluster.json; bootstrap with --bootstrap ${c.controllerAddress}`);
    console.log('Next, in another terminal (topics are created only on request):');
    console.log(`  ${PNPM} broker create-topic --bootstrap ${c.controllerAddress} --topic t`);
    console.log(
      `  ${PNPM} broker produce --bootstrap ${c.controllerAddress} --topic t --acks all --count 100`,
    );
    console.log(`  ${PNPM} broker consume --bootstrap ${c.controllerAddress} --topic t`);
    console.log(`Ctrl-C stops every process; \`${PNPM} broker restart\` starts brokers that were killed.`);
    // `broker restart` signals this process: only the process that owns the
    // children can start one again under the same state file.
    process.on('SIGUSR2', () => {
      if (coordinator === null && !c.isControllerRunning()) {
        c.restartController().then(
          () => console.log(`controller restarted: ${c.controllerAddress}`),
          (err: unknown) => console.error(`controller failed to restart: ${String(err)}`),
        );
      }
      for (const id of c.brokerIds) {
        if (c.isRunning(id)) continue;
        c.startBroker(id).then(
          (info) => console.log(`broker ${id} restarted: ${info.address} pid ${info.pid}`),
          (err: unknown) => console.error(`broker ${id} failed to restart: ${String(err)}`),
        );
      }
    });
    await new Promise<void>((resolve) => {
      process.once('SIGINT', resolve);
      process.once('SIGTERM', resolve);
    });
    await view?.close();
    await c.stop();
    unregisterCluster(dir);
    console.log('cluster stopped');
  },
};

export const startCommand: CliCommand = {
  name: 'start',
  summary:
    'run one broker in the foreground, coordinated through etcd (a broker of a cluster on several machines)',
  help: `usage: ${PNPM} broker start --id N --listen HOST:PORT [--advertise HOST:PORT] --dir D
                       --coordinator ${COORDINATOR_USAGE}
                       [--session-timeout-ms ${DEFAULT_ETCD_SESSION_TIMEOUT_MS}] [--lag-time-ms 1500] [--verify-segments]
  Runs broker N until Ctrl-C (or SIGTERM, which hands its leaderships over at once), listening
  on --listen and registered in etcd under a session of --session-timeout-ms: start one per
  machine with the same --coordinator, then create topics with \`create-topic --coordinator\`.
  (--controller HOST:PORT instead of --coordinator joins a built-in controller's cluster.)
  --advertise is the address others connect to when it is not the one listened on (NAT, a
  proxy). D is locked while the broker runs: a second broker on it refuses and names this one.
  See docs/multi-host.md.`,
  run(args) {
    let spec: BrokerProcessSpec;
    try {
      spec = parseBrokerProcessArgs(args);
    } catch (err) {
      if (err instanceof BrokerConfigError) throw new UsageError(err.message);
      throw err;
    }
    return runBroker(spec);
  },
};

export const killCommand: CliCommand = {
  name: 'kill',
  summary: "signal one of a running cluster's processes, verified to be it",
  help: `usage: ${PNPM} broker kill BROKER_ID|controller [--signal KILL|STOP|CONT|TERM] [--dir D]
  Sends the signal (default KILL) to a broker or the controller of the cluster in D, after
  checking that the PID in D/cluster.json still is that process (its start time in
  /proc/PID/stat and its command line; Linux only, elsewhere it refuses). Without --dir it
  acts only when exactly one cluster of yours is running.`,
  run(args) {
    const { values, positionals } = parseArgs({
      args,
      allowPositionals: true,
      options: { signal: { type: 'string', default: 'KILL' }, dir: { type: 'string' } },
    });
    if (positionals.length !== 1) throw new UsageError('name one broker id, or controller');
    const target = positionals[0] === 'controller' ? 'controller' : intOption(positionals[0], 'BROKER_ID');
    const signal = `SIG${values.signal.replace(/^SIG/, '')}`;
    if (!['SIGKILL', 'SIGSTOP', 'SIGCONT', 'SIGTERM'].includes(signal)) {
      throw new UsageError(`--signal must be KILL, STOP, CONT or TERM, not ${values.signal}`);
    }
    const cluster = resolveCluster(values.dir);
    const info =
      target === 'controller'
        ? cluster.state.controller
        : cluster.state.brokers.find((b) => b.brokerId === target);
    const name = target === 'controller' ? 'the controller' : `broker ${target}`;
    if (info === null)
      throw new BrokerConfigError(
        `the cluster in ${cluster.dir} has no controller process: it is coordinated through etcd ` +
          `(${cluster.state.coordinator}), where one of its brokers is elected controller`,
      );
    if (info === undefined) throw new BrokerConfigError(`no broker ${target} in ${cluster.dir}/cluster.json`);
    // PIDs are reused: signal only if the PID still is that process of that cluster.
    const identity = checkProcessIdentity({
      pid: info.pid,
      startTime: info.startTime ?? null,
      arguments:
        target === 'controller'
          ? [['--dir', info.dir]]
          : [
              ['--id', String(target)],
              ['--dir', info.dir],
            ],
    });
    if (!identity.ok) {
      throw new BrokerConfigError(
        `not signalling ${name} of ${cluster.dir}: ${identity.reason} (stale state file?)`,
      );
    }
    process.kill(info.pid, signal as NodeJS.Signals);
    console.log(
      `sent ${signal} to ${name} (pid ${info.pid}) of the cluster in ${cluster.dir} (${cluster.chosen})`,
    );
  },
};

export const restartCommand: CliCommand = {
  name: 'restart',
  summary: 'start again the controller and every broker of a cluster that has exited',
  help: `usage: ${PNPM} broker restart [--dir D]
  Asks the cluster process of D (verified like kill's targets) to start again its controller
  and every broker that has exited, on their directories. Without --dir it acts only when
  exactly one cluster of yours is running.`,
  run(args) {
    const { values } = parseArgs({ args, options: { dir: { type: 'string' } } });
    const cluster = resolveCluster(values.dir);
    const owner = checkClusterOwner(cluster.state);
    if (!owner.ok) {
      throw new BrokerConfigError(`the cluster process of ${cluster.dir} is not running: ${owner.reason}`);
    }
    process.kill(cluster.state.startedBy, 'SIGUSR2');
    console.log(
      `asked the cluster in ${cluster.dir} (pid ${cluster.state.startedBy}, ${cluster.chosen}) ` +
        'to restart its controller and brokers that exited',
    );
  },
};
