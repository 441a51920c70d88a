/**
 * The broker suite: produce throughput and latency of the ISR broker demo
 * with real broker processes on this machine (3 brokers; RF=1 and RF=3;
 * acks 0 / 1 / all; 1 and 3 producers; 100 B records), end-to-end latency to
 * a consumer, and the fetch path's cost per MB with and without the pooled
 * read buffer. Every row runs in one load process (broker-runner.ts) against
 * clusters it starts and stops; Kafka's published figures are quoted beside.
 */
import { type ChildProcess, fork } from 'node:child_process';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { etcdAvailability } from '@remoting-ts/broker-demo/bench';
import { formatInteger } from '../format.js';
import type { BenchOptions } from '../options.js';
import { median } from '../stats.js';
import type { SkippedCase } from '../types.js';
import type { BrokerRowPlan, BrokerRunPlan, RunnerMessage } from './broker-runner.js';
import {
  type BrokerBenchResult,
  type BrokerSection,
  type FetchPath,
  type FetchPathResult,
  KAFKA_REFERENCE,
  kafkaFigureFor,
} from './broker-types.js';
import type { Suite, SuitePlan } from './registry.js';

const CONTROLLER = 'controller' as const;

export const BROKER_ROWS: BrokerRowPlan[] = [
  {
    row: 'rf1-acks-1',
    label: 'broker RF=1 acks=1',
    replicationFactor: 1,
    acks: '1',
    producers: 1,
    coordination: CONTROLLER,
  },
  {
    row: 'rf3-acks-0',
    label: 'broker RF=3 acks=0',
    replicationFactor: 3,
    acks: '0',
    producers: 1,
    coordination: CONTROLLER,
  },
  {
    row: 'rf3-acks-1',
    label: 'broker RF=3 acks=1',
    replicationFactor: 3,
    acks: '1',
    producers: 1,
    coordination: CONTROLLER,
  },
  {
    row: 'rf3-acks-all',
    label: 'broker RF=3 acks=all',
    replicationFactor: 3,
    acks: 'all',
    producers: 1,
    coordination: CONTROLLER,
  },
  {
    row: 'rf3-acks-all-3p',
    label: 'broker RF=3 acks=all, 3 producers',
    replicationFactor: 3,
    acks: 'all',
    producers: 3,
    coordination: CONTROLLER,
  },
  // The same cluster coordinated through etcd: coordination is off the produce
  // path, so these should match the built-in controller's rows.
  {
    row: 'rf3-acks-1-etcd',
    label: 'broker RF=3 acks=1, etcd-coordinated',
    replicationFactor: 3,
    acks: '1',
    producers: 1,
    coordination: 'etcd',
  },
  {
    row: 'rf3-acks-all-etcd',
    label: 'broker RF=3 acks=all, etcd-coordinated',
    replicationFactor: 3,
    acks: 'all',
    producers: 1,
    coordination: 'etcd',
  },
];

const FETCH_PATHS: Record<FetchPath, string> = {
  'pooled-pread':
    "the broker's path: pread into a pooled buffer (copy 1), the response body is a view of it, the socket write copies it to the kernel (copy 2)",
  'naive-copy':
    'read the region into a fresh zeroed buffer (copy 1), join it into one frame buffer (copy 2), then the socket write (copy 3)',
};

const RUNNER = fileURLToPath(new URL('./broker-runner.ts', import.meta.url));

/** The broker-demo package directory: the runner works from it so tsx uses the demo's compiler settings. */
function brokerDemoDir(): string {
  const api = fileURLToPath(import.meta.resolve('@remoting-ts/broker-demo/bench'));
  return path.resolve(path.dirname(api), '..');
}

/** The run's plan from the bench options; broker runs need seconds, not the invoke suite's quarter second. */
export function brokerPlan(options: BenchOptions): BrokerRunPlan {
  const quick = options.quick;
  return {
    rows: BROKER_ROWS,
    fetchPaths: ['pooled-pread', 'naive-copy'],
    brokers: 3,
    partitions: 3,
    load: {
      // A broker row needs seconds to settle; --quick keeps it short enough for a smoke run.
      warmupMs: quick ? 300 : Math.max(1000, Math.round(options.warmupSec * 1000)),
      durationMs: quick
        ? Math.max(500, Math.round(options.durationSec * 2000))
        : Math.max(3000, Math.round(options.durationSec * 1000)),
      valueBytes: 100,
      // 64 KiB rather than Kafka's 16 KiB default: each batch costs a broker a
      // handful of file system calls through libuv (append, index, reads for
      // every fetch), which measured 2.5× the broker CPU per record at 16 KiB.
      batchSizeBytes: 64 * 1024,
      lingerMs: 5,
      maxInFlight: 5,
      bufferMemoryBytes: 2 * 1024 * 1024,
    },
    repeat: quick ? 1 : options.repeat,
    fetchMaxBytes: 1024 * 1024,
    fetchLogMb: quick ? 32 : 128,
  };
}

function rowResult(
  row: BrokerRowPlan,
  plan: BrokerRunPlan,
  runs: BrokerBenchResult['runs'],
): BrokerBenchResult {
  const med = (pick: (r: BrokerBenchResult['runs'][number]) => number) => median(runs.map(pick));
  return {
    suite: 'broker',
    row: row.row,
    replicationFactor: row.replicationFactor,
    acks: row.acks,
    producers: row.producers,
    coordination: row.coordination,
    partitions: plan.partitions,
    valueBytes: plan.load.valueBytes,
    recordsPerSec: med((r) => r.recordsPerSec),
    mbPerSec: med((r) => r.mbPerSec),
    produceP50Ms: med((r) => r.produceP50Ms),
    produceP99Ms: med((r) => r.produceP99Ms),
    e2eP50Ms: med((r) => r.e2eP50Ms),
    e2eP99Ms: med((r) => r.e2eP99Ms),
    errors: runs.reduce((sum, r) => sum + r.errors, 0),
    kafkaRecordsPerSec: kafkaFigureFor(row),
    runs,
  };
}

/** acks=all / acks=1 at RF=3 with one producer (built-in controller), from the same run; null if either is missing. */
export function acksAllOverAcks1(results: readonly BrokerBenchResult[]): number | null {
  const find = (acks: '1' | 'all') =>
    results.find(
      (r) =>
        r.replicationFactor === 3 && r.producers === 1 && r.acks === acks && r.coordination === 'controller',
    );
  const one = find('1');
  const all = find('all');
  return one === undefined || all === undefined || one.recordsPerSec <= 0
    ? null
    : all.recordsPerSec / one.recordsPerSec;
}

/** RF=3 acks=all with one producer: the etcd-coordinated cluster's records/s over the built-in controller's, same run. */
export function etcdAcksAllOverController(results: readonly BrokerBenchResult[]): number | null {
  const find = (coordination: 'controller' | 'etcd') =>
    results.find(
      (r) =>
        r.replicationFactor === 3 && r.producers === 1 && r.acks === 'all' && r.coordination === coordination,
    );
  const controller = find('controller');
  const etcd = find('etcd');
  return controller === undefined || etcd === undefined || controller.recordsPerSec <= 0
    ? null
    : etcd.recordsPerSec / controller.recordsPerSec;
}

function runRunner(
  plan: BrokerRunPlan,
  onMessage: (message: RunnerMessage) => void,
): { done: Promise<void>; child: ChildProcess } {
  const child = fork(RUNNER, [], {
    cwd: brokerDemoDir(),
    execArgv: ['--import', import.meta.resolve('tsx')],
    stdio: ['ignore', 'ignore', 'inherit', 'ipc'],
  });
  const done = new Promise<void>((resolve, reject) => {
    let finished = false;
    child.on('message', (message: RunnerMessage) => {
      if (message.type === 'ready') child.send({ type: 'run', plan });
      else if (message.type === 'done') finished = true;
      onMessage(message);
    });
    child.once('exit', (code, signal) => {
      if (finished) resolve();
      else reject(new Error(`the broker load process exited early (${signal ?? `code ${code}`})`));
    });
  });
  return { done, child };
}

function plan(options: BenchOptions): Promise<SuitePlan> {
  const runPlan = brokerPlan(options);
  const etcd = etcdAvailability();
  const skipped: SkippedCase[] = [];
  if (!etcd.ok) {
    for (const row of runPlan.rows.filter((r) => r.coordination === 'etcd'))
      skipped.push({ suite: 'broker', impl: '*', description: row.label, reason: etcd.reason });
    runPlan.rows = runPlan.rows.filter((r) => r.coordination !== 'etcd');
  }
  const load = runPlan.load;
  const notes = [
    `broker: ${runPlan.brokers} broker processes and a controller on this machine (LocalCluster), ${runPlan.partitions} partitions per topic, ` +
      `${load.valueBytes} B records with null keys; per row ${runPlan.repeat} × (${load.warmupMs} ms warm-up + ${load.durationMs} ms measured) on a fresh topic; ` +
      `producer batch.size ${load.batchSizeBytes}, linger.ms ${load.lingerMs}, max.in.flight ${load.maxInFlight}, buffer.memory ${load.bufferMemoryBytes} B; ` +
      'records/s = acknowledged (acks=0: written to the socket) inside the window; produce latency = send() to acknowledgement (includes waiting in the producer buffer); ' +
      'end-to-end = send() to a live consumer seeing the record (only once it is below the HW); min.insync.replicas 2 for RF=3.',
    'broker: etcd rows: the same 3 brokers coordinated through an etcd server of their own on this machine (no controller process; one broker is elected controller there).',
    `broker: Kafka's figures are from ${KAFKA_REFERENCE.source}, on 3 machines of 6 cores each; ours share 2 cores between 3 brokers, the controller and the client. Compare ratios, not absolutes.`,
  ];
  const caseCount = runPlan.rows.length + runPlan.fetchPaths.length;
  return Promise.resolve({
    caseCount,
    skipped,
    notes,
    async run(ctx) {
      const results: BrokerBenchResult[] = [];
      const fetchPath: FetchPathResult[] = [];
      const failed: SkippedCase[] = [];
      const { done } = runRunner(runPlan, (message) => {
        if (message.type === 'case-start') ctx.progress.caseStarted(message.label);
        else if (message.type === 'row') {
          const row = runPlan.rows.find((r) => r.row === message.row)!;
          const result = rowResult(row, runPlan, message.runs);
          results.push(result);
          ctx.progress.caseDone(row.label, `${formatInteger(result.recordsPerSec)} records/s`);
        } else if (message.type === 'fetch-path') {
          const runs = message.runs;
          const result: FetchPathResult = {
            suite: 'broker',
            row: `fetch-${message.path}`,
            path: message.path,
            description: FETCH_PATHS[message.path],
            fetchMaxBytes: runPlan.fetchMaxBytes,
            mbPerSec: median(runs.map((r) => r.mbPerSec)),
            serverCpuMsPerMb: median(runs.map((r) => r.serverCpuMsPerMb)),
            runs,
          };
          fetchPath.push(result);
          ctx.progress.caseDone(`fetch ${message.path}`, `${result.mbPerSec.toFixed(0)} MB/s`);
        } else if (message.type === 'case-failed') {
          failed.push({ suite: 'broker', impl: '*', description: message.label, reason: message.message });
          ctx.progress.caseDone(message.label, 'failed');
        }
      });
      try {
        await done;
      } catch (err) {
        failed.push({ suite: 'broker', impl: '*', description: 'load process', reason: String(err) });
      }
      const broker: BrokerSection = {
        results,
        fetchPath,
        kafka: KAFKA_REFERENCE,
        acksAllOverAcks1: acksAllOverAcks1(results),
        etcdAcksAllOverController: etcdAcksAllOverController(results),
        settings: {
          brokers: runPlan.brokers,
          partitions: runPlan.partitions,
          valueBytes: load.valueBytes,
          batchSizeBytes: load.batchSizeBytes,
          lingerMs: load.lingerMs,
          maxInFlight: load.maxInFlight,
          bufferMemoryBytes: load.bufferMemoryBytes,
          warmupMs: load.warmupMs,
          durationMs: load.durationMs,
          repeat: runPlan.repeat,
        },
        notes: [
          'fetch path: one consumer fetching 1 MiB at a time from a log just written (so in the page cache), from a server process whose CPU time (user + system) is read before and after; ' +
            "Linux's sendfile(2) would send file pages to the socket inside the kernel (no user-space copy at all), but Node exposes no sendfile for sockets, so two copies are the floor here.",
        ],
      };
      return { results: [], failed, broker };
    },
  });
}

export const brokerSuite: Suite = {
  name: 'broker',
  description:
    'ISR broker demo: produce records/s, MB/s, produce and end-to-end p50/p99 for RF=1/3 × acks 0/1/all, and the fetch path per MB',
  plan,
};
