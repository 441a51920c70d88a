/** The broker suite's section of the HTML report: produce rows beside Kafka's figures, and the fetch path. */
import { formatInteger, formatRatio } from '../format.js';
import type { BrokerSection } from '../suites/broker-types.js';
import { escapeXml } from './svg.js';

function td(text: string, numeric = false): string {
  return `<td${numeric ? ' class="num"' : ''}>${escapeXml(text)}</td>`;
}

function ms(value: number): string {
  if (!Number.isFinite(value)) return '—';
  return value >= 100 ? value.toFixed(0) : value.toFixed(1);
}

function table(id: string, header: readonly string[], rows: readonly string[]): string {
  return `<table id="${id}"><thead><tr>${header.map((h) => `<th>${escapeXml(h)}</th>`).join('')}</tr></thead><tbody>${rows.join('')}</tbody></table>`;
}

export function brokerHtmlSection(section: BrokerSection): string {
  const produce = section.results.map(
    (r) =>
      `<tr data-row="${escapeXml(r.row)}">${[
        td(String(r.replicationFactor), true),
        td(r.acks),
        td(String(r.producers), true),
        td(formatInteger(r.recordsPerSec), true),
        td(r.mbPerSec.toFixed(1), true),
        td(ms(r.produceP50Ms), true),
        td(ms(r.produceP99Ms), true),
        td(ms(r.e2eP50Ms), true),
        td(ms(r.e2eP99Ms), true),
        td(r.errors === 0 ? '' : formatInteger(r.errors), true),
        td(r.kafkaRecordsPerSec === null ? '' : formatInteger(r.kafkaRecordsPerSec), true),
        td(r.coordination),
      ].join('')}</tr>`,
  );
  const fetch = section.fetchPath.map(
    (f) =>
      `<tr data-path="${escapeXml(f.path)}">${[
        td(f.path),
        td(f.mbPerSec.toFixed(0), true),
        td(f.serverCpuMsPerMb.toFixed(2), true),
        td(f.description),
      ].join('')}</tr>`,
  );
  const ratio =
    `acks=all / acks=1 at RF=3: ours <strong id="broker-ratio">${escapeXml(formatRatio(section.acksAllOverAcks1))}</strong>, ` +
    `Kafka ${escapeXml(formatRatio(section.kafka.acksAllOverAcks1))} ` +
    `(${escapeXml(`${formatInteger(section.kafka.acksAllRecordsPerSec)} / ${formatInteger(section.kafka.acks1RecordsPerSec)}`)} records/s; ${escapeXml(section.kafka.source)})`;
  return `<h2>Broker (ISR demo, 100 B records)</h2>
${table(
  'broker',
  [
    'RF',
    'acks',
    'producers',
    'records/s',
    'MB/s',
    'produce p50 ms',
    'produce p99 ms',
    'e2e p50 ms',
    'e2e p99 ms',
    'errors',
    'Kafka records/s',
    'coordination',
  ],
  produce,
)}
<p>${ratio}</p>
${
  section.etcdAcksAllOverController === null
    ? ''
    : `<p>acks=all at RF=3, etcd-coordinated / built-in controller: <strong id="broker-etcd-ratio">${escapeXml(formatRatio(section.etcdAcksAllOverController))}</strong> (same run)</p>`
}
${fetch.length > 0 ? `<h3>Fetch path (page cache → consumer)</h3>${table('broker-fetch-path', ['path', 'MB/s', 'server CPU ms/MB', 'what it copies'], fetch)}` : ''}
${section.notes.map((n) => `<p>${escapeXml(n)}</p>`).join('\n')}`;
}
