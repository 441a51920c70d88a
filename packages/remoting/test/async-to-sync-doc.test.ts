/**
 * docs/async-to-sync.md stays true: every `../src/…#Lnn` link lands on a
 * line that names what the link's text names (so code that moves fails here,
 * with the line it moved to, instead of leaving a stale link), every link to
 * RocketMQ is pinned to a commit, and every `ts` snippet runs, as a user
 * would run it, against the real server it starts.
 */
import { execFile } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, test } from 'vitest';
import { lineNames } from './support/source-symbols.js';

const PACKAGE_DIR = fileURLToPath(new URL('..', import.meta.url));
const DOC_PATH = path.join(PACKAGE_DIR, 'docs', 'async-to-sync.md');
const DOC = readFileSync(DOC_PATH, 'utf8');
/** Inside the package, so that the snippets' `@remoting-ts/remoting` resolves to it (ignored by git: `.tmp/`). */
const SNIPPET_DIR = path.join(PACKAGE_DIR, '.tmp', 'async-to-sync-snippets');

interface Link {
  text: string;
  target: string;
  /** 1-based line of the doc. */
  docLine: number;
}

function links(markdown: string): Link[] {
  const found: Link[] = [];
  const pattern = /\[((?:[^\]`]|`[^`]*`)+)\]\(([^)\s]+)\)/g;
  for (let match = pattern.exec(markdown); match !== null; match = pattern.exec(markdown)) {
    found.push({
      text: match[1] as string,
      target: match[2] as string,
      docLine: markdown.slice(0, match.index).split('\n').length,
    });
  }
  return found;
}

/** What a code link names: its code span, without a trailing `()`. */
function namedSymbol(text: string): string | null {
  const span = /^`([^`]+)`$/.exec(text.trim());
  return span === null ? null : (span[1] as string).replace(/\(\)$/, '');
}

const docLinks = links(DOC);
const sourceLinks = docLinks.filter((link) => link.target.startsWith('../src/'));

test('the doc links to the sources, to RocketMQ and to the issues it tells of', () => {
  expect(sourceLinks.length).toBeGreaterThan(40);
  expect(docLinks.some((link) => link.target.startsWith('https://github.com/apache/rocketmq/blob/'))).toBe(
    true,
  );
  expect(docLinks.map((link) => link.target)).toEqual(
    expect.arrayContaining([
      'https://github.com/apache/rocketmq/issues/1360',
      'https://github.com/alibaba/rocketmq/pull/85',
    ]),
  );
});

describe('every ../src/…#Lnn link lands on a line naming what it names', () => {
  test.each(sourceLinks.map((link) => ({ ...link, name: `${link.text} → ${link.target}` })))(
    '$name',
    ({ text, target, docLine }) => {
      const [file, anchor] = target.slice('../'.length).split('#') as [string, string | undefined];
      const sourcePath = path.join(PACKAGE_DIR, file);
      expect(
        existsSync(sourcePath),
        `docs/async-to-sync.md:${docLine} links to ${file}, which does not exist`,
      ).toBe(true);
      expect(anchor, `docs/async-to-sync.md:${docLine} links to ${file} without a #Lnn line`).toMatch(
        /^L\d+$/,
      );
      const symbol = namedSymbol(text);
      expect(
        symbol,
        `docs/async-to-sync.md:${docLine}: a source link's text must be a code span naming what it points at`,
      ).not.toBeNull();
      const lines = readFileSync(sourcePath, 'utf8').split('\n');
      const lineNumber = Number((anchor as string).slice(1));
      const line = lines[lineNumber - 1] ?? '';
      const nowAt = lines
        .map((candidate, i) => (lineNames(candidate, symbol as string) ? i + 1 : 0))
        .filter((n) => n > 0)
        .slice(0, 5);
      expect(
        lineNames(line, symbol as string),
        `docs/async-to-sync.md:${docLine}: [${text}](${target}) points at line ${lineNumber}, which reads ` +
          `"${line.trim()}"; ${file} names it on line(s) ${nowAt.join(', ') || 'none'} now: move the link`,
      ).toBe(true);
    },
  );
});

test('every link to RocketMQ is pinned to a commit, not a branch', () => {
  const rocketmq = docLinks.filter((link) => link.target.startsWith('https://github.com/apache/rocketmq/'));
  const code = rocketmq.filter((link) => /\/(blob|tree)\//.test(link.target));
  expect(code.length).toBeGreaterThan(10);
  for (const link of code) {
    expect(link.target, `docs/async-to-sync.md:${link.docLine}`).toMatch(
      /^https:\/\/github\.com\/apache\/rocketmq\/(blob|tree)\/[0-9a-f]{40}(\/|$)/,
    );
  }
});

test('every relative link to a file points at one that exists', () => {
  for (const link of docLinks.filter((l) => !l.target.startsWith('http') && !l.target.startsWith('#'))) {
    const file = link.target.split('#')[0] as string;
    expect(
      existsSync(path.join(path.dirname(DOC_PATH), file)),
      `docs/async-to-sync.md:${link.docLine}: ${file}`,
    ).toBe(true);
  }
});

const snippets = [...DOC.matchAll(/^```ts\n([\s\S]*?)^```$/gm)].map((match, i) => ({
  name: `snippet ${i + 1} (line ${DOC.slice(0, match.index).split('\n').length})`,
  code: match[1] as string,
  index: i + 1,
}));

describe('every ts snippet runs against the server it starts', () => {
  mkdirSync(SNIPPET_DIR, { recursive: true });
  afterAll(() => rmSync(SNIPPET_DIR, { recursive: true, force: true }));

  test('there are snippets for sync, the latch, a timeout, permits, a reused command and a blocking call', () => {
    expect(snippets).toHaveLength(6);
  });

  test.concurrent.each(snippets)(
    '$name',
    async ({ code, index }) => {
      const file = path.join(SNIPPET_DIR, `snippet-${index}.ts`);
      writeFileSync(file, code);
      const run = await new Promise<{ code: number | null; stdout: string; stderr: string }>((resolve) => {
        execFile(
          process.execPath,
          ['--import', 'tsx', file],
          { cwd: PACKAGE_DIR, timeout: 60_000 },
          (error, stdout, stderr) =>
            resolve({
              code: error === null ? 0 : typeof error.code === 'number' ? error.code : null,
              stdout,
              stderr,
            }),
        );
      });
      expect(run.code, `${run.stdout}\n${run.stderr}`).toBe(0);
      expect(run.stdout.trim().length).toBeGreaterThan(0);
    },
    90_000,
  );
});
