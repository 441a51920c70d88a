/**
 * Frames written byte by byte from the wire spec (DESIGN.md, "Wire protocol"),
 * not produced by our encoder: they pin the format even where no Java-made
 * golden vector is at hand (a user's clone has no ../shared).
 */
import { describe, expect, test } from 'vitest';
import { FrameDecoder, LanguageCode, RemotingCommand, SerializeType } from '../src/index.js';
import { fieldsOf, hex } from './support/wire.js';

interface HandVector {
  name: string;
  bytes: Buffer;
  command: () => RemotingCommand;
  isResponse: boolean;
  isOneway: boolean;
}

function command(
  serializeType: SerializeType,
  fields: {
    code: number;
    language: number;
    version: number;
    opaque: number;
    flag: number;
    remark?: string;
    extFields?: Array<[string, string]>;
    body?: string;
  },
): RemotingCommand {
  const cmd = new RemotingCommand(fields.code, fields.opaque);
  cmd.language = fields.language;
  cmd.version = fields.version;
  cmd.flag = fields.flag;
  cmd.remark = fields.remark ?? null;
  cmd.extFields = fields.extFields === undefined ? null : new Map(fields.extFields);
  cmd.body = fields.body === undefined ? null : Buffer.from(fields.body, 'utf8');
  cmd.serializeType = serializeType;
  return cmd;
}

const JSON_VECTORS: HandVector[] = [
  {
    name: 'request with extFields and a body',
    bytes: hex(
      '00000092', // total length 146 = 4 + 140 header + 2 body
      '0000008c', // serialize type 0 (JSON) << 24 | header length 140
      '7b22636f6465223a333130', // {"code":310
      '2c226578744669656c6473223a7b22746f706963223a225431222c2271756575654964223a2233227d', // ,"extFields":{"topic":"T1","queueId":"3"}
      '2c22666c6167223a30', // ,"flag":0
      '2c226c616e6775616765223a224e4f44455f4a5322', // ,"language":"NODE_JS"
      '2c226f7061717565223a3432', // ,"opaque":42
      '2c2273657269616c697a655479706543757272656e74525043223a224a534f4e22', // ,"serializeTypeCurrentRPC":"JSON"
      '2c2276657273696f6e223a317d', // ,"version":1}
      '6869', // body "hi"
    ),
    command: () =>
      command(SerializeType.JSON, {
        code: 310,
        language: LanguageCode.NODE_JS,
        version: 1,
        opaque: 42,
        flag: 0,
        extFields: [
          ['topic', 'T1'],
          ['queueId', '3'],
        ],
        body: 'hi',
      }),
    isResponse: false,
    isOneway: false,
  },
  {
    name: 'response with a remark, no extFields, no body',
    bytes: hex(
      '00000073', // total length 115 = 4 + 111 header
      '0000006f', // JSON, header length 111
      '7b22636f6465223a30', // {"code":0
      '2c22666c6167223a31', // ,"flag":1             (bit 0: response)
      '2c226c616e6775616765223a224e4f44455f4a5322', // ,"language":"NODE_JS"
      '2c226f7061717565223a3432', // ,"opaque":42           (the request's)
      '2c2272656d61726b223a224f4b22', // ,"remark":"OK"
      '2c2273657269616c697a655479706543757272656e74525043223a224a534f4e22', // ,"serializeTypeCurrentRPC":"JSON"
      '2c2276657273696f6e223a317d', // ,"version":1}
    ),
    command: () =>
      command(SerializeType.JSON, {
        code: 0,
        language: LanguageCode.NODE_JS,
        version: 1,
        opaque: 42,
        flag: 1,
        remark: 'OK',
      }),
    isResponse: true,
    isOneway: false,
  },
  {
    name: 'oneway request, nothing optional',
    bytes: hex(
      '00000066', // total length 102 = 4 + 98 header
      '00000062', // JSON, header length 98
      '7b22636f6465223a3131', // {"code":11
      '2c22666c6167223a32', // ,"flag":2             (bit 1: oneway)
      '2c226c616e6775616765223a224e4f44455f4a5322', // ,"language":"NODE_JS"
      '2c226f7061717565223a3433', // ,"opaque":43
      '2c2273657269616c697a655479706543757272656e74525043223a224a534f4e22', // ,"serializeTypeCurrentRPC":"JSON"
      '2c2276657273696f6e223a317d', // ,"version":1}
    ),
    command: () =>
      command(SerializeType.JSON, {
        code: 11,
        language: LanguageCode.NODE_JS,
        version: 1,
        opaque: 43,
        flag: 2,
      }),
    isResponse: false,
    isOneway: true,
  },
  {
    name: 'response with a Chinese remark and extFields (header length counts UTF-8 bytes, not characters)',
    bytes: hex(
      '00000097', // total length 151 = 4 + 147 header
      '00000093', // JSON, header length 147 (the text is 133 characters; 7 CJK characters × 3 bytes)
      '7b22636f6465223a31', // {"code":1
      '2c226578744669656c6473223a7b22e994ae223a22e580bc227d', // ,"extFields":{"键":"值"}
      '2c22666c6167223a31', // ,"flag":1
      '2c226c616e6775616765223a224a41564122', // ,"language":"JAVA"
      '2c226f7061717565223a3434', // ,"opaque":44
      '2c2272656d61726b223a22e4b8bbe9a298e4b88de5ad98e59ca822', // ,"remark":"主题不存在"
      '2c2273657269616c697a655479706543757272656e74525043223a224a534f4e22', // ,"serializeTypeCurrentRPC":"JSON"
      '2c2276657273696f6e223a307d', // ,"version":0}
    ),
    command: () =>
      command(SerializeType.JSON, {
        code: 1,
        language: LanguageCode.JAVA,
        version: 0,
        opaque: 44,
        flag: 1,
        remark: '主题不存在',
        extFields: [['键', '值']],
      }),
    isResponse: true,
    isOneway: false,
  },
];

const ROCKETMQ_VECTORS: HandVector[] = [
  {
    name: 'request with extFields and a body',
    bytes: hex(
      '00000036', // total length 54 = 4 + 48 header + 2 body
      '01000030', // serialize type 1 (ROCKETMQ) << 24 | header length 48
      '0136', // code 310 (int16)
      '0d', // language NODE_JS (13)
      '0001', // version 1 (int16)
      '0000002a', // opaque 42
      '00000000', // flag 0: request
      '00000000', // remark length 0: no remark
      '0000001b', // extFields length 27
      '0005 746f706963 00000002 5431', // key length 5 "topic", value length 2 "T1"
      '0007 71756575654964 00000001 33', // key length 7 "queueId", value length 1 "3"
      '6869', // body "hi"
    ),
    command: () =>
      command(SerializeType.ROCKETMQ, {
        code: 310,
        language: LanguageCode.NODE_JS,
        version: 1,
        opaque: 42,
        flag: 0,
        extFields: [
          ['topic', 'T1'],
          ['queueId', '3'],
        ],
        body: 'hi',
      }),
    isResponse: false,
    isOneway: false,
  },
  {
    name: 'response with a remark, no extFields, no body',
    bytes: hex(
      '0000001b', // total length 27 = 4 + 23 header
      '01000017', // ROCKETMQ, header length 23
      '0000', // code 0 SUCCESS
      '0d', // language NODE_JS
      '0001', // version 1
      '0000002a', // opaque 42
      '00000001', // flag 1: response
      '00000002 4f4b', // remark length 2, "OK"
      '00000000', // extFields length 0
    ),
    command: () =>
      command(SerializeType.ROCKETMQ, {
        code: 0,
        language: LanguageCode.NODE_JS,
        version: 1,
        opaque: 42,
        flag: 1,
        remark: 'OK',
      }),
    isResponse: true,
    isOneway: false,
  },
  {
    name: 'oneway request, nothing optional',
    bytes: hex(
      '00000019', // total length 25 = 4 + 21 header (the fixed part alone)
      '01000015', // ROCKETMQ, header length 21
      '000b', // code 11
      '0d', // language NODE_JS
      '0001', // version 1
      '0000002b', // opaque 43
      '00000002', // flag 2: oneway
      '00000000', // no remark
      '00000000', // no extFields
    ),
    command: () =>
      command(SerializeType.ROCKETMQ, {
        code: 11,
        language: LanguageCode.NODE_JS,
        version: 1,
        opaque: 43,
        flag: 2,
      }),
    isResponse: false,
    isOneway: true,
  },
  {
    name: 'response with a Chinese remark and extFields (lengths count UTF-8 bytes, not characters)',
    bytes: hex(
      '00000034', // total length 52 = 4 + 48 header
      '01000030', // ROCKETMQ, header length 48
      '0001', // code 1 SYSTEM_ERROR
      '00', // language JAVA
      '0000', // version 0
      '0000002c', // opaque 44
      '00000001', // flag 1: response
      '0000000f e4b8bbe9a298e4b88de5ad98e59ca8', // remark length 15 (5 characters), "主题不存在"
      '0000000c', // extFields length 12
      '0003 e994ae 00000003 e580bc', // key length 3 "键", value length 3 "值"
    ),
    command: () =>
      command(SerializeType.ROCKETMQ, {
        code: 1,
        language: LanguageCode.JAVA,
        version: 0,
        opaque: 44,
        flag: 1,
        remark: '主题不存在',
        extFields: [['键', '值']],
      }),
    isResponse: true,
    isOneway: false,
  },
];

describe.each([
  ['JSON', JSON_VECTORS],
  ['ROCKETMQ', ROCKETMQ_VECTORS],
] as const)('hand-made %s vectors', (_serialization, vectors) => {
  test.each(vectors.map((v) => [v.name, v] as const))('%s: decode gives the fields', (_name, vector) => {
    const decoded = RemotingCommand.decode(vector.bytes);
    expect(fieldsOf(decoded)).toEqual(fieldsOf(vector.command()));
    expect(decoded.isResponse()).toBe(vector.isResponse);
    expect(decoded.isOneway()).toBe(vector.isOneway);
  });

  test.each(vectors.map((v) => [v.name, v] as const))('%s: encode gives the bytes', (_name, vector) => {
    expect(vector.command().encode().toString('hex')).toBe(vector.bytes.toString('hex'));
  });

  test('all of them back to back, one byte at a time, through a FrameDecoder', () => {
    const stream = Buffer.concat(vectors.map((v) => v.bytes));
    const decoder = new FrameDecoder();
    const out: RemotingCommand[] = [];
    for (let i = 0; i < stream.length; i++) decoder.pushTo(stream.subarray(i, i + 1), out);
    expect(out.map(fieldsOf)).toEqual(vectors.map((v) => fieldsOf(v.command())));
    expect(decoder.bufferedBytes).toBe(0);
  });
});
