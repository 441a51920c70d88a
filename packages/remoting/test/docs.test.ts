/**
 * The package README's list of error codes (its Errors table, the only one)
 * is complete: every `code` a RemotingError in src/ can carry is a row, and
 * every row is a code the sources define.
 */
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { expect, test } from 'vitest';

const PACKAGE_DIR = fileURLToPath(new URL('..', import.meta.url));

function sourceFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const full = path.join(dir, entry.name);
    if (entry.isDirectory()) return entry.name === 'cli' ? [] : sourceFiles(full);
    return entry.name.endsWith('.ts') ? [full] : [];
  });
}

test("the README's Errors table lists every error code the sources define, and only those", () => {
  const defined = new Set(
    sourceFiles(path.join(PACKAGE_DIR, 'src')).flatMap((file) =>
      // A code is what an error class hands its RemotingError base (other REMOTING_ strings, such as
      // environment variable names, are not codes).
      [...readFileSync(file, 'utf8').matchAll(/super\(\s*'(REMOTING_[A-Z_]+)'/g)].map((m) => m[1] as string),
    ),
  );
  const readme = readFileSync(path.join(PACKAGE_DIR, 'README.md'), 'utf8');
  const errors = readme.slice(
    readme.indexOf('\n## Errors\n'),
    readme.indexOf('\n## ', readme.indexOf('\n## Errors\n') + 4),
  );
  const listed = new Set(
    [...errors.matchAll(/^\| `\w+` \| `(REMOTING_[A-Z_]+)` \|/gm)].map((m) => m[1] as string),
  );
  expect(defined.size).toBeGreaterThan(5);
  expect([...listed].sort()).toEqual([...defined].sort());
});
