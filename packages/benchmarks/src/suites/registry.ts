/**
 * The suite registry: the bench command runs whatever is registered here.
 * The broker suite's rows have their own shape and come back as `broker`.
 */
import type { Timing } from '../harness/ipc.js';
import type { Progress } from '../harness/progress.js';
import type { WorkerPool } from '../harness/workers.js';
import type { BenchOptions } from '../options.js';
import type { BenchResult, SkippedCase } from '../types.js';
import type { BrokerSection } from './broker-types.js';

export interface SuiteContext {
  options: BenchOptions;
  timing: Timing;
  progress: Progress;
  workers: WorkerPool;
}

/** What a suite will do, known before anything runs (so the progress bar has a total). */
export interface SuitePlan {
  caseCount: number;
  skipped: SkippedCase[];
  notes: string[];
  /** Runs the planned cases. A failed case goes into `failed`, never into `results` with made-up figures. */
  run(ctx: SuiteContext): Promise<{ results: BenchResult[]; failed: SkippedCase[]; broker?: BrokerSection }>;
}

export interface Suite {
  name: string;
  description: string;
  /** Set while the suite cannot run: printed instead of figures. */
  unavailable?: string;
  plan(options: BenchOptions): Promise<SuitePlan>;
}

const suites = new Map<string, Suite>();

export function registerSuite(suite: Suite): void {
  suites.set(suite.name, suite);
}

export function registeredSuites(): Suite[] {
  return [...suites.values()];
}

/** The suites a `--suite` value names; 'all' is every registered suite. */
export function selectSuites(name: string): Suite[] {
  if (name === 'all') return registeredSuites();
  const suite = suites.get(name);
  if (suite === undefined) {
    throw new Error(`unknown suite "${name}" (known: ${[...suites.keys(), 'all'].join(', ')})`);
  }
  return [suite];
}
