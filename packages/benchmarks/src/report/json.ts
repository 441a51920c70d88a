import { writeFile } from 'node:fs/promises';
import type { BenchReport } from '../types.js';

/**
 * The JSON report: `machine` and `results` in the shape the issue fixes, plus
 * `settings`, `skipped` (what was not measured and why), `goals` and `notes`;
 * with the broker suite, `broker` (its rows, fetch-path rows, Kafka's figures).
 */
export function renderJson(report: BenchReport): string {
  // Broker produce rows join `results` too (each with suite "broker"), so one filter on suite finds them.
  const broker = report.broker;
  const out = broker === undefined ? report : { ...report, results: [...report.results, ...broker.results] };
  return `${JSON.stringify(out, null, 2)}\n`;
}

export async function writeJsonReport(file: string, report: BenchReport): Promise<void> {
  await writeFile(file, renderJson(report));
}
