/**
 * Custom headers: classes with @HeaderField fields travel in extFields, with
 * type conversion, 64-bit longs kept exact, and errors that name the class
 * and the field. Uses two of RocketMQ's own headers (examples/).
 */
import { describe, expect, test } from 'vitest';
import { PullMessageRequestHeader, SendMessageRequestHeader } from '../examples/rocketmq-headers.js';
import {
  type CheckedHeader,
  HeaderField,
  RemotingCommand,
  RemotingHeaderError,
  SerializeType,
} from '../src/index.js';

function sendHeader(): SendMessageRequestHeader {
  const h = new SendMessageRequestHeader();
  h.producerGroup = 'PG_A';
  h.topic = 'TopicTest';
  h.defaultTopic = 'TBW102';
  h.defaultTopicQueueNums = 4;
  h.queueId = 1;
  h.sysFlag = 0;
  h.bornTimestamp = 1718000000123n;
  h.flag = 0;
  h.properties = 'KEYS\u0001order-1\u0002TAGS\u0001TagA\u0002';
  return h;
}

function pullHeader(): PullMessageRequestHeader {
  const h = new PullMessageRequestHeader();
  h.consumerGroup = 'CG_A';
  h.topic = 'TopicTest';
  h.queueId = 3;
  h.queueOffset = 9223372036854775807n;
  h.maxMsgNums = 32;
  h.sysFlag = 2;
  h.commitOffset = -9223372036854775808n;
  h.suspendTimeoutMillis = 15000n;
  h.subscription = '*';
  h.subVersion = 1718000000000n;
  h.expressionType = 'TAG';
  return h;
}

/** Encodes a request carrying `header` into a real frame and decodes it again. */
function throughFrame(header: object, serializeType: SerializeType): RemotingCommand {
  const cmd = RemotingCommand.createRequest(10, header);
  return RemotingCommand.decode(cmd.encode(serializeType));
}

describe.each([
  ['JSON', SerializeType.JSON],
  ['ROCKETMQ', SerializeType.ROCKETMQ],
] as const)('through a %s frame', (_name, serializeType) => {
  test('SendMessageRequestHeader round-trips, every field with its type', () => {
    const back = throughFrame(sendHeader(), serializeType).decodeCustomHeader(SendMessageRequestHeader);
    expect(back).toBeInstanceOf(SendMessageRequestHeader);
    expect({ ...back }).toEqual({ ...sendHeader() });
    expect(typeof back.bornTimestamp).toBe('bigint');
    expect(typeof back.queueId).toBe('number');
    expect(back.unitMode).toBe(false);
  });

  test('PullMessageRequestHeader keeps 64-bit extremes exactly (9223372036854775807 and -9223372036854775808)', () => {
    const cmd = throughFrame(pullHeader(), serializeType);
    expect(cmd.getExtField('queueOffset')).toBe('9223372036854775807');
    expect(cmd.getExtField('commitOffset')).toBe('-9223372036854775808');
    const back = cmd.decodeCustomHeader(PullMessageRequestHeader);
    expect(back.queueOffset).toBe(9223372036854775807n);
    expect(back.commitOffset).toBe(-9223372036854775808n);
    expect({ ...back }).toEqual({ ...pullHeader() });
  });
});

describe('encoding into extFields', () => {
  test('fields go in declaration order with Java string forms; unset optional fields are left out', () => {
    const h = sendHeader();
    h.properties = undefined;
    h.batch = true;
    const cmd = RemotingCommand.createRequest(10, h);
    expect([...(cmd.extFields ?? [])]).toEqual([
      ['producerGroup', 'PG_A'],
      ['topic', 'TopicTest'],
      ['defaultTopic', 'TBW102'],
      ['defaultTopicQueueNums', '4'],
      ['queueId', '1'],
      ['sysFlag', '0'],
      ['bornTimestamp', '1718000000123'],
      ['flag', '0'],
      ['unitMode', 'false'],
      ['batch', 'true'],
    ]);
  });

  test('a header with no fields set still gives an (empty) extFields map, as RocketMQ sends {}', () => {
    class Empty {
      @HeaderField({ type: 'string' })
      note?: string;
    }
    const cmd = RemotingCommand.createRequest(1, new Empty());
    expect(cmd.extFields).toEqual(new Map());
  });

  test('a required field left unset is refused on encode, naming the class and the field', () => {
    const h = sendHeader();
    h.topic = undefined;
    expect(() => RemotingCommand.createRequest(10, h)).toThrow(
      'SendMessageRequestHeader: required field "topic" is not set',
    );
  });

  test.each([
    [
      'an int field holding a fraction',
      (h: SendMessageRequestHeader) => (h.queueId = 1.5),
      'queueId',
      /32-bit integer/,
    ],
    [
      'an int field out of int32 range',
      (h: SendMessageRequestHeader) => (h.flag = 2 ** 31),
      'flag',
      /32-bit integer/,
    ],
    [
      'a long field beyond int64',
      (h: SendMessageRequestHeader) => (h.bornTimestamp = 2n ** 63n),
      'bornTimestamp',
      /64-bit integer/,
    ],
    [
      'a string field holding a number',
      (h: SendMessageRequestHeader) => ((h as unknown as Record<string, unknown>).topic = 5),
      'topic',
      /expected a string/,
    ],
  ])('%s is refused on encode, naming the field', (_name, spoil, field, message) => {
    const h = sendHeader();
    spoil(h);
    let thrown: unknown;
    try {
      RemotingCommand.createRequest(10, h);
    } catch (error) {
      thrown = error;
    }
    expect(thrown).toBeInstanceOf(RemotingHeaderError);
    const error = thrown as RemotingHeaderError;
    expect(error.field).toBe(field);
    expect(error.message).toContain(`"${field}"`);
    expect(error.message).toMatch(message);
  });

  test('a long given as a safe JS integer is accepted and written in decimal', () => {
    const h = pullHeader() as unknown as Record<string, unknown>;
    h.queueOffset = 42;
    expect(RemotingCommand.createRequest(11, h).getExtField('queueOffset')).toBe('42');
  });
});

describe('decoding from extFields', () => {
  function commandWith(entries: Record<string, string>): RemotingCommand {
    const cmd = new RemotingCommand(10, 1);
    cmd.extFields = new Map(Object.entries(entries));
    return cmd;
  }

  const VALID_SEND = Object.fromEntries(RemotingCommand.createRequest(10, sendHeader()).extFields ?? []);

  test('a missing required field throws RemotingHeaderError naming the class and the field', () => {
    const { producerGroup: _dropped, ...rest } = VALID_SEND;
    let thrown: unknown;
    try {
      commandWith(rest).decodeCustomHeader(SendMessageRequestHeader);
    } catch (error) {
      thrown = error;
    }
    expect(thrown).toBeInstanceOf(RemotingHeaderError);
    const error = thrown as RemotingHeaderError;
    expect(error.code).toBe('REMOTING_HEADER');
    expect(error.headerClass).toBe('SendMessageRequestHeader');
    expect(error.field).toBe('producerGroup');
    expect(error.message).toBe('SendMessageRequestHeader: required field "producerGroup" is missing');
  });

  test('a command with no extFields at all reports the first required field missing', () => {
    expect(() => new RemotingCommand(11, 1).decodeCustomHeader(PullMessageRequestHeader)).toThrow(
      'PullMessageRequestHeader: required field "consumerGroup" is missing',
    );
  });

  test('missing optional fields stay unset; Java primitives keep their default', () => {
    const { properties: _p, unitMode: _u, batch: _b, ...rest } = VALID_SEND;
    const h = commandWith(rest).decodeCustomHeader(SendMessageRequestHeader);
    expect(h.properties).toBeUndefined();
    expect(h.reconsumeTimes).toBeUndefined();
    expect(h.unitMode).toBe(false);
    expect(h.batch).toBe(false);
  });

  test('numbers take an optional sign and surrounding spaces; booleans are case-insensitive', () => {
    const h = commandWith({
      ...VALID_SEND,
      queueId: ' +7 ',
      sysFlag: '-1',
      bornTimestamp: ' 0012 ',
      unitMode: 'TRUE',
      batch: 'False',
    }).decodeCustomHeader(SendMessageRequestHeader);
    expect(h.queueId).toBe(7);
    expect(h.sysFlag).toBe(-1);
    expect(h.bornTimestamp).toBe(12n);
    expect(h.unitMode).toBe(true);
    expect(h.batch).toBe(false);
  });

  test.each([
    ['int', 'queueId', 'abc', /"queueId" is "abc", which is not a 32-bit integer/],
    ['int (overflow)', 'queueId', '2147483648', /"queueId" is "2147483648", which is not a 32-bit integer/],
    ['int (fraction)', 'queueId', '1.0', /"queueId" is "1.0", which is not a 32-bit integer/],
    ['int (empty)', 'flag', '', /"flag" is "", which is not a 32-bit integer/],
    [
      'long (overflow)',
      'bornTimestamp',
      '9223372036854775808',
      /"bornTimestamp" is "9223372036854775808", which is not a 64-bit integer/,
    ],
    ['long (hex)', 'bornTimestamp', '0x10', /"bornTimestamp" is "0x10", which is not a 64-bit integer/],
    ['boolean', 'unitMode', 'yes', /"unitMode" is "yes", which is not "true" or "false"/],
  ])('a malformed %s names the field', (_kind, field, raw, message) => {
    let thrown: unknown;
    try {
      commandWith({ ...VALID_SEND, [field]: raw }).decodeCustomHeader(SendMessageRequestHeader);
    } catch (error) {
      thrown = error;
    }
    expect(thrown).toBeInstanceOf(RemotingHeaderError);
    expect((thrown as RemotingHeaderError).field).toBe(field);
    expect((thrown as RemotingHeaderError).message).toMatch(message);
    expect((thrown as RemotingHeaderError).message).toMatch(/^SendMessageRequestHeader: /);
  });

  test('the "number" type and a renamed field (name option)', () => {
    class Weighted {
      @HeaderField({ type: 'number', required: true, name: 'w' })
      weight?: number;
    }
    const h = commandWith({ w: '0.25' }).decodeCustomHeader(Weighted);
    expect(h.weight).toBe(0.25);
    expect(RemotingCommand.createRequest(1, h).getExtField('w')).toBe('0.25');
    expect(() => commandWith({ w: 'NaN' }).decodeCustomHeader(Weighted)).toThrow(
      /"w" is "NaN", which is not a number/,
    );
    expect(() => commandWith({ weight: '1' }).decodeCustomHeader(Weighted)).toThrow(
      'Weighted: required field "w" is missing',
    );
  });

  test('unknown extFields are ignored', () => {
    const h = commandWith({ ...VALID_SEND, traceOn: 'true', MSG_REGION: 'DefaultRegion' }).decodeCustomHeader(
      SendMessageRequestHeader,
    );
    expect(h.topic).toBe('TopicTest');
    expect(Object.hasOwn(h, 'traceOn')).toBe(false);
  });
});

describe('checkFields()', () => {
  class RangeHeader implements CheckedHeader {
    @HeaderField({ type: 'int', required: true })
    from?: number;
    @HeaderField({ type: 'int', required: true })
    to?: number;
    static checked = 0;

    checkFields(): void {
      RangeHeader.checked++;
      if ((this.from ?? 0) > (this.to ?? 0)) throw new Error(`from ${this.from} is after to ${this.to}`);
    }
  }

  test('runs after decoding, with the fields already set', () => {
    const cmd = new RemotingCommand(1, 1);
    cmd.extFields = new Map([
      ['from', '1'],
      ['to', '5'],
    ]);
    const before = RangeHeader.checked;
    expect(cmd.decodeCustomHeader(RangeHeader).to).toBe(5);
    expect(RangeHeader.checked).toBe(before + 1);
  });

  test('its error reaches the caller', () => {
    const cmd = new RemotingCommand(1, 1);
    cmd.extFields = new Map([
      ['from', '9'],
      ['to', '5'],
    ]);
    expect(() => cmd.decodeCustomHeader(RangeHeader)).toThrow('from 9 is after to 5');
  });
});

describe('inheritance', () => {
  class Base {
    @HeaderField({ type: 'string', required: true })
    topic?: string;
  }
  class Derived extends Base {
    @HeaderField({ type: 'long' })
    offset?: bigint;
  }

  test('a subclass carries its parent fields and its own; the parent is not changed', () => {
    const d = new Derived();
    d.topic = 'T';
    d.offset = 5n;
    const cmd = RemotingCommand.createRequest(1, d);
    expect([...(cmd.extFields ?? [])]).toEqual([
      ['topic', 'T'],
      ['offset', '5'],
    ]);
    expect(cmd.decodeCustomHeader(Derived)).toEqual(d);
    const b = new Base();
    b.topic = 'T';
    expect([...(RemotingCommand.createRequest(1, b).extFields ?? [])]).toEqual([['topic', 'T']]);
  });
});
