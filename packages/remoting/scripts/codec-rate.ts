/**
 * Codec rate: RemotingCommand encode() + decode() round trips per second for
 * a typical request (128-byte body, 3 extFields), in both serializations,
 * against a baseline in the same process: JSON.stringify + JSON.parse of an
 * equivalent plain object plus the Buffer.concat that frames it.
 *
 *   npx -y pnpm@10 exec tsx scripts/codec-rate.ts [--runs 5] [--seconds 1]     (from packages/remoting)
 *
 * Each case warms up for one run's length, then does `runs` timed runs of
 * about `seconds` each, interleaved with the other cases; the report gives
 * the median and the min–max of each case.
 */
import os from 'node:os';
import { parseArgs } from 'node:util';
import { LanguageCode, RemotingCommand, SerializeType } from '../src/index.js';

const { values } = parseArgs({
  options: { runs: { type: 'string', default: '5' }, seconds: { type: 'string', default: '1' } },
});
const runs = Math.max(1, Number(values.runs));
const runNs = BigInt(Math.round(Number(values.seconds) * 1e9));

const body = Buffer.alloc(128, 0x61);
const ext: Array<[string, string]> = [
  ['topic', 'TopicTest'],
  ['queueId', '3'],
  ['producerGroup', 'PG_A'],
];

function request(): RemotingCommand {
  const cmd = new RemotingCommand(10, 123456);
  cmd.language = LanguageCode.JAVA;
  cmd.version = 407;
  cmd.extFields = new Map(ext);
  cmd.body = body;
  return cmd;
}

/** Kept live so the work cannot be optimised away. */
let sink = 0;

type Op = () => void;

function codecOp(serializeType: SerializeType): Op {
  const cmd = request();
  return () => {
    const frame = cmd.encode(serializeType);
    const back = RemotingCommand.decode(frame);
    sink += back.opaque + (back.body?.length ?? 0);
  };
}

/** The naive codec: the same fields through JSON.stringify/parse, framed with Buffer.concat. */
function baselineOp(): Op {
  const header = {
    code: 10,
    extFields: Object.fromEntries(ext),
    flag: 0,
    language: 'JAVA',
    opaque: 123456,
    serializeTypeCurrentRPC: 'JSON',
    version: 407,
  };
  return () => {
    const headerBytes = Buffer.from(JSON.stringify(header), 'utf8');
    const prefix = Buffer.allocUnsafe(8);
    prefix.writeInt32BE(4 + headerBytes.length + body.length, 0);
    prefix.writeInt32BE(headerBytes.length, 4);
    const frame = Buffer.concat([prefix, headerBytes, body]);
    const headerLength = frame.readInt32BE(4) & 0xffffff;
    const parsed = JSON.parse(frame.toString('utf8', 8, 8 + headerLength)) as { opaque: number };
    const back = frame.subarray(8 + headerLength);
    sink += parsed.opaque + back.length;
  };
}

/** Ops per second over one run of about `runNs`. */
function timedRun(op: Op): number {
  const batch = 1000;
  let ops = 0;
  const start = process.hrtime.bigint();
  let elapsed = 0n;
  while (elapsed < runNs) {
    for (let i = 0; i < batch; i++) op();
    ops += batch;
    elapsed = process.hrtime.bigint() - start;
  }
  return ops / (Number(elapsed) / 1e9);
}

interface Result {
  name: string;
  median: number;
  min: number;
  max: number;
}

/**
 * Runs the cases round-robin (a run of each, then the next round) so that a
 * busy machine slows every case alike instead of whichever ran during the spike.
 */
function measure(cases: Array<[name: string, op: Op]>): Result[] {
  for (const [, op] of cases) timedRun(op);
  const rates = cases.map((): number[] => []);
  for (let run = 0; run < runs; run++) {
    cases.forEach(([, op], i) => {
      rates[i]?.push(timedRun(op));
    });
  }
  return cases.map(([name], i) => {
    const sorted = [...(rates[i] ?? [])].sort((a, b) => a - b);
    const mid = Math.floor(sorted.length / 2);
    const median =
      sorted.length % 2 === 1
        ? (sorted[mid] as number)
        : ((sorted[mid - 1] as number) + (sorted[mid] as number)) / 2;
    return { name, median, min: sorted[0] as number, max: sorted[sorted.length - 1] as number };
  });
}

const k = (n: number) => `${(n / 1000).toFixed(0)}k`;

const sample = request();
console.log('codec rate: encode() + decode() of one request per op');
console.log(
  `request: code 10, 3 extFields, ${body.length} B body; JSON frame ${sample.encode(SerializeType.JSON).length} B, ` +
    `ROCKETMQ frame ${sample.encode(SerializeType.ROCKETMQ).length} B`,
);
console.log(
  `node ${process.version}, ${os.cpus()[0]?.model ?? 'unknown CPU'} (${os.cpus().length} CPUs); ` +
    `warm-up + ${runs} rounds of ${Number(runNs) / 1e9} s per case, cases interleaved`,
);
console.log();

const results = measure([
  ['JSON header', codecOp(SerializeType.JSON)],
  ['ROCKETMQ header', codecOp(SerializeType.ROCKETMQ)],
  ['baseline: JSON.stringify + JSON.parse + Buffer.concat', baselineOp()],
]);
const width = Math.max(...results.map((r) => r.name.length));
const baseline = results[results.length - 1]?.median ?? 1;
for (const r of results) {
  console.log(
    `${r.name.padEnd(width)}  median ${k(r.median).padStart(6)} ops/s  (min–max ${k(r.min)}–${k(r.max)})  ` +
      `${(1e9 / r.median).toFixed(0).padStart(5)} ns/op  ${(r.median / baseline).toFixed(2)}× baseline`,
  );
}
if (sink === 0) console.log('(sink)');
