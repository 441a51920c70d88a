#!/usr/bin/env node
// `pnpm test`: type-checks the workspace, then runs every package's tests, one
// package after another, whatever the previous one gave (`pnpm -r run test`
// stops at the first failing package, and the ones after it never run, without
// a word). Ends with one line of every package's counts, and exits non-zero
// when anything failed.
//
// Each package's vitest writes a JSON report (see vitest.shared.ts) into
// VITEST_JSON_DIR: the one given, or a temp dir removed afterwards.
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = fileURLToPath(new URL('..', import.meta.url));

/** Workspace packages that have a test script, each after the workspace packages it depends on. */
function testablePackages() {
  const dir = path.join(ROOT, 'packages');
  const packages = readdirSync(dir)
    .map((name) => path.join(dir, name))
    .filter((pkgDir) => existsSync(path.join(pkgDir, 'package.json')))
    .map((pkgDir) => {
      const manifest = JSON.parse(readFileSync(path.join(pkgDir, 'package.json'), 'utf8'));
      const deps = Object.keys({ ...manifest.dependencies, ...manifest.devDependencies });
      return { dir: pkgDir, name: manifest.name, deps, hasTest: typeof manifest.scripts?.test === 'string' };
    });
  const names = new Set(packages.map((p) => p.name));
  const ordered = [];
  const visit = (pkg, seen = new Set()) => {
    if (ordered.includes(pkg) || seen.has(pkg)) return;
    seen.add(pkg);
    for (const dep of pkg.deps.filter((d) => names.has(d)))
      visit(
        packages.find((p) => p.name === dep),
        seen,
      );
    ordered.push(pkg);
  };
  for (const pkg of packages.sort((a, b) => a.name.localeCompare(b.name))) visit(pkg);
  return ordered.filter((p) => p.hasTest);
}

/** pnpm as it started us (`pnpm test` puts its own script in npm_execpath), else the documented npx form. */
function pnpmCommand() {
  const execPath = process.env.npm_execpath;
  if (execPath && /pnpm/.test(path.basename(execPath)) && existsSync(execPath))
    return [process.execPath, [execPath]];
  return ['npx', ['-y', 'pnpm@10']];
}

function run(command, args, options) {
  const started = performance.now();
  const result = spawnSync(command, args, { stdio: 'inherit', ...options });
  const seconds = (performance.now() - started) / 1000;
  return { status: result.status ?? (result.signal ? `killed by ${result.signal}` : 1), seconds };
}

function formatSeconds(seconds) {
  const whole = Math.round(seconds);
  return whole < 60 ? `${whole}s` : `${Math.floor(whole / 60)}m${String(whole % 60).padStart(2, '0')}s`;
}

/** "remoting 690 passed, 2 skipped (3m02s)" from a package's vitest JSON report and exit status. */
function describePackage(pkg, reportFile, outcome) {
  const short = pkg.name.replace(/^@[^/]+\//, '');
  if (!existsSync(reportFile)) {
    return {
      text: `${short} no report, vitest exited ${outcome.status} (${formatSeconds(outcome.seconds)})`,
      failed: true,
    };
  }
  const report = JSON.parse(readFileSync(reportFile, 'utf8'));
  // A file that fails to load (a syntax error, a throwing beforeAll) has no failed test to count.
  const brokenFiles = report.testResults.filter(
    (file) => file.status === 'failed' && !file.assertionResults.some((test) => test.status === 'failed'),
  ).length;
  const parts = [`${report.numPassedTests} passed`];
  if (report.numFailedTests > 0) parts.push(`${report.numFailedTests} failed`);
  if (brokenFiles > 0) parts.push(`${brokenFiles} file${brokenFiles === 1 ? '' : 's'} failed to run`);
  const skipped = report.numPendingTests + report.numTodoTests;
  if (skipped > 0) parts.push(`${skipped} skipped`);
  const countsFailed = report.numFailedTests > 0 || brokenFiles > 0;
  if (outcome.status !== 0 && !countsFailed) parts.push(`vitest exited ${outcome.status}`);
  return {
    text: `${short} ${parts.join(', ')} (${formatSeconds(outcome.seconds)})`,
    failed: countsFailed || outcome.status !== 0,
  };
}

function main() {
  const started = performance.now();
  const summary = [];
  let failed = false;

  const typecheck = run(
    process.execPath,
    [path.join(ROOT, 'node_modules', 'typescript', 'bin', 'tsc'), '-b'],
    {
      cwd: ROOT,
    },
  );
  if (typecheck.status !== 0) {
    summary.push(`tsc -b failed`);
    failed = true;
  }

  const given = process.env.VITEST_JSON_DIR;
  const reportDir = given || mkdtempSync(path.join(os.tmpdir(), 'remoting-ts-test-reports-'));
  const [pnpm, pnpmArgs] = pnpmCommand();
  try {
    for (const pkg of testablePackages()) {
      const short = pkg.name.replace(/^@[^/]+\//, '');
      const reportFile = path.join(reportDir, `${short}.json`);
      rmSync(reportFile, { force: true });
      const outcome = run(pnpm, [...pnpmArgs, '--filter', pkg.name, 'run', 'test'], {
        cwd: ROOT,
        env: { ...process.env, VITEST_JSON_DIR: reportDir },
      });
      const described = describePackage(pkg, reportFile, outcome);
      summary.push(described.text);
      failed ||= described.failed;
    }
  } finally {
    if (!given) rmSync(reportDir, { recursive: true, force: true });
  }
  console.log(
    `\n${failed ? 'FAILED' : 'passed'}: ${summary.join(' · ')} · ${formatSeconds((performance.now() - started) / 1000)} in all`,
  );
  process.exitCode = failed ? 1 : 0;
}

main();
