import { parseArgs } from 'node:util';
import { IMPLS, isImplName } from './impls/index.js';

export interface BenchOptions {
  quick: boolean;
  /** Suite names as given; 'all' expanded by the registry. */
  suite: string;
  jsonFile: string | undefined;
  htmlFile: string | undefined;
  durationSec: number;
  warmupSec: number;
  repeat: number;
  /** Only the cases the goals are judged on, at full length. */
  goalsOnly: boolean;
  /** Restricts the invoke suite to these implementations (profiling, debugging). */
  impls: string[] | undefined;
  /** Restricts the invoke suite to these modes (profiling one path at a time). */
  modes: string[] | undefined;
  /** Restricts remoting-ts to these header serializations. */
  serializations: string[] | undefined;
  /** Restricts the invoke suite to these body sizes in bytes (profiling one shape at a time). */
  bodies: number[] | undefined;
  /** Restricts the invoke suite to these connection counts. */
  connections: number[] | undefined;
  /** Runs the workers from an esbuild bundle (no keepNames), as compiled JS runs; false = through tsx (--tsx). */
  bundle: boolean;
  /** Writes a V8 CPU profile of every worker process into this directory. */
  profileDir: string | undefined;
  help: boolean;
}

export const USAGE = `usage: npx -y pnpm@10 bench [options]

  --quick            a representative subset, every goal case included (about a minute;
                     its goal verdicts are indicative only)
  --suite NAME       invoke | cluster | codec | broker | all (default all)
  --json FILE        write every result as JSON
  --html FILE        write a self-contained HTML report (inline SVG charts)
  --duration S       measured seconds per run (default 2; --quick 0.25)
  --repeat N         runs per case, reported as median and min-max (default 3)
  --warmup S         the least warm-up per case, in seconds (default: half the duration,
                     up to 1); a request/response case warms up on until each caller
                     has completed 20 calls (steady state), within 8 × its measured
                     time and 10 s; a row still short of it is marked "not steady"
  --goals            only the goal cases, at full length (implies --suite invoke)
  --impl A,B         only these implementations (raw-net, grpc-js, remoting-ts, remoting-ts-blocking)
  --mode M,N         only these invoke modes (sync, async, oneway)
  --serialize S      only this remoting-ts serialization (JSON, ROCKETMQ)
  --body B,C         only these invoke body sizes in bytes (128, 1024, 16384, 262144)
  --connections N,M  only these invoke connection counts (1, 4)
  --tsx              run the workers through tsx instead of from an esbuild bundle
                     (tsx's keepNames costs every closure created per message)
  --profile DIR      write a CPU profile (node --cpu-prof) of every worker to DIR
  --help             this text
`;

function positiveNumber(flag: string, text: string | undefined, fallback: number): number {
  if (text === undefined) return fallback;
  const value = Number(text);
  if (!Number.isFinite(value) || value <= 0)
    throw new Error(`${flag} needs a positive number, got "${text}"`);
  return value;
}

/** A comma-separated list of positive integers; undefined when the flag is absent. */
function integerList(flag: string, text: string | undefined): number[] | undefined {
  if (text === undefined) return undefined;
  return text.split(',').map((part) => {
    const value = Number(part.trim());
    if (!Number.isInteger(value) || value <= 0)
      throw new Error(`${flag} needs positive integers, got "${text}"`);
    return value;
  });
}

/** A comma-separated list whose every item must be one of `known`; undefined when the flag is absent. */
function listOf(flag: string, text: string | undefined, known: readonly string[]): string[] | undefined {
  if (text === undefined) return undefined;
  const items = text.split(',').map((s) => s.trim());
  for (const item of items) {
    if (!known.includes(item)) throw new Error(`${flag}: unknown "${item}" (known: ${known.join(', ')})`);
  }
  return items;
}

/**
 * Parses the bench's command line.
 *
 * @throws Error naming the flag on an unknown option or a bad value (the CLI
 *   prints it with the usage and exits 2).
 */
export function parseOptions(argv: readonly string[]): BenchOptions {
  // `pnpm bench -- --quick` hands its separators through (one per pnpm layer); they are not an end of options here.
  let start = 0;
  while (argv[start] === '--') start++;
  const args = argv.slice(start);
  const { values } = parseArgs({
    args,
    strict: true,
    allowPositionals: false,
    options: {
      quick: { type: 'boolean', default: false },
      suite: { type: 'string' },
      json: { type: 'string' },
      html: { type: 'string' },
      duration: { type: 'string' },
      warmup: { type: 'string' },
      repeat: { type: 'string' },
      goals: { type: 'boolean', default: false },
      impl: { type: 'string' },
      mode: { type: 'string' },
      serialize: { type: 'string' },
      body: { type: 'string' },
      connections: { type: 'string' },
      tsx: { type: 'boolean', default: false },
      profile: { type: 'string' },
      help: { type: 'boolean', default: false, short: 'h' },
    },
  });
  const quick = values.quick === true;
  const durationSec = positiveNumber('--duration', values.duration, quick ? 0.25 : 2);
  const repeat = Math.round(positiveNumber('--repeat', values.repeat, 3));
  const warmupSec = values.warmup === undefined ? Math.min(1, durationSec / 2) : Number(values.warmup);
  if (!Number.isFinite(warmupSec) || warmupSec < 0) throw new Error(`--warmup needs a number ≥ 0`);
  return {
    quick,
    // The goals are invoke cases: --goals alone means the invoke suite.
    suite: values.suite ?? (values.goals === true ? 'invoke' : 'all'),
    jsonFile: values.json,
    htmlFile: values.html,
    durationSec,
    warmupSec,
    repeat,
    goalsOnly: values.goals === true,
    impls: listOf(
      '--impl',
      values.impl,
      IMPLS.map((impl) => impl.name),
    )?.filter(isImplName),
    modes: listOf('--mode', values.mode, ['sync', 'async', 'oneway']),
    serializations: listOf('--serialize', values.serialize?.toUpperCase(), ['JSON', 'ROCKETMQ']),
    bodies: integerList('--body', values.body),
    connections: integerList('--connections', values.connections),
    // Compiled JavaScript is how a framework runs in production; tsx is for comparing loader cost.
    bundle: values.tsx !== true,
    profileDir: values.profile,
    help: values.help === true,
  };
}
