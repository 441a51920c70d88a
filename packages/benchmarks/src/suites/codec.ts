/** The codec suite: the protocol layer alone, in one process, no sockets. */
import { formatBytes, formatRate } from '../format.js';
import type { CodecCaseSpec } from '../harness/ipc.js';
import { summarizeRuns } from '../results.js';
import type { BenchResult, SkippedCase } from '../types.js';
import type { Suite, SuitePlan } from './registry.js';

type CodecCase = Omit<CodecCaseSpec, 'warmupMs' | 'durationMs' | 'repeat'>;

export function codecCases(): CodecCase[] {
  const cases: CodecCase[] = [];
  for (const serialize of ['JSON', 'ROCKETMQ'] as const) {
    for (const bodyBytes of [128, 1024, 16384]) cases.push({ mode: 'encode+decode', serialize, bodyBytes });
  }
  // The same stream in 1-byte and 64 KiB chunks: the decoder's cost per chunk against its cost per frame.
  for (const chunkBytes of [1, 65536]) {
    cases.push({ mode: 'frame-decoder', serialize: 'JSON', bodyBytes: 128, chunkBytes });
  }
  return cases;
}

export function codecLabel(c: CodecCase): string {
  const chunks = c.chunkBytes === undefined ? '' : `, ${formatBytes(c.chunkBytes)} chunks`;
  return `codec ${c.mode} ${c.serialize} ${formatBytes(c.bodyBytes)}${chunks}`;
}

function plan(): Promise<SuitePlan> {
  const cases = codecCases();
  return Promise.resolve({
    caseCount: cases.length,
    skipped: [],
    notes: [
      'codec: a request with a SendMessageRequestHeader-like header (9 extFields); encode+decode = cmd.encode() then RemotingCommand.decode(); frame-decoder = 2048 frames pushed through one FrameDecoder, figures in frames/s.',
    ],
    async run(ctx) {
      const results: BenchResult[] = [];
      const failed: SkippedCase[] = [];
      for (const c of cases) {
        const label = codecLabel(c);
        ctx.progress.caseStarted(label);
        try {
          const worker = await ctx.workers.codec();
          const timeoutMs = 2 * (ctx.timing.warmupMs + ctx.timing.repeat * ctx.timing.durationMs) + 60_000;
          const runs = await worker.runCodec({ ...c, ...ctx.timing }, timeoutMs);
          const result = summarizeRuns(
            {
              suite: 'codec',
              impl: 'remoting-ts',
              mode: c.mode,
              bodyBytes: c.bodyBytes,
              inflight: null,
              connections: null,
              serialize: c.serialize,
              ...(c.chunkBytes === undefined ? {} : { chunkBytes: c.chunkBytes }),
            },
            runs,
          );
          results.push(result);
          ctx.progress.caseDone(label, formatRate(result.reqPerSec));
        } catch (error) {
          const message = error instanceof Error ? error.message.split('\n')[0]! : String(error);
          failed.push({
            suite: 'codec',
            impl: 'remoting-ts',
            description: label,
            reason: `failed: ${message}`,
          });
          ctx.progress.caseDone(label, `FAILED: ${message}`);
        }
      }
      return { results, failed };
    },
  });
}

export const codecSuite: Suite = {
  name: 'codec',
  description: 'RemotingCommand encode+decode per serialization and body size; FrameDecoder chunking',
  plan,
};
