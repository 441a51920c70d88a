import { inject } from 'vitest';
import type { ChildName } from './child-bundles.js';

/**
 * The `node` arguments that start a bundled child program (see
 * child-bundles.ts): `spawn(process.execPath, [...childEntry('cli'), ...args])`.
 * Source maps on, so a child's stack trace names the .ts line.
 */
export function childEntry(name: ChildName): string[] {
  return ['--enable-source-maps', inject('childBundles')[name]];
}
