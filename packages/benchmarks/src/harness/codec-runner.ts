/**
 * The codec suite's measurements, run inside a worker process: encode+decode
 * of whole commands, and the streaming FrameDecoder fed the same stream in
 * tiny and in large chunks.
 */
import { performance } from 'node:perf_hooks';
import { FrameDecoder, RemotingCommand, SerializeType } from '@remoting-ts/remoting';
import type { RunSample } from '../types.js';
import type { CodecCaseSpec } from './ipc.js';

/** Frames per pass of the frame-decoder stream: ~400 KB, well over one 64 KiB chunk. */
const STREAM_FRAMES = 2048;

/**
 * A request shaped like RocketMQ's SendMessageRequestHeader: the header a
 * broker decodes most often, so header cost is realistic rather than minimal.
 */
export function sampleCommand(serialize: 'JSON' | 'ROCKETMQ', bodyBytes: number): RemotingCommand {
  const cmd = RemotingCommand.createRequest(310)
    .addExtField('producerGroup', 'bench-producer-group')
    .addExtField('topic', 'bench-topic')
    .addExtField('defaultTopic', 'TBW102')
    .addExtField('defaultTopicQueueNums', '4')
    .addExtField('queueId', '3')
    .addExtField('sysFlag', '0')
    .addExtField('bornTimestamp', '1763940000000')
    .addExtField('flag', '0')
    .addExtField('properties', 'KEYS\u0001order-42\u0002WAIT\u0001true\u0002')
    .setBody(Buffer.alloc(bodyBytes, 0x62));
  cmd.serializeType = serialize === 'ROCKETMQ' ? SerializeType.ROCKETMQ : SerializeType.JSON;
  return cmd;
}

/** Runs `pass` (which does some operations and returns how many) until the time is up. */
function timed(durationMs: number, pass: () => number): RunSample {
  let count = 0;
  const start = performance.now();
  const deadline = start + durationMs;
  let now = start;
  while (now < deadline) {
    count += pass();
    now = performance.now();
  }
  const elapsedSec = (now - start) / 1000;
  return {
    reqPerSec: count / elapsedSec,
    count,
    elapsedSec,
    p50us: null,
    p99us: null,
    p999us: null,
    errors: 0,
  };
}

function encodeDecodePass(spec: CodecCaseSpec): () => number {
  const cmd = sampleCommand(spec.serialize, spec.bodyBytes);
  const serializeType = cmd.serializeType;
  return () => {
    for (let i = 0; i < 256; i++) {
      const decoded = RemotingCommand.decode(cmd.encode(serializeType));
      // A result the optimizer cannot prove unused.
      if (decoded.code !== cmd.code) throw new Error('encode+decode lost the request code');
    }
    return 256;
  };
}

function frameDecoderPass(spec: CodecCaseSpec): () => number {
  const chunkBytes = spec.chunkBytes ?? 65536;
  const frame = sampleCommand(spec.serialize, spec.bodyBytes).encode();
  const stream = Buffer.concat(Array.from({ length: STREAM_FRAMES }, () => frame));
  const decoder = new FrameDecoder();
  const out: RemotingCommand[] = [];
  return () => {
    out.length = 0;
    for (let pos = 0; pos < stream.length; pos += chunkBytes) {
      decoder.pushTo(stream.subarray(pos, pos + chunkBytes), out);
    }
    if (out.length !== STREAM_FRAMES) throw new Error(`decoded ${out.length} of ${STREAM_FRAMES} frames`);
    return out.length;
  };
}

export function runCodecCase(spec: CodecCaseSpec): RunSample[] {
  const pass = spec.mode === 'encode+decode' ? encodeDecodePass(spec) : frameDecoderPass(spec);
  timed(spec.warmupMs, pass);
  return Array.from({ length: spec.repeat }, () => timed(spec.durationMs, pass));
}
