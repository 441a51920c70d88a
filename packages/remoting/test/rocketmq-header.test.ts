/**
 * RocketMQ's binary header (RocketMQSerializable): fixed-width big-endian
 * fields, int16 code and version, length-prefixed UTF-8 strings, and Java's
 * quirks reproduced on purpose.
 */
import { describe, expect, test } from 'vitest';
import { RemotingCommand, RemotingEncodeError, SerializeType } from '../src/index.js';
import { decodeRocketMqHeader } from '../src/protocol/rocketmq-header.js';
import { hex } from './support/wire.js';

function roundTrip(cmd: RemotingCommand): RemotingCommand {
  return RemotingCommand.decode(cmd.encode(SerializeType.ROCKETMQ));
}

describe('int16 code and version', () => {
  test.each([32767, -32768, 0, 105, -1])('code %i travels as int16 and reads back unchanged', (code) => {
    const cmd = new RemotingCommand(code, 1);
    expect(roundTrip(cmd).code).toBe(code);
  });

  test.each([32768, 40000, 65535, 200050, -32769])(
    'code %i does not fit: encoding refuses it with RemotingEncodeError (Java would truncate it)',
    (code) => {
      const cmd = new RemotingCommand(code, 1);
      const error = (() => {
        try {
          cmd.encode(SerializeType.ROCKETMQ);
        } catch (thrown) {
          return thrown;
        }
        return null;
      })() as RemotingEncodeError;
      expect(error).toBeInstanceOf(RemotingEncodeError);
      expect(error).toMatchObject({ code: 'REMOTING_ENCODE', field: 'code', value: code, written: false });
      expect(error.message).toMatch(
        new RegExp(`request code ${code} does not fit.*JSON serialization carries it`),
      );
    },
  );

  test('a version outside int16 is refused too; a response names itself', () => {
    const cmd = RemotingCommand.createResponse(0);
    cmd.version = 65535;
    expect(() => cmd.encode(SerializeType.ROCKETMQ)).toThrow(/^response version 65535 does not fit/);
  });

  test('a binary header carrying 65535 as version reads back as -1, as RocketMQ decode does', () => {
    const frame = new RemotingCommand(1, 1).encode(SerializeType.ROCKETMQ);
    // code(2) language(1) version(2): the version sits 8 + 3 bytes into the frame.
    frame.writeUInt16BE(0xffff, 8 + 3);
    expect(RemotingCommand.decode(frame).version).toBe(-1);
  });

  test('the same code in JSON keeps its full int range', () => {
    const cmd = new RemotingCommand(40000, 1);
    expect(RemotingCommand.decode(cmd.encode(SerializeType.JSON)).code).toBe(40000);
  });
});

describe('other fixed fields', () => {
  test('language is one unsigned byte: any 0..255 survives, even codes RocketMQ does not name', () => {
    for (const language of [0, 13, 200, 255]) {
      const cmd = new RemotingCommand(1, 1);
      cmd.language = language;
      expect(roundTrip(cmd).language).toBe(language);
    }
  });

  test('opaque and flag are full int32, negative included', () => {
    const cmd = new RemotingCommand(1, -2147483648);
    cmd.flag = -1;
    const back = roundTrip(cmd);
    expect(back.opaque).toBe(-2147483648);
    expect(back.flag).toBe(-1);
    expect(back.isResponse()).toBe(true);
    expect(back.isOneway()).toBe(true);
  });

  test('fields sit at their fixed offsets, big-endian', () => {
    const cmd = new RemotingCommand(0x1234, 0x0a0b0c0d);
    cmd.language = 0x56;
    cmd.version = 0x789a;
    cmd.flag = 0x01020304;
    expect(cmd.encodeHeaderBytes(SerializeType.ROCKETMQ)).toEqual(
      hex('1234', '56', '789a', '0a0b0c0d', '01020304', '00000000', '00000000'),
    );
  });
});

describe('Java quirks kept on purpose', () => {
  test('an empty remark is written with length 0 and so reads back as null', () => {
    const cmd = new RemotingCommand(1, 1);
    cmd.remark = '';
    expect(cmd.encodeHeaderBytes(SerializeType.ROCKETMQ).readInt32BE(13)).toBe(0);
    expect(roundTrip(cmd).remark).toBeNull();
  });

  test('an empty extFields map is written with length 0 and so reads back as null', () => {
    const cmd = new RemotingCommand(1, 1);
    cmd.extFields = new Map();
    expect(roundTrip(cmd).extFields).toBeNull();
  });

  test('extFields entries with an empty key or value are not written, as Java drops its nulls', () => {
    const cmd = new RemotingCommand(1, 1);
    cmd.extFields = new Map([
      ['', 'v'],
      ['k', ''],
      ['a', 'b'],
    ]);
    expect(cmd.encodeHeaderBytes(SerializeType.ROCKETMQ).subarray(17)).toEqual(
      hex('00000008', '0001 61', '00000001 62'),
    );
    expect([...(roundTrip(cmd).extFields ?? [])]).toEqual([['a', 'b']]);
  });

  test('a zero-length key or value read from the wire is absent, as Java reads it as null', () => {
    // remark length 0, then extFields of 3 entries: "" -> "v", "k" -> "", "a" -> "b".
    const ext = hex('0000', '00000001 76', '0001 6b', '00000000', '0001 61', '00000001 62');
    const fixed = hex('0001', '00', '0000', '00000001', '00000000', '00000000');
    const header = Buffer.concat([fixed, hex(ext.length.toString(16).padStart(8, '0')), ext]);
    const decoded = decodeRocketMqHeader(header);
    expect([...(decoded.extFields ?? [])]).toEqual([['a', 'b']]);
    expect(decoded.remark).toBeNull();
  });

  test('extFields holding only empty entries read back as null', () => {
    const cmd = new RemotingCommand(1, 1);
    cmd.extFields = new Map([['k', '']]);
    expect(roundTrip(cmd).extFields).toBeNull();
  });

  test('JSON keeps empty keys and values, as fastjson does', () => {
    const cmd = new RemotingCommand(1, 1);
    cmd.extFields = new Map([
      ['', ''],
      ['k', ''],
    ]);
    cmd.serializeType = SerializeType.JSON;
    const back = RemotingCommand.decode(cmd.encode(SerializeType.JSON));
    expect([...(back.extFields ?? [])].sort()).toEqual([
      ['', ''],
      ['k', ''],
    ]);
  });
});

describe('strings', () => {
  test('lengths count UTF-8 bytes: 4-byte emoji, 3-byte CJK, 2-byte Latin', () => {
    const cmd = new RemotingCommand(1, 1);
    cmd.remark = '😀中é';
    cmd.extFields = new Map([['主题', '😀']]);
    const header = cmd.encodeHeaderBytes(SerializeType.ROCKETMQ);
    expect(header.readInt32BE(13)).toBe(4 + 3 + 2);
    const extStart = 17 + 9;
    expect(header.readInt32BE(extStart)).toBe(2 + 6 + 4 + 4);
    expect(header.readInt16BE(extStart + 4)).toBe(6);
    const back = roundTrip(cmd);
    expect(back.remark).toBe('😀中é');
    expect([...(back.extFields ?? [])]).toEqual([['主题', '😀']]);
  });

  test('control characters and quotes need no escaping: they are raw bytes', () => {
    const cmd = new RemotingCommand(1, 1);
    cmd.remark = '"\\\n\u0000\u2028';
    expect(cmd.encodeHeaderBytes(SerializeType.ROCKETMQ).subarray(17, 17 + 7)).toEqual(
      hex('22 5c 0a 00 e280a8'),
    );
    expect(roundTrip(cmd).remark).toBe('"\\\n\u0000\u2028');
  });

  test('extFields keep their insertion order on the wire', () => {
    const cmd = new RemotingCommand(1, 1);
    cmd.extFields = new Map([
      ['z', '1'],
      ['1', '2'],
      ['a', '3'],
    ]);
    expect([...(roundTrip(cmd).extFields?.keys() ?? [])]).toEqual(['z', '1', 'a']);
  });

  test('a key of 32767 UTF-8 bytes is the longest the int16 key length allows', () => {
    const cmd = new RemotingCommand(1, 1);
    cmd.extFields = new Map([['k'.repeat(32767), 'v']]);
    expect(roundTrip(cmd).extFields?.get('k'.repeat(32767))).toBe('v');
  });

  test('a longer key cannot be written: encoding throws a RemotingEncodeError naming the limit', () => {
    const cmd = new RemotingCommand(1, 1);
    cmd.extFields = new Map([['é'.repeat(16384), 'v']]);
    expect(() => cmd.encode(SerializeType.ROCKETMQ)).toThrow(RemotingEncodeError);
    expect(() => cmd.encode(SerializeType.ROCKETMQ)).toThrow(/32768 bytes.*at most 32767/);
  });

  test('values may be long: their length is an int32', () => {
    const value = 'v'.repeat(100_000);
    const cmd = new RemotingCommand(1, 1);
    cmd.extFields = new Map([['big', value]]);
    expect(roundTrip(cmd).extFields?.get('big')).toBe(value);
  });
});
