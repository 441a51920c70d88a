import { writeFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { LocalCluster } from '../cluster/local-cluster.js';
import { SCENARIOS, type ScenarioResult } from '../scenarios/index.js';
import { ViewServer } from '../view/view-server.js';
import { PNPM } from './command.js';
import { userPath } from './paths.js';

/**
 * `demo`: the replication scenarios with real processes, narrated, each
 * saying first what it shows and ending in a verdict computed from what was
 * read back, next to what the rules predict.
 */
const USAGE = `usage: ${PNPM} demo [--only ID,ID...] [--json FILE] [--keep-dirs] [--watch [--pace-ms 1500] [--wait-for-viewer-ms 30000]] [--help]
  Runs the replication scenarios with real broker processes, narrated, each
  ending in a verdict. --only picks scenarios by id (${SCENARIOS.map((s) => s.id).join(', ')});
  --json writes the results to FILE; --keep-dirs keeps the brokers' data directories; --watch serves each
  scenario's cluster on a live page (URL printed) and paces the scenarios.`;

function parseDemoArgs() {
  try {
    return parseArgs({
      options: {
        json: { type: 'string' },
        only: { type: 'string' },
        'keep-dirs': { type: 'boolean', default: false },
        watch: { type: 'boolean', default: false },
        'pace-ms': { type: 'string', default: '1500' },
        'wait-for-viewer-ms': { type: 'string', default: '30000' },
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
  console.error(
    `demo: no scenario matches --only ${values.only}; ids: ${SCENARIOS.map((s) => s.id).join(', ')}\n${USAGE}`,
  );
  process.exit(2);
}

/** `--watch`: a live view of each scenario's cluster, and pauses between steps to follow it by eye. */
const view = values.watch ? new ViewServer() : null;
let watchedTitle = '';
if (view !== null) {
  const url = await view.start();
  const waitMs = Number(values['wait-for-viewer-ms']);
  console.log(
    `live view: ${url}  (open it in a browser; the scenarios start when it connects, or in ${waitMs / 1000} s)`,
  );
  await view.waitForViewer(waitMs);
}
const paceMs = Number(values['pace-ms']);
if (!Number.isFinite(paceMs) || paceMs < 0) {
  console.error(
    `demo: --pace-ms must be a non-negative number of milliseconds, not ${values['pace-ms']}\n${USAGE}`,
  );
  process.exit(2);
}
const watch =
  view === null
    ? undefined
    : {
        attach: (cluster: LocalCluster) => view.attach(cluster, watchedTitle),
        detach: () => view.detach(),
        paceMs,
      };

let interrupted = false;
const onSignal = () => {
  interrupted = true;
  console.log('\ninterrupted: stopping clusters...');
  void Promise.all([view?.close(), LocalCluster.stopAll()]).then(() => process.exit(130));
};
process.once('SIGINT', onSignal);
process.once('SIGTERM', onSignal);

const results: ScenarioResult[] = [];
const demoStart = Date.now();
for (const s of selected) {
  if (interrupted) break;
  console.log(`\n=== ${s.title} ===`);
  for (const line of s.concept) console.log(`  ${line}`);
  console.log('');
  watchedTitle = s.title;
  view?.note(`=== ${s.title} ===`);
  view?.note(s.concept.join(' '));
  const t0 = Date.now();
  let result: ScenarioResult;
  try {
    result = await s.run({
      say: (line) => {
        console.log(line);
        // The indented partition tables are what the page draws; the rest is the story.
        if (!line.startsWith('    ')) view?.note(line.trim());
      },
      keepDirs: values['keep-dirs'],
      ...(watch === undefined ? {} : { watch }),
    });
  } catch (err) {
    // A scenario that could not run to its end has no verdict to claim.
    result = {
      scenario: s.id,
      title: s.title,
      passed: false,
      verdict: `did not complete: ${err instanceof Error ? err.message : String(err)}`,
      acknowledged: 0,
      lost: 0,
      expectedLost: 0,
      duplicates: 0,
      refused: 0,
      error: true,
    };
  }
  result.durationMs = Date.now() - t0;
  results.push(result);
  view?.note(`VERDICT (${verdictWord(result)}): ${result.verdict}`);
  console.log(
    `  VERDICT (${verdictWord(result)}): ${result.verdict} (${Math.round((Date.now() - t0) / 100) / 10} s)`,
  );
}

console.log('\n=== Summary ===');
for (const r of results) {
  console.log(
    `${verdictWord(r).padEnd(16)} ${r.scenario.padEnd(22)} acknowledged ${String(r.acknowledged).padStart(6)}  ` +
      `lost ${String(r.lost).padStart(3)} (expected ${String(r.expectedLost).padStart(3)})  ` +
      `duplicates ${String(r.duplicates).padStart(2)}  refused ${String(r.refused).padStart(3)}`,
  );
}
console.log(
  `${results.filter((r) => r.passed).length}/${results.length} as expected in ${Math.round((Date.now() - demoStart) / 1000)} s`,
);

/** A scenario passes when what happened is what its rules predict, which for some is a loss. */
function verdictWord(r: ScenarioResult): string {
  return r.passed ? 'as expected' : 'NOT as expected';
}

if (values.json !== undefined) {
  const file = userPath(values.json);
  writeFileSync(file, `${JSON.stringify({ scenarios: results }, null, 2)}\n`);
  console.log(`verdicts written to ${file}`);
}
await view?.close();
process.exitCode = results.every((r) => r.passed) && results.length === selected.length ? 0 : 1;
