/**
 * Measures the log's append and read throughput with real files:
 *   npx tsx packages/broker-demo/src/log/measure-throughput.ts [batches]
 * Batches of 100 records of 128 bytes, as a producer would send them. Reads
 * are follower-style fetches of up to 1 MiB, each buffer released after use
 * (as a broker does once the socket has the bytes). Numbers depend on the
 * disk and the page cache: the reads here are served from the page cache.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { type FlushPolicy, type LogRecord, PartitionLog } from './index.js';

const RECORDS_PER_BATCH = 100;
const RECORD_BYTES = 128;

async function measure(batches: number, flush: FlushPolicy): Promise<void> {
  const dir = await mkdtemp(path.join(tmpdir(), 'log-throughput-'));
  try {
    const log = await PartitionLog.open({ dir, flush, segmentBytes: 64 * 1024 * 1024 });
    const records: LogRecord[] = Array.from({ length: RECORDS_PER_BATCH }, (_, i) => ({
      key: Buffer.from(`key-${i}`),
      value: Buffer.alloc(RECORD_BYTES, i),
      timestamp: Date.now(),
    }));
    const appendStart = process.hrtime.bigint();
    for (let b = 0; b < batches; b++) await log.append(records, 0);
    await log.flush();
    const appendMs = Number(process.hrtime.bigint() - appendStart) / 1e6;

    const readStart = process.hrtime.bigint();
    let offset = 0;
    let bytes = 0;
    let reads = 0;
    while (offset < log.logEndOffset) {
      const result = await log.read(offset, 1024 * 1024);
      bytes += result.bytes.length;
      offset = result.nextOffset;
      reads++;
      result.release();
    }
    const readMs = Number(process.hrtime.bigint() - readStart) / 1e6;
    const payloadMb = (batches * RECORDS_PER_BATCH * RECORD_BYTES) / 1e6;
    const name = flush.mode === 'interval' ? `interval ${flush.intervalMs} ms` : 'every-append';
    console.log(
      `${name.padEnd(16)} append: ${batches} batches in ${appendMs.toFixed(0)} ms = ` +
        `${(batches / (appendMs / 1000)).toFixed(0)} batches/s, ${(payloadMb / (appendMs / 1000)).toFixed(1)} MB/s payload | ` +
        `read: ${(bytes / 1e6).toFixed(1)} MB in ${reads} fetches, ${readMs.toFixed(0)} ms = ` +
        `${(bytes / 1e6 / (readMs / 1000)).toFixed(0)} MB/s`,
    );
    await log.close();
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

const batches = Number(process.argv[2] ?? 2000);
await measure(Math.min(batches, 500), { mode: 'every-append' });
await measure(batches, { mode: 'interval', intervalMs: 1000 });
