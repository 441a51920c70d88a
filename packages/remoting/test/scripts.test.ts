/**
 * The measuring scripts in scripts/ run with the command their first comment
 * and the README show (`npx -y pnpm@10 exec tsx scripts/NAME.ts`, from
 * packages/remoting), here as briefly as their options allow. Their figures
 * are not asserted (a loaded machine), only that each measures and reports.
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { expect, test } from 'vitest';
import { documentedCommand, PACKAGE_DIR, runDocumented } from './support/documented-command.js';

const CASES = [
  { script: 'scripts/codec-rate.ts', args: ['--runs', '1', '--seconds', '0.2'], prints: /ops\/s/ },
  {
    script: 'scripts/diagnostics-cost.ts',
    args: ['--runs', '1', '--seconds', '0.3'],
    prints: /subscribed/,
  },
  { script: 'scripts/failover-time.ts', args: ['--trials', '1', '--scan-ms', '200'], prints: /failover/i },
];

test.each(CASES)(
  '$script runs as its comment says and reports',
  async ({ script, args, prints }) => {
    const header = readFileSync(path.join(PACKAGE_DIR, script), 'utf8').split('*/')[0] as string;
    expect(header).toContain(documentedCommand(script));
    const run = await runDocumented(script, args);
    expect(run.code, run.stderr).toBe(0);
    expect(run.stdout).toMatch(prints);
  },
  180_000,
);
