/** The broker suite's part of the terminal report: produce rows beside Kafka's figures, and the fetch path. */
import { formatInteger, formatRatio } from '../format.js';
import type { BrokerSection } from '../suites/broker-types.js';
import { renderTable } from './table.js';

function ms(value: number): string {
  if (!Number.isFinite(value)) return '—';
  return value >= 100 ? value.toFixed(0) : value.toFixed(1);
}

export function brokerTable(section: BrokerSection): string {
  const rows = section.results.map((r) => [
    String(r.replicationFactor),
    r.acks,
    String(r.producers),
    formatInteger(r.recordsPerSec),
    r.mbPerSec.toFixed(1),
    ms(r.produceP50Ms),
    ms(r.produceP99Ms),
    ms(r.e2eP50Ms),
    ms(r.e2eP99Ms),
    r.errors === 0 ? '' : formatInteger(r.errors),
    r.kafkaRecordsPerSec === null ? '' : formatInteger(r.kafkaRecordsPerSec),
    r.coordination,
  ]);
  return renderTable(
    [
      'RF',
      'acks',
      'producers',
      'records/s',
      'MB/s',
      'produce p50 ms',
      'p99 ms',
      'e2e p50 ms',
      'p99 ms',
      'errors',
      'Kafka records/s',
      'coordination',
    ],
    rows,
    [
      'right',
      'left',
      'right',
      'right',
      'right',
      'right',
      'right',
      'right',
      'right',
      'right',
      'right',
      'left',
    ],
  );
}

export function fetchPathTable(section: BrokerSection): string {
  return renderTable(
    ['fetch path', 'MB/s', 'server CPU ms/MB', 'what it copies'],
    section.fetchPath.map((f) => [
      f.path,
      f.mbPerSec.toFixed(0),
      f.serverCpuMsPerMb.toFixed(2),
      f.description,
    ]),
    ['left', 'right', 'right', 'left'],
  );
}

/** The lines the terminal report adds for the broker suite. */
export function brokerReportLines(section: BrokerSection): string[] {
  const lines: string[] = [];
  if (section.results.length > 0) {
    const s = section.settings;
    lines.push(
      '',
      `broker (produce, ${s.valueBytes} B records; ${s.brokers} brokers, ${s.partitions} partitions; per row ${s.repeat} × (${s.warmupMs} ms warm-up + ${s.durationMs} ms); medians)`,
      brokerTable(section),
    );
    lines.push(
      `acks=all / acks=1 at RF=3: ours ${formatRatio(section.acksAllOverAcks1)}, Kafka ${formatRatio(section.kafka.acksAllOverAcks1)} ` +
        `(${formatInteger(section.kafka.acksAllRecordsPerSec)} / ${formatInteger(section.kafka.acks1RecordsPerSec)} records/s)`,
    );
    if (section.etcdAcksAllOverController !== null)
      lines.push(
        `acks=all at RF=3, etcd-coordinated / built-in controller: ${formatRatio(section.etcdAcksAllOverController)} (same run)`,
      );
  }
  if (section.fetchPath.length > 0)
    lines.push('', 'broker fetch path (page cache → consumer)', fetchPathTable(section));
  for (const note of section.notes) lines.push(`  ${note}`);
  return lines;
}
