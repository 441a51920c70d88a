/**
 * Bytes that are not a frame: each is a RemotingProtocolError (code
 * REMOTING_PROTOCOL) whose message names the problem, from
 * RemotingCommand.decode and from a FrameDecoder alike; a failed decoder
 * refuses everything after. Random garbage never escapes as another error
 * type and never makes the decoder allocate beyond its frame limit.
 */
import fc from 'fast-check';
import { afterEach, describe, expect, test, vi } from 'vitest';
import { FrameDecoder, RemotingCommand, RemotingProtocolError, SerializeType } from '../src/index.js';
import { expectProtocolError, hex } from './support/wire.js';

afterEach(() => {
  vi.restoreAllMocks();
});

/** A frame whose length prefix and header-length word are consistent with the header bytes given. */
function frameAround(serializeType: number, header: Buffer, body: Buffer = Buffer.alloc(0)): Buffer {
  const prefix = Buffer.alloc(8);
  prefix.writeInt32BE(4 + header.length + body.length, 0);
  prefix.writeUInt32BE(((serializeType << 24) | header.length) >>> 0, 4);
  return Buffer.concat([prefix, header, body]);
}

const json = (text: string) => frameAround(SerializeType.JSON, Buffer.from(text, 'utf8'));
const binary = (...parts: string[]) => frameAround(SerializeType.ROCKETMQ, hex(...parts));
/** code 1, language 0, version 0, opaque 1, flag 0: the 13 fixed bytes before the remark length. */
const FIXED = '0001 00 0000 00000001 00000000';

const CASES: Array<[name: string, frame: Buffer, message: RegExp]> = [
  ['total length 0', hex('00000000 00000000'), /frame length 0 is below 4/],
  ['total length 3', hex('00000003 00000000'), /frame length 3 is below 4/],
  ['total length negative (high bit set)', hex('80000000 00000000'), /frame length -2147483648 is below 4/],
  ['total length -1', hex('ffffffff 00000000'), /frame length -1 is below 4/],
  [
    'total length above the maximum',
    hex('7fffffff 00000000'),
    /frame length 2147483647 \+ 4 exceeds the maximum frame size of 16777216 bytes/,
  ],
  [
    'header length larger than the frame',
    hex('0000000a 000000ff 000000000000'),
    /header length 255 does not fit in a frame of length 10 \(at most 6\)/,
  ],
  [
    'header length larger than the frame (binary)',
    hex('00000008 01000005 00000000'),
    /header length 5 does not fit in a frame of length 8 \(at most 4\)/,
  ],
  ['serialize type 2', hex('00000006 02000002 7b7d'), /unknown serialize type 2 \(0 = JSON, 1 = ROCKETMQ\)/],
  ['serialize type 255', hex('00000006 ff000002 7b7d'), /unknown serialize type 255/],
  ['an empty JSON header', hex('00000004 00000000'), /JSON header is not valid JSON/],
  ['invalid JSON', json('{"code":'), /JSON header is not valid JSON/],
  ['JSON with trailing garbage', json('{"code":1}}'), /JSON header is not valid JSON/],
  ['JSON in a non-UTF-8 byte soup', frameAround(0, hex('7b ff fe 7d')), /JSON header is not valid JSON/],
  ['a JSON array', json('[1,2]'), /JSON header is not a JSON object/],
  ['a JSON string', json('"code"'), /JSON header is not a JSON object/],
  ['JSON null', json('null'), /JSON header is not a JSON object/],
  ['a JSON number', json('42'), /JSON header is not a JSON object/],
  [
    'an empty binary header',
    hex('00000004 01000000'),
    /binary header truncated: fixed fields needs 13 bytes/,
  ],
  [
    'a binary header cut inside the fixed fields',
    binary('0001 00 0000 000000'),
    /binary header truncated: fixed fields needs 13 bytes at header offset 0 but the header is 8 bytes/,
  ],
  [
    'a binary header without its remark length',
    binary(FIXED, '0000'),
    /binary header truncated: remark length needs 4 bytes at header offset 13/,
  ],
  [
    'a remark longer than the header',
    binary(FIXED, '00000064 414243'),
    /binary header truncated: remark needs 100 bytes at header offset 17 but the header is 20 bytes/,
  ],
  ['a negative remark length', binary(FIXED, 'ffffffff 00000000'), /remark length is negative \(-1\)/],
  [
    'a binary header without its extFields length',
    binary(FIXED, '00000000'),
    /binary header truncated: extFields length needs 4 bytes at header offset 17/,
  ],
  [
    'an extFields length overrunning the header',
    binary(FIXED, '00000000', '00000032', '0001 6b 00000001 76'),
    /extFields length 50 overruns the header \(8 bytes left at header offset 21\)/,
  ],
  [
    'a negative extFields length',
    binary(FIXED, '00000000', 'fffffff0'),
    /extFields length -16 overruns the header/,
  ],
  [
    'an extFields key overrunning extFields',
    binary(FIXED, '00000000', '00000008', '000a 6b 00000001 76'),
    /extFields entry key at header offset 23 overruns extFields/,
  ],
  [
    'an extFields value overrunning extFields',
    binary(FIXED, '00000000', '00000008', '0001 6b 00000009 76'),
    /extFields entry value at header offset 28 overruns extFields/,
  ],
  [
    'an extFields key length cut by the extFields end',
    binary(FIXED, '00000000', '00000009', '0001 6b 00000001 76', '00'),
    /extFields entry key length at header offset 29 overruns extFields/,
  ],
  [
    'an extFields value length cut by the extFields end',
    binary(FIXED, '00000000', '00000005', '0001 6b 0000'),
    /extFields entry value length at header offset 24 overruns extFields/,
  ],
  [
    'an extFields entry overrunning a declared length shorter than the header',
    binary(FIXED, '00000000', '00000004', '0001 6b 00000001 76'),
    /extFields entry value length at header offset 24 overruns extFields/,
  ],
  [
    'a negative extFields key length',
    binary(FIXED, '00000000', '00000008', 'ffff 6b 00000001 76'),
    /extFields entry key at header offset 23 overruns extFields/,
  ],
];

describe.each(CASES)('%s', (_name, frame, message) => {
  test('RemotingCommand.decode throws a RemotingProtocolError naming the problem', () => {
    expectProtocolError(() => RemotingCommand.decode(frame), message);
  });

  test('a FrameDecoder throws it too, and refuses further input with the same error', () => {
    const decoder = new FrameDecoder();
    const error = expectProtocolError(() => decoder.push(frame), message);
    expect(error.streamOffset).toBe(0);
    expect(decoder.failed).toBe(true);
    const valid = RemotingCommand.createRequest(1).encode();
    expect(() => decoder.push(valid)).toThrow(error);
    try {
      decoder.push(valid);
    } catch (again) {
      expect(again).toBe(error);
    }
  });
});

describe('RemotingCommand.decode on a buffer that is not exactly one frame', () => {
  test('fewer than 8 bytes', () => {
    expectProtocolError(
      () => RemotingCommand.decode(hex('000000')),
      /frame is 3 bytes; a frame needs at least 8/,
    );
  });

  test('a length field that disagrees with the buffer size', () => {
    const frame = RemotingCommand.createRequest(1).setBody('abc').encode();
    expectProtocolError(
      () => RemotingCommand.decode(frame.subarray(0, frame.length - 1)),
      new RegExp(
        `frame length field says ${frame.length - 4} \\+ 4 bytes but the frame is ${frame.length - 1} bytes`,
      ),
    );
    expectProtocolError(
      () => RemotingCommand.decode(Buffer.concat([frame, hex('00')])),
      /frame length field says/,
    );
  });

  test('the error carries the stream offset it was given', () => {
    const error = expectProtocolError(
      () => RemotingCommand.decode(hex('00000006 02000002 7b7d'), { streamOffset: 1234 }),
      /unknown serialize type 2 \(0 = JSON, 1 = ROCKETMQ\) \(frame at stream offset 1234\)/,
    );
    expect(error.streamOffset).toBe(1234);
  });
});

/** Bytes that look enough like a frame to get past the length checks some of the time. */
const frameShapedGarbage = fc
  .record({
    total: fc.oneof(fc.integer({ min: -10, max: 600 }), fc.integer({ min: -2147483648, max: 2147483647 })),
    serializeByte: fc.oneof(fc.constantFrom(0, 1), fc.integer({ min: 0, max: 255 })),
    headerLength: fc.oneof(fc.integer({ min: 0, max: 600 }), fc.integer({ min: 0, max: 0xffffff })),
    rest: fc.uint8Array({ maxLength: 700 }),
  })
  .map(({ total, serializeByte, headerLength, rest }) => {
    const prefix = Buffer.alloc(8);
    prefix.writeInt32BE(total, 0);
    prefix.writeUInt32BE(((serializeByte << 24) | headerLength) >>> 0, 4);
    return Buffer.concat([prefix, Buffer.from(rest)]);
  });

const garbage = fc.oneof(
  fc.uint8Array({ minLength: 1, maxLength: 2048 }).map((a) => Buffer.from(a)),
  frameShapedGarbage,
);

/** Splits `bytes` at the given fractions (0..1) of its length. */
function cut(bytes: Buffer, fractions: number[]): Buffer[] {
  const points = [...new Set(fractions.map((f) => Math.floor(f * bytes.length)))].sort((a, b) => a - b);
  const chunks: Buffer[] = [];
  let start = 0;
  for (const point of points) {
    chunks.push(bytes.subarray(start, point));
    start = point;
  }
  chunks.push(bytes.subarray(start));
  return chunks;
}

describe('fuzzing', () => {
  test('a FrameDecoder fed random garbage throws only RemotingProtocolErrors of its own making and never allocates more than maxFrameBytes', () => {
    const maxFrameBytes = 4096;
    let largestAllocation = 0;
    const realAllocUnsafe = Buffer.allocUnsafe;
    vi.spyOn(Buffer, 'allocUnsafe').mockImplementation((size: number) => {
      largestAllocation = Math.max(largestAllocation, size);
      // Never let a missing length check actually reserve gigabytes: recording the size is enough to fail.
      if (size > maxFrameBytes) throw new Error(`allocation of ${size} bytes`);
      return realAllocUnsafe(size);
    });
    fc.assert(
      fc.property(
        garbage,
        fc.array(fc.double({ min: 0, max: 1, noNaN: true }), { maxLength: 8 }),
        (bytes, at) => {
          const decoder = new FrameDecoder({ maxFrameBytes });
          for (const chunk of cut(bytes, at)) {
            try {
              decoder.push(chunk);
            } catch (error) {
              expect(error).toBeInstanceOf(RemotingProtocolError);
              // The decoder wraps anything unexpected; garbage must be caught by a real check, not by that net.
              expect((error as RemotingProtocolError).message).not.toMatch(/^frame could not be decoded/);
              expect(decoder.failed).toBe(true);
              expect(() => decoder.push(hex('00'))).toThrow(error as Error);
              return;
            }
          }
        },
      ),
      { numRuns: 400 },
    );
    expect(largestAllocation).toBeLessThanOrEqual(maxFrameBytes);
  });

  test('valid frames with random bytes overwritten decode or raise RemotingProtocolError, nothing else', () => {
    const frames = [
      (() => {
        const c = new RemotingCommand(10, 5);
        c.remark = 'remark é';
        c.extFields = new Map([
          ['topic', 'TopicTest'],
          ['queueId', '1'],
          ['主题', '值'],
        ]);
        return c.setBody('hello');
      })(),
    ].flatMap((c) => [c.encode(SerializeType.JSON), c.encode(SerializeType.ROCKETMQ)]);
    fc.assert(
      fc.property(
        fc.constantFrom(...frames),
        fc.array(fc.tuple(fc.nat(), fc.integer({ min: 0, max: 255 })), { minLength: 1, maxLength: 6 }),
        (original, edits) => {
          const frame = Buffer.from(original);
          for (const [at, byte] of edits) frame[4 + (at % (frame.length - 4))] = byte;
          try {
            const cmd = RemotingCommand.decode(frame);
            expect(cmd).toBeInstanceOf(RemotingCommand);
          } catch (error) {
            expect(error).toBeInstanceOf(RemotingProtocolError);
          }
        },
      ),
      { numRuns: 500 },
    );
  });
});
