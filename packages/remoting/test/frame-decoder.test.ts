/**
 * FrameDecoder: a byte stream cut anywhere becomes whole commands, with no
 * socket involved. (Random cuts are in codec-properties.test.ts; bad input in
 * malformed-frames.test.ts.)
 */
import { afterEach, describe, expect, test, vi } from 'vitest';
import {
  DEFAULT_MAX_FRAME_BYTES,
  FrameDecoder,
  RemotingCommand,
  RemotingProtocolError,
  SerializeType,
} from '../src/index.js';
import { expectProtocolError, fieldsOf } from './support/wire.js';

function request(code: number, body?: string, serializeType: SerializeType = SerializeType.JSON) {
  const cmd = new RemotingCommand(code, code * 10);
  cmd.serializeType = serializeType;
  cmd.addExtField('topic', `T${code}`);
  if (body !== undefined) cmd.setBody(body);
  return cmd;
}

afterEach(() => {
  vi.restoreAllMocks();
});

describe('whole frames', () => {
  test('one chunk holding one frame gives one command whose body is a view of the chunk', () => {
    const chunk = request(1, 'abc').encode();
    const [cmd, ...rest] = new FrameDecoder().push(chunk);
    expect(rest).toEqual([]);
    expect(cmd?.body?.toString()).toBe('abc');
    expect(cmd?.body?.buffer).toBe(chunk.buffer);
  });

  test('one chunk holding several frames of both serializations gives them in order', () => {
    const cmds = [request(1, 'a'), request(2, undefined, SerializeType.ROCKETMQ), request(3, 'ccc')];
    const out = new FrameDecoder().push(Buffer.concat(cmds.map((c) => c.encode())));
    expect(out.map(fieldsOf)).toEqual(cmds.map(fieldsOf));
  });

  test('pushTo appends to the caller array and returns nothing', () => {
    const out: RemotingCommand[] = [request(9)];
    const decoder = new FrameDecoder();
    expect(decoder.pushTo(request(1).encode(), out)).toBeUndefined();
    expect(out.map((c) => c.code)).toEqual([9, 1]);
  });

  test('an empty chunk is harmless', () => {
    const decoder = new FrameDecoder();
    expect(decoder.push(Buffer.alloc(0))).toEqual([]);
    expect(decoder.bufferedBytes).toBe(0);
  });
});

describe('frames cut across chunks', () => {
  test('a cut inside the length prefix', () => {
    const frame = request(1, 'hello').encode();
    const decoder = new FrameDecoder();
    expect(decoder.push(frame.subarray(0, 2))).toEqual([]);
    expect(decoder.bufferedBytes).toBe(2);
    const out = decoder.push(frame.subarray(2));
    expect(out.map(fieldsOf)).toEqual([fieldsOf(request(1, 'hello'))]);
  });

  test('a cut right after the length prefix, inside the header, and inside the body', () => {
    const cmd = request(2, 'body bytes here', SerializeType.ROCKETMQ);
    const frame = cmd.encode();
    for (const cut of [4, 8, 12, frame.length - 3]) {
      const decoder = new FrameDecoder();
      expect(decoder.push(frame.subarray(0, cut))).toEqual([]);
      expect(decoder.bufferedBytes).toBe(cut);
      expect(decoder.push(frame.subarray(cut)).map(fieldsOf)).toEqual([fieldsOf(cmd)]);
      expect(decoder.bufferedBytes).toBe(0);
    }
  });

  test('a chunk that ends one frame and starts the next', () => {
    const a = request(1, 'first');
    const b = request(2, 'second');
    const stream = Buffer.concat([a.encode(), b.encode()]);
    const cut = a.encode().length + 6;
    const decoder = new FrameDecoder();
    expect(decoder.push(stream.subarray(0, cut)).map(fieldsOf)).toEqual([fieldsOf(a)]);
    expect(decoder.bufferedBytes).toBe(6);
    expect(decoder.push(stream.subarray(cut)).map(fieldsOf)).toEqual([fieldsOf(b)]);
  });

  test('bufferedBytes always equals bytes pushed minus bytes of frames decoded', () => {
    const frames = [request(1, 'x'.repeat(40)), request(2), request(3, 'yy', SerializeType.ROCKETMQ)].map(
      (c) => c.encode(),
    );
    const stream = Buffer.concat(frames);
    const decoder = new FrameDecoder();
    let pushed = 0;
    let consumed = 0;
    for (let i = 0; i < stream.length; i += 3) {
      const chunk = stream.subarray(i, i + 3);
      pushed += chunk.length;
      for (const cmd of decoder.push(chunk)) consumed += cmd.encode().length;
      expect(decoder.bufferedBytes).toBe(pushed - consumed);
    }
    expect(consumed).toBe(stream.length);
  });

  test('a frame that spans chunks is gathered into one buffer of exactly its size, allocated once', () => {
    const frame = request(1, 'z'.repeat(5000)).encode();
    const total = frame.readInt32BE(0);
    const allocations: number[] = [];
    const real = Buffer.allocUnsafe;
    vi.spyOn(Buffer, 'allocUnsafe').mockImplementation((size: number) => {
      allocations.push(size);
      return real(size);
    });
    const decoder = new FrameDecoder();
    const out: RemotingCommand[] = [];
    for (let i = 0; i < frame.length; i += 100) decoder.pushTo(frame.subarray(i, i + 100), out);
    expect(out).toHaveLength(1);
    expect(out[0]?.body?.length).toBe(5000);
    expect(allocations).toEqual([total]);
  });
});

describe('frame size limit', () => {
  function frameOfSize(frameBytes: number): Buffer {
    const cmd = new RemotingCommand(1, 1);
    const headerBytes = cmd.encodeHeaderBytes(SerializeType.JSON).length;
    cmd.setBody(Buffer.alloc(frameBytes - 8 - headerBytes, 0x61));
    const frame = cmd.encode(SerializeType.JSON);
    expect(frame.length).toBe(frameBytes);
    return frame;
  }

  test('the default is 16 MiB counting the 4-byte prefix, as RocketMQ configures Netty', () => {
    expect(DEFAULT_MAX_FRAME_BYTES).toBe(16 * 1024 * 1024);
  });

  test('a frame of exactly maxFrameBytes is accepted; one byte more is refused before any body arrives', () => {
    const max = 1000;
    expect(new FrameDecoder({ maxFrameBytes: max }).push(frameOfSize(max))).toHaveLength(1);
    const tooBig = frameOfSize(max + 1);
    const decoder = new FrameDecoder({ maxFrameBytes: max });
    const error = expectProtocolError(
      () => decoder.push(tooBig.subarray(0, 4)),
      /frame length 997 \+ 4 exceeds the maximum frame size of 1000 bytes/,
    );
    expect(error.streamOffset).toBe(0);
  });

  test('the default limit: 16 MiB passes, 16 MiB + 1 does not', () => {
    const header = Buffer.alloc(4);
    header.writeInt32BE(DEFAULT_MAX_FRAME_BYTES - 4 + 1);
    expectProtocolError(() => new FrameDecoder().push(header), /exceeds the maximum frame size of 16777216/);
    expect(new FrameDecoder().push(frameOfSize(DEFAULT_MAX_FRAME_BYTES))).toHaveLength(1);
  });

  test('RemotingCommand.decode honours maxFrameBytes too', () => {
    expectProtocolError(
      () => RemotingCommand.decode(frameOfSize(500), { maxFrameBytes: 499 }),
      /exceeds the maximum frame size of 499/,
    );
  });
});

describe('after a protocol error', () => {
  test('the decoder is failed and every later push throws the same error', () => {
    const decoder = new FrameDecoder();
    const good = request(1).encode();
    const bad = Buffer.from('00000002000000', 'hex');
    const first = expectProtocolError(() => decoder.push(Buffer.concat([good, bad])), /below 4/);
    expect(decoder.failed).toBe(true);
    let again: unknown;
    try {
      decoder.push(good);
    } catch (error) {
      again = error;
    }
    expect(again).toBe(first);
    expect(() => decoder.push(Buffer.alloc(0))).toThrow(first);
  });

  test('the error says where in the stream the bad frame starts', () => {
    const good = request(1).encode();
    const bad = Buffer.from('0000000600000005', 'hex');
    const decoder = new FrameDecoder();
    decoder.push(good);
    const error = expectProtocolError(
      () => decoder.push(Buffer.concat([bad, Buffer.alloc(2)])),
      new RegExp(`stream offset ${good.length}\\)`),
    );
    expect(error.streamOffset).toBe(good.length);
  });

  test('frames completed earlier in the failing chunk are still delivered to a pushTo array', () => {
    const decoder = new FrameDecoder();
    const out: RemotingCommand[] = [];
    const chunk = Buffer.concat([request(7).encode(), Buffer.from('00000000', 'hex')]);
    expect(() => decoder.pushTo(chunk, out)).toThrow(RemotingProtocolError);
    expect(out.map((c) => c.code)).toEqual([7]);
  });
});

describe('memory held by a frame that spans chunks', () => {
  const KiB = 1024;

  test('announcing the maximum frame size and sending 8 bytes holds 64 KiB, not 16 MiB', () => {
    const start = Buffer.alloc(8);
    start.writeInt32BE(DEFAULT_MAX_FRAME_BYTES - 4, 0);
    start.writeInt32BE(100, 4);
    const decoders = Array.from({ length: 100 }, () => new FrameDecoder());
    const before = process.memoryUsage().arrayBuffers;
    for (const decoder of decoders) expect(decoder.push(start)).toEqual([]);
    for (const decoder of decoders) {
      expect(decoder.bufferedBytes).toBe(8);
      expect(decoder.heldBytes).toBe(64 * KiB);
    }
    // 100 × 16 MiB reserved up front would be 1.6 GiB.
    expect(process.memoryUsage().arrayBuffers - before).toBeLessThan(32 * 1024 * KiB);
  });

  test('the buffer grows by doubling as bytes arrive, never past the frame, and the frame decodes intact', () => {
    const body = Buffer.alloc(1024 * KiB);
    for (let i = 0; i < body.length; i++) body[i] = (i * 31) & 0xff;
    const frame = request(7).setBody(body).encode();
    const decoder = new FrameDecoder();
    const held: number[] = [];
    const out: RemotingCommand[] = [];
    for (let at = 0; at < frame.length; at += 1000) {
      decoder.pushTo(frame.subarray(at, at + 1000), out);
      if (out.length === 0) {
        held.push(decoder.heldBytes);
        // Never more than twice what arrived (after the first 64 KiB), never more than the frame.
        expect(decoder.heldBytes).toBeLessThanOrEqual(Math.max(64 * KiB, 2 * decoder.bufferedBytes));
        expect(decoder.heldBytes).toBeLessThanOrEqual(frame.length - 4);
      }
    }
    expect(out).toHaveLength(1);
    expect(out[0]!.body?.equals(body)).toBe(true);
    expect(decoder.heldBytes).toBe(0);
    // 64 KiB, doubled each time it fills; the last growth (to the frame's own size) came with its final bytes.
    expect([...new Set(held)]).toEqual([64 * KiB, 128 * KiB, 256 * KiB, 512 * KiB, 1024 * KiB]);
  });

  test('a frame fed one byte at a time decodes, holding at most its own size', () => {
    const cmd = request(3, 'x'.repeat(70 * KiB), SerializeType.ROCKETMQ);
    const frame = cmd.encode();
    const decoder = new FrameDecoder();
    const out: RemotingCommand[] = [];
    for (let i = 0; i < frame.length; i++) {
      decoder.pushTo(frame.subarray(i, i + 1), out);
      expect(decoder.heldBytes).toBeLessThanOrEqual(frame.length - 4);
    }
    expect(out.map(fieldsOf)).toEqual([fieldsOf(cmd)]);
  });

  test('a protocol error drops what was held', () => {
    const decoder = new FrameDecoder();
    const start = Buffer.alloc(8 + 1000);
    start.writeInt32BE(200_000, 0);
    start.writeUInt32BE(0x05000010, 4); // serialize type 5 does not exist
    decoder.push(start);
    expect(decoder.heldBytes).toBe(64 * KiB);
    expect(() => decoder.push(Buffer.alloc(200_000 - 4 - 1000))).toThrow(RemotingProtocolError);
    expect(decoder.heldBytes).toBe(0);
  });
});
