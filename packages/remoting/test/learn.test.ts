/**
 * `pnpm learn` tells the truth: every step names a file and a function that
 * exist there, and a real run (an echo server in a child process, the trace
 * in another) reports each section's steps in the stated order, with values
 * that agree with one another: the opaque sent is the one matched, the
 * timeout is noticed by the deadline wheel, the late answer is counted
 * unmatched, the permits run out with their counts, and the blocking call's
 * thread does not tick while the promise call's does.
 */
import { execFile } from 'node:child_process';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { beforeAll, describe, expect, test } from 'vitest';
import { LEARN_STEPS, SECTIONS, type TracedStep } from '../src/cli/learn/steps.js';
import { definesFunction } from './support/source-symbols.js';

const PACKAGE_DIR = fileURLToPath(new URL('..', import.meta.url));
const SRC = path.join(PACKAGE_DIR, 'src');

interface Run {
  code: number | null;
  stdout: string;
  stderr: string;
}

function runLearn(args: string[]): Promise<Run> {
  return new Promise((resolve) => {
    execFile(
      process.execPath,
      ['--import', 'tsx', 'src/cli/learn.ts', ...args],
      { cwd: PACKAGE_DIR, timeout: 120_000, maxBuffer: 16 * 1024 * 1024 },
      (error, stdout, stderr) => {
        const code = error === null ? 0 : typeof error.code === 'number' ? error.code : null;
        resolve({ code, stdout, stderr });
      },
    );
  });
}

describe('every step names a function its file defines', () => {
  const steps = Object.entries(LEARN_STEPS).flatMap(([section, byName]) =>
    Object.entries(byName).map(([name, definition]) => ({ id: `${section}.${name}`, ...definition.where })),
  );
  test.each(steps)('$id: $fn in $file', ({ file, fn }) => {
    const source = readFileSync(path.join(SRC, file), 'utf8');
    expect(
      definesFunction(source, fn),
      `src/${file} no longer defines ${fn}: update LEARN_STEPS in src/cli/learn/steps.ts`,
    ).toBe(true);
  });
});

describe('a run of learn --json', () => {
  let run: Run;
  let steps: TracedStep[];
  const bySection = (section: string) => steps.filter((step) => step.section === section);
  const one = (section: string, name: string): TracedStep => {
    const found = steps.filter((step) => step.section === section && step.step === name);
    expect(found, `${section}.${name} reported once`).toHaveLength(1);
    return found[0] as TracedStep;
  };
  const all = (section: string, name: string) =>
    steps.filter((step) => step.section === section && step.step === name);

  beforeAll(async () => {
    run = await runLearn(['--json']);
    steps = run.stdout
      .split('\n')
      .filter((line) => line.startsWith('{'))
      .map((line) => JSON.parse(line) as TracedStep);
  }, 150_000);

  test('exits 0 and reports every section, in order, each step where the catalogue says', () => {
    expect(run.code, run.stderr).toBe(0);
    const sections = steps.map((step) => step.section).filter((s, i, list) => list[i - 1] !== s);
    expect(sections).toEqual(SECTIONS);
    for (const step of steps) {
      const definition = (LEARN_STEPS[step.section] as Record<string, { where: unknown; seenBy: unknown }>)[
        step.step
      ];
      expect(definition, `${step.section}.${step.step} is in the catalogue`).toBeDefined();
      expect(step.where).toEqual(definition?.where);
      expect(step.seenBy).toBe(definition?.seenBy);
      expect(step.text.length).toBeGreaterThan(0);
    }
  });

  test('within each section the steps come in the stated order, at times that only move forward', () => {
    for (const section of SECTIONS) {
      const reported = bySection(section);
      const names = reported.map((step) => step.step).filter((name, i, list) => list[i - 1] !== name);
      expect(names, section).toEqual(Object.keys(LEARN_STEPS[section]));
      for (let i = 1; i < reported.length; i++) {
        const before = reported[i - 1] as TracedStep;
        const step = reported[i] as TracedStep;
        // The worker's times come from another thread's clock (see CLOCK_SLACK_MS).
        expect(step.atMs, `${section}.${step.step} after ${before.step}`).toBeGreaterThanOrEqual(
          before.atMs - 0.5,
        );
      }
    }
  });

  test('sync: the opaque sent is the one the response table matched; no permit; the bytes went out and came back', () => {
    const opaque = one('sync', 'opaque').values.opaque;
    expect(one('sync', 'start').values).toMatchObject({ mode: 'sync', timeoutMs: 3000 });
    expect(one('sync', 'table').values.pendingResponses).toBe(1);
    const permit = one('sync', 'permit').values;
    expect(permit.asyncPermitsAvailable).toBe(permit.asyncPermitsTotal);
    expect(one('sync', 'written').values.bytes).toBeGreaterThan(0);
    expect(one('sync', 'arrived').values.bytes).toBeGreaterThan(0);
    expect(one('sync', 'decoded').values).toMatchObject({ opaque, code: 0, flag: 1 });
    expect(one('sync', 'decoded').values.path).toMatch(
      /transport\/channel\.ts .*onData.*outbound-invoker\.ts onResponse/,
    );
    expect(one('sync', 'matched').values).toMatchObject({ opaque, pendingResponses: 0 });
    expect(one('sync', 'resumed').values.totalMs).toBeGreaterThanOrEqual(49);
  });

  test('timeout: the deadline wheel notices it, the call fails written, and the late answer is counted unmatched', () => {
    expect(one('timeout', 'deadline').values).toMatchObject({ pendingResponses: 1, timeoutMs: 100 });
    const expired = one('timeout', 'expired').values;
    expect(expired.noticedBy).toBe('deadline wheel');
    expect(expired.path).toMatch(/deadline-wheel\.ts tick .*expire → failCall/);
    expect(expired.durationMs as number).toBeGreaterThanOrEqual(99);
    expect(one('timeout', 'failed').values).toMatchObject({ error: 'REMOTING_TIMEOUT', pendingResponses: 0 });
    expect(one('timeout', 'rejected').values).toMatchObject({
      code: 'REMOTING_TIMEOUT',
      written: true,
      timeoutMs: 100,
    });
    const late = one('timeout', 'late').values;
    expect(late.unmatchedAfter).toBe((late.unmatchedBefore as number) + 1);
    expect(late.bytes).toBeGreaterThan(0);
  });

  test('permits: two calls take both, the third waits and fails with the counts, unsent; both come back', () => {
    expect(all('permits', 'taken').map((step) => step.values.available)).toEqual([1, 0]);
    expect(one('permits', 'waiting').values).toMatchObject({ available: 0, total: 2 });
    expect(one('permits', 'exhausted').values).toMatchObject({
      code: 'REMOTING_TOO_MUCH_REQUEST',
      permitsTotal: 2,
      permitsAvailable: 0,
      written: false,
    });
    expect(one('permits', 'exhausted').values.waitedMs as number).toBeGreaterThanOrEqual(90);
    expect(all('permits', 'released').at(-1)?.values.available).toBe(2);
  });

  test('oneway: a permit is held until the socket took the bytes, then given back; nothing waits for a response', () => {
    const permit = one('oneway', 'permit').values;
    expect(permit.available).toBe((permit.total as number) - 1);
    expect(one('oneway', 'ended').values.pendingResponses).toBe(0);
    expect(one('oneway', 'written').values.bytes).toBeGreaterThan(0);
    expect(one('oneway', 'written').values.available).toBe(permit.available);
    expect(one('oneway', 'released').values.available).toBe(permit.total);
  });

  test('blocking: the caller does not tick while parked, the promise call does; the worker made the call meanwhile', () => {
    expect(one('blocking', 'promise').values.ticksDuringCall as number).toBeGreaterThan(0);
    const returned = one('blocking', 'returned').values;
    expect(returned.ticksDuringCall).toBe(0);
    expect(returned.durationMs as number).toBeGreaterThanOrEqual(199);
    for (const name of ['workerStart', 'workerWritten', 'workerEnd']) {
      expect(one('blocking', name).values.whileParked, name).toBe(true);
    }
  });
});

test('learn prints the narrated trace: each section, each step with its place in the code', async () => {
  const run = await runLearn([]);
  expect(run.code, run.stderr).toBe(0);
  expect(run.stderr).toBe('');
  for (const title of [
    '1. One sync call',
    '2. One timeout',
    '3. Async permits',
    '4. Oneway',
    '5. The call that truly blocks',
  ]) {
    expect(run.stdout).toContain(title);
  }
  for (const byName of Object.values(LEARN_STEPS)) {
    for (const { where, seenBy } of Object.values(byName)) {
      expect(run.stdout).toContain(`at ${where.file} ${where.fn} · seen: ${seenBy}`);
    }
  }
  expect(run.stdout).toContain('docs/async-to-sync.md');
  expect(run.stdout).toMatch(/ticked 0 times while it was parked/);
  expect(run.stdout).toMatch(/Traced in \d+\.\d s\./);
}, 150_000);
