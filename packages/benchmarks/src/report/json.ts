import { writeFile } from 'node:fs/promises';
import type { BenchReport } from '../types.js';

/**
 * The JSON report: `machine` and `results` in the shape the issue fixes, plus
 * `settings`, `skipped` (what was not measured and why), `goals` and `notes`;
 * with the broker suite, `broker`: its rows (each with `suite: "broker"`),
 * the fetch-path rows and Kafka's published figures.
 */
export function renderJson(report: BenchReport): string {
  return `${JSON.stringify(report, null, 2)}\n`;
}

export async function writeJsonReport(file: string, report: BenchReport): Promise<void> {
  await writeFile(file, renderJson(report));
}
