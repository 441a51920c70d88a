/**
 * The frame explainer: one row per wire field, rows that tile the frame
 * exactly, and a readable annotated hex dump.
 */
import fc from 'fast-check';
import { describe, expect, test } from 'vitest';
import {
  explainFrame,
  type FrameExplanationRow,
  formatExplanation,
  RemotingCommand,
  RemotingProtocolError,
  SerializeType,
} from '../src/index.js';
import { unicodeString } from './support/arbitraries.js';
import { expectProtocolError, hex } from './support/wire.js';

const plain = (rows: FrameExplanationRow[]) =>
  rows.map((r) => ({ offset: r.offset, bytes: r.bytes.toString('hex'), field: r.field, value: r.value }));

describe('explainFrame', () => {
  test('a binary header: every fixed field, the remark, each extFields length, key and value, the body', () => {
    const frame = hex(
      '00000036 01000030', // length 54, ROCKETMQ header of 48 bytes
      '0001 00 0000 0000002c 00000001', // code 1, JAVA, version 0, opaque 44, response
      '0000000f e4b8bbe9a298e4b88de5ad98e59ca8', // remark "主题不存在"
      '0000000c 0003 e994ae 00000003 e580bc', // extFields {"键": "值"}
      '6f6b', // body "ok"
    );
    expect(plain(explainFrame(frame))).toEqual([
      {
        offset: 0,
        bytes: '00000036',
        field: 'length',
        value: '54 = 4 (header-length word) + 48 (header) + 2 (body)',
      },
      {
        offset: 4,
        bytes: '01000030',
        field: 'header length word',
        value: 'ROCKETMQ (1) << 24 | header length 48',
      },
      { offset: 8, bytes: '0001', field: 'code', value: '1 (int16)' },
      { offset: 10, bytes: '00', field: 'language', value: 'JAVA (0)' },
      { offset: 11, bytes: '0000', field: 'version', value: '0 (int16)' },
      { offset: 13, bytes: '0000002c', field: 'opaque', value: '44' },
      { offset: 17, bytes: '00000001', field: 'flag', value: '1 (RESPONSE)' },
      { offset: 21, bytes: '0000000f', field: 'remark length', value: '15' },
      { offset: 25, bytes: 'e4b8bbe9a298e4b88de5ad98e59ca8', field: 'remark', value: '"主题不存在"' },
      { offset: 40, bytes: '0000000c', field: 'extFields length', value: '12 bytes of entries' },
      { offset: 44, bytes: '0003', field: 'extFields key length', value: '3 (int16)' },
      { offset: 46, bytes: 'e994ae', field: 'extFields key', value: '"键"' },
      { offset: 49, bytes: '00000003', field: 'extFields value length', value: '3 (int32)' },
      { offset: 53, bytes: 'e580bc', field: 'extFields value', value: '"值"' },
      { offset: 56, bytes: '6f6b', field: 'body', value: '2 bytes, UTF-8 "ok"' },
    ]);
  });

  test('a JSON header is one row holding its text', () => {
    const cmd = new RemotingCommand(10, 7);
    cmd.language = 0;
    cmd.flag = 2;
    cmd.addExtField('topic', 'T');
    const frame = cmd.encode(SerializeType.JSON);
    const rows = plain(explainFrame(frame));
    const headerText =
      '{"code":10,"extFields":{"topic":"T"},"flag":2,"language":"JAVA","opaque":7,"serializeTypeCurrentRPC":"JSON","version":0}';
    expect(rows).toEqual([
      {
        offset: 0,
        bytes: frame.subarray(0, 4).toString('hex'),
        field: 'length',
        value: `${4 + headerText.length} = 4 (header-length word) + ${headerText.length} (header) + 0 (body)`,
      },
      {
        offset: 4,
        bytes: frame.subarray(4, 8).toString('hex'),
        field: 'header length word',
        value: `JSON (0) << 24 | header length ${headerText.length}`,
      },
      { offset: 8, bytes: Buffer.from(headerText).toString('hex'), field: 'JSON header', value: headerText },
    ]);
  });

  test('flag bits and an unknown language are spelled out', () => {
    const cmd = new RemotingCommand(-1, -5);
    cmd.language = 77;
    cmd.flag = 3;
    cmd.version = -2;
    const rows = explainFrame(cmd.encode(SerializeType.ROCKETMQ));
    const value = (field: string) => rows.find((r) => r.field === field)?.value;
    expect(value('code')).toBe('-1 (int16)');
    expect(value('language')).toBe('77 (unknown)');
    expect(value('version')).toBe('-2 (int16)');
    expect(value('opaque')).toBe('-5');
    expect(value('flag')).toBe('3 (RESPONSE, ONEWAY)');
    expect(value('remark length')).toBe('0 (no remark)');
    expect(value('extFields length')).toBe('0 (no extFields)');
  });

  test('a binary body gets no text preview', () => {
    const cmd = new RemotingCommand(1, 1).setBody(Buffer.from([0, 1, 2, 0xff]));
    expect(explainFrame(cmd.encode()).at(-1)).toMatchObject({ field: 'body', value: '4 bytes' });
  });

  test('a header-only encoding (RocketMQ encodeHeader()) says its body is not in the buffer', () => {
    const cmd = new RemotingCommand(10, 1).setBody('Hello RocketMQ');
    const [head] = cmd.encodeParts(SerializeType.ROCKETMQ);
    const last = explainFrame(head).at(-1);
    expect(last?.field).toBe('body');
    expect(last?.bytes.length).toBe(0);
    expect(last?.value).toBe('14 bytes counted by the length field, not in this buffer');
  });

  test('bytes after the frame are shown as trailing bytes', () => {
    const frame = Buffer.concat([new RemotingCommand(1, 1).encode(SerializeType.ROCKETMQ), hex('0000')]);
    expect(plain(explainFrame(frame)).at(-1)).toEqual({
      offset: frame.length - 2,
      bytes: '0000',
      field: 'trailing bytes',
      value: '2 bytes after this frame ends',
    });
  });

  test('the rows tile any frame exactly: contiguous, in order, together the whole frame', () => {
    const command = fc
      .record({
        code: fc.integer({ min: -32768, max: 32767 }),
        remark: fc.option(unicodeString({ maxLength: 20 }), { nil: null }),
        ext: fc.array(fc.tuple(unicodeString({ maxLength: 8 }), fc.string({ maxLength: 8 })), {
          maxLength: 4,
        }),
        body: fc.uint8Array({ maxLength: 40 }),
        serializeType: fc.constantFrom(SerializeType.JSON, SerializeType.ROCKETMQ),
      })
      .map((f) => {
        const cmd = new RemotingCommand(f.code, 1);
        cmd.remark = f.remark;
        cmd.extFields = new Map(f.ext);
        cmd.body = Buffer.from(f.body);
        cmd.serializeType = f.serializeType;
        return cmd;
      });
    fc.assert(
      fc.property(command, (cmd) => {
        const frame = cmd.encode();
        const rows = explainFrame(frame);
        const offsets = rows.map((row) => row.offset);
        const expectedOffsets = rows.map((_, i) =>
          rows.slice(0, i).reduce((sum, r) => sum + r.bytes.length, 0),
        );
        expect(offsets).toEqual(expectedOffsets);
        expect(Buffer.concat(rows.map((r) => r.bytes)).equals(frame)).toBe(true);
        // Each row's bytes are a view of the frame, not a copy.
        expect(rows.every((r) => r.bytes.buffer === frame.buffer)).toBe(true);
      }),
      { numRuns: 150 },
    );
  });

  test.each([
    ['too short', hex('000000'), /a frame needs at least 8/],
    ['length below 4', hex('00000002 00000000'), /frame length 2 is below 4/],
    ['header length beyond the frame', hex('00000006 00000009 7b7d'), /header length 9 does not fit/],
    ['header cut short in the buffer', hex('00000020 00000010 7b7d'), /header is truncated/],
    ['unknown serialize type', hex('00000006 05000002 7b7d'), /unknown serialize type 5/],
    ['invalid JSON', hex('00000006 00000002 7b7b'), /JSON header is not valid JSON/],
    ['truncated binary header', hex('00000006 01000002 0001'), /binary header truncated/],
  ])('%s: the same RemotingProtocolError a peer would raise', (_name, frame, message) => {
    const error = expectProtocolError(() => explainFrame(frame), message);
    expect(error).toBeInstanceOf(RemotingProtocolError);
  });
});

describe('formatExplanation', () => {
  test('a small frame, exactly: offset, up to 16 bytes, field, value', () => {
    const frame = hex('00000019 01000015', '000b 0d 0001 0000002b 00000002 00000000 00000000');
    expect(formatExplanation(explainFrame(frame)).split('\n')).toEqual([
      'offset  bytes                                            field               value',
      '     0  00 00 00 19                                      length              25 = 4 (header-length word) + 21 (header) + 0 (body)',
      '     4  01 00 00 15                                      header length word  ROCKETMQ (1) << 24 | header length 21',
      '     8  00 0b                                            code                11 (int16)',
      '    10  0d                                               language            NODE_JS (13)',
      '    11  00 01                                            version             1 (int16)',
      '    13  00 00 00 2b                                      opaque              43',
      '    17  00 00 00 02                                      flag                2 (request, ONEWAY)',
      '    21  00 00 00 00                                      remark length       0 (no remark)',
      '    25  00 00 00 00                                      extFields length    0 (no extFields)',
    ]);
  });

  test('long rows wrap: 16 bytes per line with their offsets, the value beside them, the rest summarised', () => {
    const cmd = new RemotingCommand(10, 1);
    cmd.remark = 'a fairly long remark that will need to wrap across more than one line of output ok';
    cmd.setBody(Buffer.alloc(300, 1));
    const lines = formatExplanation(explainFrame(cmd.encode(SerializeType.ROCKETMQ)), {
      maxBytesPerRow: 32,
    }).split('\n');
    const remark = lines.findIndex((line) => line.includes(' remark  '));
    expect(lines[remark]).toMatch(
      /^ {4}25 {2}61 20 66 61 69 72 6c 79 20 6c 6f 6e 67 20 72 65 {2}remark +"a fairly long/,
    );
    expect(lines[remark + 1]).toMatch(/^ {4}41 {2}6d 61 72 6b .* {2}than one line of output ok"$/);
    expect(lines[remark + 2]).toBe('    57  … 50 more bytes');
    expect(lines.at(-1)).toBe('   143  … 268 more bytes');
  });

  test('a byte limit that is not a multiple of 16 still gives each line its true offset', () => {
    const rows: FrameExplanationRow[] = [
      { offset: 100, bytes: Buffer.alloc(50, 0xab), field: 'body', value: '50 bytes' },
    ];
    const lines = formatExplanation(rows, { maxBytesPerRow: 20 }).split('\n').slice(1);
    expect(lines.map((line) => line.slice(0, 6).trim())).toEqual(['100', '116', '120']);
    expect(lines[1]).toBe(`   116  ${Array(4).fill('ab').join(' ')}`);
    expect(lines[2]).toBe('   120  … 30 more bytes');
  });

  test('a value longer than its bytes continues on lines of its own', () => {
    const rows: FrameExplanationRow[] = [{ offset: 0, bytes: hex('01'), field: 'f', value: 'x'.repeat(30) }];
    expect(formatExplanation(rows, { valueWidth: 10 }).split('\n').slice(1)).toEqual([
      `     0  01${' '.repeat(45)}  f      xxxxxxxxxx`,
      `${' '.repeat(6)}  ${' '.repeat(47)}  ${' '.repeat(5)}  xxxxxxxxxx`,
      `${' '.repeat(6)}  ${' '.repeat(47)}  ${' '.repeat(5)}  xxxxxxxxxx`,
    ]);
  });

  test('every row of a real frame appears, in order', () => {
    const cmd = RemotingCommand.createRequest(10).addExtField('topic', 'TopicTest').setBody('hello');
    for (const serializeType of [SerializeType.JSON, SerializeType.ROCKETMQ]) {
      const rows = explainFrame(cmd.encode(serializeType));
      const text = formatExplanation(rows);
      let from = 0;
      for (const row of rows) {
        const at = text.indexOf(`  ${row.field}`, from);
        expect(at, row.field).toBeGreaterThan(from - 1);
        from = at;
      }
    }
  });
});
