import { writeFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { LocalCluster } from '../cluster/local-cluster.js';
import { SCENARIOS, type ScenarioResult } from '../scenarios/index.js';
import { userPath } from './paths.js';

/**
 * `pnpm demo`: the six replication scenarios with real processes, narrated,
 * each ending in a verdict computed from what was read back.
 */
const USAGE = `usage: pnpm demo [--only ID,ID...] [--json FILE] [--keep-dirs] [--help]
  Runs the replication scenarios with real broker processes, narrated, each
  ending in a verdict. --only picks scenarios by id (${SCENARIOS.map((s) => s.id).join(', ')});
  --json writes the results to FILE; --keep-dirs keeps the brokers' data directories.`;

function parseDemoArgs() {
  try {
    return parseArgs({
      options: {
        json: { type: 'string' },
        only: { type: 'string' },
        'keep-dirs': { type: 'boolean', default: false },
        help: { type: 'boolean', short: 'h', default: false },
      },
    });
  } catch (error) {
    console.error(`demo: ${(error as Error).message}\n${USAGE}`);
    process.exit(2);
  }
}
const { values } = parseDemoArgs();
if (values.help) {
  console.log(USAGE);
  process.exit(0);
}

const only = values.only?.split(',').map((s) => s.trim());
const selected = SCENARIOS.filter((s) => only === undefined || only.includes(s.id));
if (selected.length === 0) {
  console.error(`no scenario matches --only ${values.only}; ids: ${SCENARIOS.map((s) => s.id).join(', ')}`);
  process.exit(1);
}

let interrupted = false;
const onSignal = () => {
  interrupted = true;
  console.log('\ninterrupted: stopping clusters...');
  void LocalCluster.stopAll().then(() => process.exit(130));
};
process.once('SIGINT', onSignal);
process.once('SIGTERM', onSignal);

const results: ScenarioResult[] = [];
const demoStart = Date.now();
for (const s of selected) {
  if (interrupted) break;
  console.log(`\n=== ${s.title} ===`);
  const t0 = Date.now();
  let result: ScenarioResult;
  try {
    result = await s.run({ say: (line) => console.log(line), keepDirs: values['keep-dirs'] });
  } catch (err) {
    // A scenario that could not run to its end has no verdict to claim.
    result = {
      scenario: s.id,
      title: s.title,
      passed: false,
      verdict: `did not complete: ${err instanceof Error ? err.message : String(err)}`,
      acknowledged: 0,
      lost: 0,
      duplicates: 0,
      refused: 0,
      error: true,
    };
  }
  result.durationMs = Date.now() - t0;
  results.push(result);
  console.log(
    `  VERDICT ${result.passed ? 'PASS' : 'FAIL'}: ${result.verdict} (${Math.round((Date.now() - t0) / 100) / 10} s)`,
  );
}

console.log('\n=== Summary ===');
for (const r of results) {
  console.log(
    `${r.passed ? 'PASS' : 'FAIL'}  ${r.scenario.padEnd(22)} acknowledged ${String(r.acknowledged).padStart(5)}  ` +
      `lost ${String(r.lost).padStart(3)}  duplicates ${String(r.duplicates).padStart(2)}  refused ${String(r.refused).padStart(3)}`,
  );
}
console.log(
  `${results.filter((r) => r.passed).length}/${results.length} passed in ${Math.round((Date.now() - demoStart) / 1000)} s`,
);

if (values.json !== undefined) {
  const file = userPath(values.json);
  writeFileSync(file, `${JSON.stringify({ scenarios: results }, null, 2)}\n`);
  console.log(`verdicts written to ${file}`);
}
process.exitCode = results.every((r) => r.passed) && results.length === selected.length ? 0 : 1;
