/**
 * The fetch-path measurement's server, a process of its own so its CPU time
 * is its own: a partition log of `--mb` MiB of 16 KiB batches (just written,
 * so in the page cache), served to FETCH requests one of two ways:
 *
 *   pooled-pread  the broker's path: PartitionLog.read preads the batches
 *                 into a pooled buffer (copy 1, kernel → user), the response
 *                 body is a view of it, and the socket write copies it into
 *                 the kernel (copy 2); the buffer goes back to the pool once
 *                 written.
 *   naive-copy    read the region into a freshly allocated, zeroed buffer
 *                 (copy 1, plus the zeroing), then join it into one frame
 *                 buffer (copy 2) before the socket write (copy 3).
 *
 * Answers `{ type: 'cpu' }` over IPC with its process.cpuUsage() in µs.
 */
import { open, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import {
  encodeProducerBatch,
  FetchRequestHeader,
  FetchResponseHeader,
  header,
  PartitionLog,
  RequestCode,
} from '@remoting-ts/broker-demo/bench';
import { RemotingCommand, RemotingServer, ResponseCode } from '@remoting-ts/remoting';
import type { FetchPath } from './broker-types.js';

const { values } = parseArgs({
  options: { path: { type: 'string' }, mb: { type: 'string', default: '64' } },
});
const mode = values.path as FetchPath;
if (mode !== 'pooled-pread' && mode !== 'naive-copy')
  throw new Error(`--path must be pooled-pread or naive-copy`);

const RECORDS_PER_BATCH = 136;
const VALUE_BYTES = 100;
const dir = path.join(os.tmpdir(), `fetch-path-${process.pid}`);
const log = await PartitionLog.open({
  dir,
  segmentBytes: 1024 * 1024 * 1024,
  flush: { mode: 'interval', intervalMs: 60_000 },
});
const value = Buffer.alloc(VALUE_BYTES, 0x2e);
const template = encodeProducerBatch(
  Array.from({ length: RECORDS_PER_BATCH }, () => ({ key: null, value, timestamp: Date.now() })),
);
const batchBytes = template.length;
const batches = Math.ceil((Number(values.mb) * 1024 * 1024) / batchBytes);
for (let i = 0; i < batches; i += 64) {
  const group: Buffer[] = [];
  for (let j = i; j < Math.min(batches, i + 64); j++) {
    const b = Buffer.from(template);
    const baseOffset = j * RECORDS_PER_BATCH;
    b.writeInt32BE(Math.floor(baseOffset / 2 ** 32), 0);
    b.writeUInt32BE(baseOffset >>> 0, 4);
    b.writeInt32BE(0, 12);
    group.push(b);
  }
  await log.appendRawBatches(Buffer.concat(group));
}
const logEndOffset = log.logEndOffset;
// The one segment file: every batch has the same size, so an offset's position is arithmetic.
const segment = await open(path.join(dir, `${'0'.padStart(20, '0')}.log`), 'r');

const server = new RemotingServer({ host: '127.0.0.1', port: 0 });
server.registerProcessor(
  RequestCode.FETCH,
  {
    async processRequest(ctx, request) {
      const h = request.decodeCustomHeader(FetchRequestHeader);
      let body: Buffer;
      let nextOffset: number;
      if (mode === 'pooled-pread') {
        const read = await log.read(h.fetchOffset, h.maxBytes);
        ctx.onResponseWritten(read.release);
        body = read.bytes;
        nextOffset = read.nextOffset;
      } else {
        const first = Math.floor(h.fetchOffset / RECORDS_PER_BATCH);
        const count = Math.max(1, Math.min(Math.floor(h.maxBytes / batchBytes), batches - first));
        const region = Buffer.alloc(count * batchBytes);
        await segment.read(region, 0, region.length, first * batchBytes);
        body = Buffer.concat([region]);
        nextOffset = (first + count) * RECORDS_PER_BATCH;
      }
      return RemotingCommand.createResponse(ResponseCode.SUCCESS)
        .writeCustomHeader(
          header(FetchResponseHeader, {
            highWatermark: logEndOffset,
            logEndOffset,
            logStartOffset: 0,
            nextOffset,
            leaderEpoch: 0,
          }),
        )
        .setBody(body);
    },
  },
  { concurrency: 16 },
);
await server.start();
const address = server.address();

process.on('message', (message: { type?: string }) => {
  if (message.type === 'cpu') {
    const usage = process.cpuUsage();
    process.send?.({ type: 'cpu', us: usage.user + usage.system });
  } else if (message.type === 'stop') {
    void shutdown();
  }
});
process.on('disconnect', () => void shutdown());

let stopping = false;
async function shutdown(): Promise<void> {
  if (stopping) return;
  stopping = true;
  await server.shutdown({ graceMs: 200 }).catch(() => undefined);
  await segment.close().catch(() => undefined);
  await log.close().catch(() => undefined);
  await rm(dir, { recursive: true, force: true });
  process.exit(0);
}

process.send?.({ type: 'ready', port: address.port, logEndOffset, batchBytes });
