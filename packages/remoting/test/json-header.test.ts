/**
 * The JSON header as real peers write it: fastjson (sorted keys), other
 * clients (any order, extra fields), ali-ons (numbers and booleans in
 * extFields). Decoding goes by name; encoding matches fastjson byte for byte.
 */
import fc from 'fast-check';
import { afterEach, describe, expect, test } from 'vitest';
import { LanguageCode, RemotingCommand, SerializeType } from '../src/index.js';
import { expectProtocolError } from './support/wire.js';

/** A frame around a JSON header given as text: the prefix words are computed from its UTF-8 length. */
function jsonFrame(header: string, body: Buffer = Buffer.alloc(0)): Buffer {
  const headerBytes = Buffer.from(header, 'utf8');
  const prefix = Buffer.alloc(8);
  prefix.writeInt32BE(4 + headerBytes.length + body.length, 0);
  prefix.writeInt32BE(headerBytes.length, 4);
  return Buffer.concat([prefix, headerBytes, body]);
}

function headerText(cmd: RemotingCommand): string {
  return cmd.encode(SerializeType.JSON).subarray(8).toString('utf8');
}

describe('decoding', () => {
  test('fields in any order, with unknown extra fields, decode by name', () => {
    const cmd = RemotingCommand.decode(
      jsonFrame(
        '{"version":399,"remark":"hi","unknownThing":{"nested":[1,2]},"opaque":77,"serializeTypeCurrentRPC":"JSON",' +
          '"flag":1,"extFields":{"b":"2","a":"1"},"language":"CPP","code":25,"traceOn":true}',
      ),
    );
    expect(cmd.code).toBe(25);
    expect(cmd.language).toBe(LanguageCode.CPP);
    expect(cmd.version).toBe(399);
    expect(cmd.opaque).toBe(77);
    expect(cmd.flag).toBe(1);
    expect(cmd.remark).toBe('hi');
    expect([...(cmd.extFields ?? [])]).toEqual([
      ['b', '2'],
      ['a', '1'],
    ]);
    expect(cmd.serializeType).toBe(SerializeType.JSON);
  });

  test('any field order, with unknown fields mixed in, decodes to the same command', () => {
    const known: Array<[string, string]> = [
      ['code', '310'],
      ['extFields', '{"topic":"T1","queueId":3,"unitMode":false}'],
      ['flag', '2'],
      ['language', '"GO"'],
      ['opaque', '-9'],
      ['remark', '"主题"'],
      ['serializeTypeCurrentRPC', '"JSON"'],
      ['version', '407'],
    ];
    const unknown: Array<[string, string]> = [
      ['traceOn', 'true'],
      ['extra', '{"code":1,"remark":"no"}'],
      ['list', '[1,"a",null]'],
      ['nothing', 'null'],
    ];
    fc.assert(
      fc.property(
        fc.shuffledSubarray([...known, ...unknown], { minLength: known.length + unknown.length }),
        (entries) => {
          const cmd = RemotingCommand.decode(
            jsonFrame(`{${entries.map(([k, v]) => `"${k}":${v}`).join(',')}}`),
          );
          expect([cmd.code, cmd.flag, cmd.language, cmd.opaque, cmd.remark, cmd.version]).toEqual([
            310,
            2,
            LanguageCode.GO,
            -9,
            '主题',
            407,
          ]);
          expect([...(cmd.extFields ?? [])]).toEqual([
            ['topic', 'T1'],
            ['queueId', '3'],
            ['unitMode', 'false'],
          ]);
        },
      ),
      { numRuns: 100 },
    );
  });

  test('absent fields take RocketMQ defaults: code/version/opaque/flag 0, language JAVA, remark and extFields null', () => {
    const cmd = RemotingCommand.decode(jsonFrame('{}'));
    expect(cmd.code).toBe(0);
    expect(cmd.language).toBe(LanguageCode.JAVA);
    expect(cmd.version).toBe(0);
    expect(cmd.opaque).toBe(0);
    expect(cmd.flag).toBe(0);
    expect(cmd.remark).toBeNull();
    expect(cmd.extFields).toBeNull();
    expect(cmd.body).toBeNull();
  });

  test('explicit nulls read as absent', () => {
    const cmd = RemotingCommand.decode(
      jsonFrame('{"code":null,"remark":null,"extFields":null,"language":null,"opaque":5}'),
    );
    expect(cmd.code).toBe(0);
    expect(cmd.remark).toBeNull();
    expect(cmd.extFields).toBeNull();
    expect(cmd.language).toBe(LanguageCode.JAVA);
    expect(cmd.opaque).toBe(5);
  });

  test('ali-ons style extFields: JSON numbers and booleans read as their string form; null entries are dropped', () => {
    const cmd = RemotingCommand.decode(
      jsonFrame(
        '{"code":11,"opaque":3,"extFields":{"queueId":3,"queueOffset":1234567890123,"sysFlag":0,' +
          '"unitMode":false,"batch":true,"ratio":0.5,"neg":-7,"topic":"T","subscription":null}}',
      ),
    );
    expect(Object.fromEntries(cmd.extFields ?? [])).toEqual({
      queueId: '3',
      queueOffset: '1234567890123',
      sysFlag: '0',
      unitMode: 'false',
      batch: 'true',
      ratio: '0.5',
      neg: '-7',
      topic: 'T',
    });
  });

  test('int fields sent as decimal strings are accepted', () => {
    const cmd = RemotingCommand.decode(jsonFrame('{"code":"10","opaque":"-3","flag":"2","version":"407"}'));
    expect([cmd.code, cmd.opaque, cmd.flag, cmd.version]).toEqual([10, -3, 2, 407]);
  });

  test('language: a known name maps to its code, an unknown name to OTHER, a number is taken as is', () => {
    expect(RemotingCommand.decode(jsonFrame('{"language":"GO"}')).language).toBe(LanguageCode.GO);
    expect(RemotingCommand.decode(jsonFrame('{"language":"NODE_JS"}')).language).toBe(LanguageCode.NODE_JS);
    expect(RemotingCommand.decode(jsonFrame('{"language":"COBOL"}')).language).toBe(LanguageCode.OTHER);
    expect(RemotingCommand.decode(jsonFrame('{"language":"__proto__"}')).language).toBe(LanguageCode.OTHER);
    expect(RemotingCommand.decode(jsonFrame('{"language":3}')).language).toBe(LanguageCode.PYTHON);
  });

  test('opaque beyond int32 wraps as Java would read it', () => {
    expect(RemotingCommand.decode(jsonFrame('{"opaque":4294967295}')).opaque).toBe(-1);
  });

  test('escaped strings decode to the characters they stand for', () => {
    const cmd = RemotingCommand.decode(
      jsonFrame(
        String.raw`{"remark":"a\"b\\c\/d\n\u0001\u000B\u2028😀\ud83d\ude00","extFields":{"k\u00e9":"v\t"}}`,
      ),
    );
    expect(cmd.remark).toBe('a"b\\c/d\n\u0001\u000b\u2028😀😀');
    expect([...(cmd.extFields ?? [])]).toEqual([['ké', 'v\t']]);
  });

  test('a body after the header is a view of the frame, not a copy', () => {
    const frame = jsonFrame('{"code":1}', Buffer.from('payload'));
    const cmd = RemotingCommand.decode(frame);
    expect(cmd.body?.toString()).toBe('payload');
    expect(cmd.body?.buffer).toBe(frame.buffer);
  });

  test.each([
    ['code', '{"code":1.5}', /"code" is not an integer/],
    ['opaque', '{"opaque":"abc"}', /"opaque" is not an integer/],
    ['flag', '{"flag":true}', /"flag" is not an integer/],
    ['version', '{"version":[1]}', /"version" is not an integer/],
    ['language', '{"language":{}}', /"language" is not a language name/],
    ['remark', '{"remark":5}', /"remark" is not a string/],
    ['extFields', '{"extFields":["a"]}', /"extFields" is not an object/],
    ['extFields (a string)', '{"extFields":"a=b"}', /"extFields" is not an object/],
    ['an extFields value', '{"extFields":{"k":[1]}}', /extFields\["k"\] is not a string, number or boolean/],
  ])('a wrongly typed %s is a protocol error naming the field', (_field, header, message) => {
    expectProtocolError(() => RemotingCommand.decode(jsonFrame(header)), message);
  });
});

describe('prototype pollution', () => {
  afterEach(() => {
    // If a test ever polluted the prototype, leave the rest of the suite clean.
    delete (Object.prototype as Record<string, unknown>).polluted;
  });

  test('"__proto__", "constructor" and "prototype" in extFields are plain Map keys', () => {
    const cmd = RemotingCommand.decode(
      jsonFrame(
        '{"extFields":{"__proto__":"x","constructor":"y","prototype":"z","toString":"w","":"empty"}}',
      ),
    );
    expect([...(cmd.extFields ?? [])]).toEqual([
      ['__proto__', 'x'],
      ['constructor', 'y'],
      ['prototype', 'z'],
      ['toString', 'w'],
      ['', 'empty'],
    ]);
    expect(cmd.extFields).toBeInstanceOf(Map);
    expect(Object.getPrototypeOf(cmd.extFields)).toBe(Map.prototype);
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
    expect(Object.hasOwn(Object.prototype, 'x')).toBe(false);
    expect({}.constructor).toBe(Object);
  });

  test('an object under extFields["__proto__"] is refused as a non-string value and pollutes nothing', () => {
    expectProtocolError(
      () => RemotingCommand.decode(jsonFrame('{"extFields":{"__proto__":{"polluted":"x"}}}')),
      /extFields\["__proto__"\] is not a string, number or boolean/,
    );
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
    expect(Object.hasOwn(Object.prototype, 'polluted')).toBe(false);
  });

  test('a top-level "__proto__" cannot smuggle in header fields', () => {
    const cmd = RemotingCommand.decode(
      jsonFrame('{"__proto__":{"code":99,"remark":"evil","extFields":{"a":"b"},"polluted":"x"},"opaque":1}'),
    );
    expect(cmd.code).toBe(0);
    expect(cmd.remark).toBeNull();
    expect(cmd.extFields).toBeNull();
    expect(cmd.opaque).toBe(1);
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
  });

  test('a field inherited from a polluted Object.prototype is not read as a header field', () => {
    const proto = Object.prototype as Record<string, unknown>;
    proto.polluted = 'x';
    for (const name of ['remark', 'extFields', 'language', 'code']) {
      proto[name] = name === 'extFields' ? { injected: 'yes' } : name === 'code' ? 99 : 'RUST';
    }
    try {
      const cmd = RemotingCommand.decode(jsonFrame('{"opaque":1}'));
      expect(cmd.remark).toBeNull();
      expect(cmd.extFields).toBeNull();
      expect(cmd.language).toBe(LanguageCode.JAVA);
      expect(cmd.code).toBe(0);
    } finally {
      for (const name of ['remark', 'extFields', 'language', 'code']) delete proto[name];
    }
  });

  test('encoding a "__proto__" extFields key writes it as an ordinary key that decodes back', () => {
    const cmd = RemotingCommand.createRequest(1);
    cmd.addExtField('__proto__', '{"polluted":"x"}').addExtField('constructor', 'c');
    expect(headerText(cmd)).toContain(
      '"extFields":{"__proto__":"{\\"polluted\\":\\"x\\"}","constructor":"c"}',
    );
    const back = RemotingCommand.decode(cmd.encode(SerializeType.JSON));
    expect([...(back.extFields ?? [])]).toEqual([
      ['__proto__', '{"polluted":"x"}'],
      ['constructor', 'c'],
    ]);
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
  });
});

describe('encoding (as fastjson writes RemotingCommand)', () => {
  test('keys sorted by name, no whitespace, null remark and extFields omitted, enums by name', () => {
    const cmd = new RemotingCommand(10, 7);
    cmd.language = LanguageCode.GO;
    cmd.version = 3;
    expect(headerText(cmd)).toBe(
      '{"code":10,"flag":0,"language":"GO","opaque":7,"serializeTypeCurrentRPC":"JSON","version":3}',
    );
    cmd.remark = 'r';
    cmd.extFields = new Map([
      ['z', '1'],
      ['a', '2'],
    ]);
    expect(headerText(cmd)).toBe(
      '{"code":10,"extFields":{"z":"1","a":"2"},"flag":0,"language":"GO","opaque":7,"remark":"r",' +
        '"serializeTypeCurrentRPC":"JSON","version":3}',
    );
  });

  test('empty remark and empty extFields are written (only null is omitted)', () => {
    const cmd = new RemotingCommand(1, 1);
    cmd.language = LanguageCode.JAVA;
    cmd.remark = '';
    cmd.extFields = new Map();
    expect(headerText(cmd)).toBe(
      '{"code":1,"extFields":{},"flag":0,"language":"JAVA","opaque":1,"remark":"",' +
        '"serializeTypeCurrentRPC":"JSON","version":0}',
    );
  });

  test('control characters, U+007F..U+009F, U+2028 and U+2029 are escaped with upper-case hex as fastjson does', () => {
    const cmd = new RemotingCommand(1, 1);
    cmd.remark =
      'q" b\\ s/ nl\n tab\t cr\r bs\b ff\f c1\u0001 vt\u000b del\u007f c1x\u0085 ls\u2028 ps\u2029 é😀';
    expect(headerText(cmd)).toContain(
      String.raw`"remark":"q\" b\\ s/ nl\n tab\t cr\r bs\b ff\f c1\u0001 vt\u000B del\u007F c1x\u0085 ls\u2028 ps\u2029 é😀"`,
    );
  });

  test('an unknown language code is written as OTHER', () => {
    const cmd = new RemotingCommand(1, 1);
    cmd.language = 200;
    expect(headerText(cmd)).toContain('"language":"OTHER"');
  });
});
