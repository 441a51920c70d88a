/**
 * Properties of the codec over random commands: encode/decode round-trips in
 * both serializations, any cut of a stream of frames decodes to the same
 * commands, and encodeParts() is encode() without the body copy.
 */
import fc from 'fast-check';
import { describe, expect, test } from 'vitest';
import { FrameDecoder, RemotingCommand, SerializeType } from '../src/index.js';
import { unicodeString } from './support/arbitraries.js';
import { fieldsOf } from './support/wire.js';

const INT32 = { min: -2147483648, max: 2147483647 };
const INT16 = { min: -32768, max: 32767 };

/** Strings with any code point (no lone surrogates), the odd ones peers really send, and CJK. */
const text = fc.oneof(
  { arbitrary: unicodeString({ maxLength: 24 }), weight: 3 },
  { arbitrary: fc.string({ unit: 'grapheme', maxLength: 12 }), weight: 2 },
  {
    arbitrary: fc.constantFrom('', '主题不存在', '测试主题', 'TopicTest', ' request type 9999 not supported'),
    weight: 1,
  },
);
const key = fc.oneof(
  { arbitrary: text, weight: 3 },
  {
    arbitrary: fc.constantFrom(
      '__proto__',
      'constructor',
      'prototype',
      'toString',
      'hasOwnProperty',
      '',
      '主题',
    ),
    weight: 2,
  },
);
const extFields = fc.option(
  fc.array(fc.tuple(key, text), { maxLength: 8 }).map((entries) => new Map(entries)),
  { nil: null },
);

/** Body sizes up to maxBytes, mostly small; content is a cheap pattern of the seed. */
function bodyArbitrary(maxBytes: number, minBytes = 0) {
  const size =
    minBytes > 0
      ? fc.integer({ min: minBytes, max: maxBytes })
      : fc.oneof(
          { arbitrary: fc.integer({ min: 0, max: Math.min(64, maxBytes) }), weight: 6 },
          { arbitrary: fc.integer({ min: 0, max: Math.min(65_536, maxBytes) }), weight: 2 },
          { arbitrary: fc.integer({ min: 0, max: maxBytes }), weight: 1 },
        );
  const body = fc.tuple(size, fc.integer({ min: 0, max: 255 })).map(([n, seed]) => {
    const bytes = Buffer.allocUnsafe(n);
    for (let i = 0; i < Math.min(n, 256); i++) bytes[i] = (seed + i * 31) & 0xff;
    if (n > 256) bytes.fill(bytes.subarray(0, 256), 256);
    return bytes;
  });
  return minBytes > 0 ? body : fc.option(body, { nil: null });
}

function commandArbitrary(serializeType: SerializeType, maxBodyBytes: number, minBodyBytes = 0) {
  const binary = serializeType === SerializeType.ROCKETMQ;
  return fc
    .record({
      // The binary header carries code and version as int16 and language as one byte;
      // the JSON header carries ints and the language by name (so only known codes).
      code: fc.integer(binary ? INT16 : INT32),
      version: fc.integer(binary ? INT16 : INT32),
      language: binary ? fc.integer({ min: 0, max: 255 }) : fc.integer({ min: 0, max: 13 }),
      opaque: fc.integer(INT32),
      flag: fc.integer(INT32),
      remark: fc.option(text, { nil: null }),
      extFields,
      body: bodyArbitrary(maxBodyBytes, minBodyBytes),
    })
    .map((f) => {
      const cmd = new RemotingCommand(f.code, f.opaque);
      cmd.language = f.language;
      cmd.version = f.version;
      cmd.flag = f.flag;
      cmd.remark = f.remark;
      cmd.extFields = f.extFields;
      cmd.body = f.body;
      cmd.serializeType = serializeType;
      return cmd;
    });
}

const anyCommand = (maxBodyBytes: number, minBodyBytes = 0) =>
  fc.oneof(
    commandArbitrary(SerializeType.JSON, maxBodyBytes, minBodyBytes),
    commandArbitrary(SerializeType.ROCKETMQ, maxBodyBytes, minBodyBytes),
  );

/** JSON.parse lists integer-like keys first, so JSON extFields compare as sets; binary keeps wire order. */
const ARRAY_INDEX = /^(?:0|[1-9]\d{0,8})$/;

/** What the peer sees: the fields after the documented normalisations of each serialization. */
function expected(cmd: RemotingCommand): ReturnType<typeof fieldsOf> {
  const f = fieldsOf(cmd);
  if (f.body === '') f.body = null;
  if (cmd.serializeType === SerializeType.ROCKETMQ) {
    // RocketMQSerializable writes "" and {} as length 0, which read back as null;
    // an entry with an empty key or value is dropped, as Java drops its nulls.
    if (f.remark === '') f.remark = null;
    if (f.extFields !== null) f.extFields = f.extFields.filter(([key, value]) => key !== '' && value !== '');
    if (f.extFields?.length === 0) f.extFields = null;
  } else if (f.extFields !== null) {
    f.extFields.sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
  }
  return f;
}

function actual(cmd: RemotingCommand): ReturnType<typeof fieldsOf> {
  const f = fieldsOf(cmd);
  if (cmd.serializeType === SerializeType.JSON) f.extFields?.sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
  return f;
}

describe.each([
  ['JSON', SerializeType.JSON],
  ['ROCKETMQ', SerializeType.ROCKETMQ],
] as const)('%s round trip', (_name, serializeType) => {
  test('decode(encode(command)) gives the command back, bodies from 0 B to 1 MiB', () => {
    fc.assert(
      fc.property(commandArbitrary(serializeType, 1 << 20), (cmd) => {
        const frame = cmd.encode();
        expect(frame.readInt32BE(0)).toBe(frame.length - 4);
        expect(frame.readUInt8(4)).toBe(serializeType);
        expect(actual(RemotingCommand.decode(frame))).toEqual(expected(cmd));
      }),
      { numRuns: 150 },
    );
  });

  test('re-encoding a decoded frame reproduces its bytes', () => {
    fc.assert(
      fc.property(commandArbitrary(serializeType, 256), (cmd) => {
        const keys = [...(cmd.extFields?.keys() ?? [])];
        // Integer-like JSON keys come back first (JSON.parse's key order), which changes the bytes but not the meaning.
        fc.pre(serializeType === SerializeType.ROCKETMQ || !keys.some((k) => ARRAY_INDEX.test(k)));
        const frame = cmd.encode();
        expect(RemotingCommand.decode(frame).encode().equals(frame)).toBe(true);
      }),
      { numRuns: 150 },
    );
  });
});

/** Cuts `stream` at the given points; duplicates and the ends give empty chunks, which must be harmless too. */
function chunksAt(stream: Buffer, points: number[]): Buffer[] {
  const sorted = points.map((p) => p % (stream.length + 1)).sort((a, b) => a - b);
  const chunks: Buffer[] = [];
  let start = 0;
  for (const p of sorted) {
    chunks.push(stream.subarray(start, p));
    start = p;
  }
  chunks.push(stream.subarray(start));
  return chunks;
}

function decodeAll(chunks: Buffer[]): { commands: RemotingCommand[]; buffered: number } {
  const decoder = new FrameDecoder();
  const commands: RemotingCommand[] = [];
  for (const chunk of chunks) decoder.pushTo(chunk, commands);
  return { commands, buffered: decoder.bufferedBytes };
}

describe('a stream of N frames cut anywhere', () => {
  test('random cut points yield exactly the N commands, in order', () => {
    fc.assert(
      fc.property(
        fc.array(anyCommand(2048), { minLength: 1, maxLength: 8 }),
        fc.array(fc.nat(), { maxLength: 40 }),
        (cmds, points) => {
          const stream = Buffer.concat(cmds.map((c) => c.encode()));
          const { commands, buffered } = decodeAll(chunksAt(stream, points));
          expect(commands.map(actual)).toEqual(cmds.map(expected));
          expect(buffered).toBe(0);
        },
      ),
      { numRuns: 150 },
    );
  });

  test('1-byte chunks yield exactly the N commands, in order', () => {
    fc.assert(
      fc.property(fc.array(anyCommand(300), { minLength: 1, maxLength: 5 }), (cmds) => {
        const stream = Buffer.concat(cmds.map((c) => c.encode()));
        const chunks = Array.from({ length: stream.length }, (_, i) => stream.subarray(i, i + 1));
        const { commands, buffered } = decodeAll(chunks);
        expect(commands.map(actual)).toEqual(cmds.map(expected));
        expect(buffered).toBe(0);
      }),
      { numRuns: 40 },
    );
  });

  test('a frame with a body of 64 KiB to 1 MiB cut at random points', () => {
    fc.assert(
      fc.property(
        fc.tuple(anyCommand(1 << 20, 1 << 16), anyCommand(64)),
        fc.array(fc.nat(), { maxLength: 12 }),
        ([big, small], points) => {
          const stream = Buffer.concat([big.encode(), small.encode()]);
          const { commands } = decodeAll(chunksAt(stream, points));
          expect(commands.map(actual)).toEqual([expected(big), expected(small)]);
        },
      ),
      { numRuns: 25 },
    );
  });
});

describe('encodeParts()', () => {
  test('head + body equals encode(), and the body part is the command body itself, not a copy', () => {
    fc.assert(
      fc.property(anyCommand(4096), (cmd) => {
        const [head, body] = cmd.encodeParts();
        const whole = cmd.encode();
        expect(Buffer.concat(body === null ? [head] : [head, body]).equals(whole)).toBe(true);
        expect(head.readInt32BE(0)).toBe(whole.length - 4);
        if (cmd.body !== null && cmd.body.length > 0) expect(body).toBe(cmd.body);
        else expect(body).toBeNull();
      }),
      { numRuns: 200 },
    );
  });

  test('with no body the head is the whole frame', () => {
    const cmd = new RemotingCommand(1, 1);
    const [head, body] = cmd.encodeParts(SerializeType.ROCKETMQ);
    expect(body).toBeNull();
    expect(head).toEqual(cmd.encode(SerializeType.ROCKETMQ));
  });
});

describe('encodeInto()', () => {
  test('writes the bytes of encode() at any offset, with the body or leaving it to the caller', () => {
    fc.assert(
      fc.property(anyCommand(4096), fc.nat(64), fc.boolean(), (cmd, offset, withBody) => {
        const whole = cmd.encode();
        const bodyLength = cmd.body?.length ?? 0;
        const target = Buffer.alloc(offset + whole.length + 16, 0xee);
        const end = cmd.encodeInto(target, offset, withBody);
        const written = whole.length - (withBody ? 0 : bodyLength);
        expect(end).toBe(offset + written);
        expect(target.subarray(offset, end).equals(whole.subarray(0, written))).toBe(true);
        // Nothing outside the frame is touched.
        expect(target.subarray(0, offset).every((b) => b === 0xee)).toBe(true);
        expect(target.subarray(end).every((b) => b === 0xee)).toBe(true);
      }),
      { numRuns: 300 },
    );
  });

  test('a frame that does not fit writes nothing and says how many bytes it needs', () => {
    fc.assert(
      fc.property(anyCommand(512), fc.boolean(), (cmd, withBody) => {
        const needed = cmd.encode().length - (withBody ? 0 : (cmd.body?.length ?? 0));
        const target = Buffer.alloc(needed + 3, 0xee);
        expect(cmd.encodeInto(target, 4, withBody)).toBe(-needed);
        expect(target.every((b) => b === 0xee)).toBe(true);
        expect(cmd.encodeInto(target, 3, withBody)).toBe(needed + 3);
      }),
      { numRuns: 200 },
    );
  });
});
