/**
 * A decoded body is never a copy: it is a view of the bytes it arrived in,
 * made only when first read (a body nobody reads costs no Buffer object).
 * Either way it must show exactly the bytes sent, however long after later
 * reads the reader looks at it: the decoder never reuses a buffer a body
 * was cut from.
 */
import net from 'node:net';
import { expect, test } from 'vitest';
import { FrameDecoder, RemotingCommand, SerializeType } from '../src/index.js';
import { Channel } from '../src/transport/channel.js';
import { eventually, onCleanup } from './helpers/servers.js';

/** A body whose every byte says which frame it belongs to and where: any mix-up shows. */
function bodyOf(frame: number, bytes: number): Buffer {
  const body = Buffer.allocUnsafe(bytes);
  for (let i = 0; i < bytes; i++) body[i] = (frame * 31 + i * 7) & 0xff;
  return body;
}

/** Sizes around the 64 KiB reads Node makes: frames inside one read, across two, across several. */
const SIZES = [0, 1, 100, 8 * 1024, 16 * 1024 + 3, 70 * 1024, 200 * 1024];

test('a decoded body is viewed when first read; bodyLength reads its size without making the view', () => {
  const sent = RemotingCommand.createRequest(7).setBody(bodyOf(1, 300));
  sent.serializeType = SerializeType.ROCKETMQ;
  const frame = sent.encode();
  const decoded = RemotingCommand.decode(frame);
  expect(decoded.bodyLength).toBe(300);
  const body = decoded.body as Buffer;
  expect(Buffer.isBuffer(body)).toBe(true);
  expect(body.equals(sent.body as Buffer)).toBe(true);
  // A view of the frame, not a copy: the same memory.
  expect(body.buffer).toBe(frame.buffer);
  expect(decoded.body).toBe(body);
  decoded.body = Buffer.from('other');
  expect(decoded.bodyLength).toBe(5);
  expect(decoded.body?.toString()).toBe('other');
  decoded.setBody(null);
  expect(decoded.bodyLength).toBe(0);
  expect(RemotingCommand.decode(RemotingCommand.createRequest(1).encode()).body).toBeNull();
});

test('bodies decoded from a stream cut anywhere keep their bytes while later chunks arrive', () => {
  const decoder = new FrameDecoder();
  const frames = SIZES.flatMap((size, i) => {
    const command = RemotingCommand.createRequest(i).setBody(size === 0 ? null : bodyOf(i, size));
    command.serializeType = i % 2 === 0 ? SerializeType.JSON : SerializeType.ROCKETMQ;
    return [command.encode()];
  });
  const stream = Buffer.concat(frames);
  const decoded: RemotingCommand[] = [];
  // Uneven chunks, as reads deliver them: frames inside one chunk, and frames
  // gathered from several into the decoder's own buffer, which must never be
  // reused for the next one while a body still points into it.
  for (let pos = 0, cut = 1; pos < stream.length; cut = (cut * 7 + 13) % 50_000) {
    const end = Math.min(stream.length, pos + 1 + cut);
    decoder.pushTo(Buffer.from(stream.subarray(pos, end)), decoded);
    pos = end;
  }
  expect(decoded.map((c) => c.code)).toEqual(SIZES.map((_, i) => i));
  for (const [i, command] of decoded.entries()) {
    expect(command.bodyLength).toBe(SIZES[i]);
    if (SIZES[i] === 0) expect(command.body).toBeNull();
    else expect((command.body as Buffer).equals(bodyOf(i, SIZES[i] as number))).toBe(true);
  }
});

test('over a socket, bodies read only after every later read has arrived are the bytes sent', async () => {
  const listener = net.createServer();
  await new Promise<void>((resolve) => listener.listen(0, '127.0.0.1', resolve));
  const accepted = new Promise<net.Socket>((resolve) => listener.once('connection', resolve));
  const socket = net.connect({ host: '127.0.0.1', port: (listener.address() as net.AddressInfo).port });
  const far = await accepted;
  listener.close();
  const sender = new Channel(socket);
  const receiver = new Channel(far);
  onCleanup(() => {
    sender.destroy();
    receiver.destroy();
  });
  const received: RemotingCommand[] = [];
  receiver.on('command', (command) => received.push(command));
  const rounds = 20;
  for (let round = 0; round < rounds; round++) {
    for (const [i, size] of SIZES.entries()) {
      const command = RemotingCommand.createRequest(round * SIZES.length + i);
      if (size > 0) command.setBody(bodyOf(round * SIZES.length + i, size));
      command.serializeType = i % 2 === 0 ? SerializeType.JSON : SerializeType.ROCKETMQ;
      sender.write(command);
    }
    // Let reads happen between rounds, so the bodies of one round outlive many later reads.
    await new Promise((resolve) => setImmediate(resolve));
  }
  const expected = rounds * SIZES.length;
  await eventually(() => received.length === expected, 30_000, `${expected} frames`);
  for (const command of received) {
    const size = SIZES[command.code % SIZES.length] as number;
    expect(command.bodyLength).toBe(size);
    if (size === 0) expect(command.body).toBeNull();
    else
      expect((command.body as Buffer).equals(bodyOf(command.code, size)), `frame ${command.code}`).toBe(true);
  }
});
