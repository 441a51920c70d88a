import { describe, expect, test } from 'vitest';
import { LanguageCode, RemotingCommand, ResponseCode, SerializeType } from '../src/index.js';
import { exceptionSimpleDesc, firstStackFrame } from '../src/protocol/exception-desc.js';
import { EchoCode, newClient, startEchoServer } from './helpers/servers.js';

class KvStore {
  get(key: string): never {
    throw new RangeError(`no such key ${key}`);
  }
}

describe('exceptionSimpleDesc: RocketMQ RemotingHelper.exceptionSimpleDesc in Node form', () => {
  test('name, message, then the first stack frame with the file base name', () => {
    let caught: unknown;
    try {
      new KvStore().get('k1');
    } catch (error) {
      caught = error;
    }
    expect(exceptionSimpleDesc(caught)).toMatch(
      /^RangeError: no such key k1, KvStore\.get\(exception-desc\.test\.ts:\d+:\d+\)$/,
    );
  });

  test('no absolute path reaches the remark', () => {
    const desc = exceptionSimpleDesc(new Error('x'));
    expect(desc).not.toContain('/work/');
    expect(desc).not.toContain('file://');
  });

  test('an error without a stack gives Name: message; an empty message gives the name', () => {
    const noStack = new TypeError('bad');
    noStack.stack = undefined;
    expect(exceptionSimpleDesc(noStack)).toBe('TypeError: bad');
    const empty = new Error('');
    empty.stack = undefined;
    expect(exceptionSimpleDesc(empty)).toBe('Error');
  });

  test('a thrown non-Error is its string form', () => {
    expect(exceptionSimpleDesc('disk on fire')).toBe('disk on fire');
    expect(exceptionSimpleDesc(42)).toBe('42');
  });

  test('frames without a function name, async frames and native frames', () => {
    expect(firstStackFrame('Error: x\n    at /srv/app/main.js:3:9')).toBe('<anonymous>(main.js:3:9)');
    expect(firstStackFrame('Error: x\n    at async Server.run (file:///srv/a/b.ts:1:2)')).toBe(
      'Server.run(b.ts:1:2)',
    );
    expect(firstStackFrame('Error: x\n    at Array.map (native)')).toBe('Array.map(native)');
    expect(firstStackFrame('Error: no frames')).toBeNull();
  });
});

describe('a processor that throws', () => {
  test('answers SYSTEM_ERROR with the Java-shaped description as remark', async () => {
    const { server, address } = await startEchoServer();
    server.registerProcessor(77, {
      processRequest: () => new KvStore().get('k2'),
    });
    const response = await newClient().invokeSync(address, RemotingCommand.createRequest(77), 3000);
    expect(response.code).toBe(ResponseCode.SYSTEM_ERROR);
    expect(response.remark).toMatch(
      /^RangeError: no such key k2, KvStore\.get\(exception-desc\.test\.ts:\d+:\d+\)$/,
    );
  });
});

describe('defaults a RocketMQ 4.x peer can decode', () => {
  test('new commands say language JAVA, in both serializations', () => {
    const request = RemotingCommand.createRequest(EchoCode.ECHO);
    expect(request.language).toBe(LanguageCode.JAVA);
    const json = request.encode(SerializeType.JSON);
    expect(json.toString('utf8')).toContain('"language":"JAVA"');
    const binary = request.encode(SerializeType.ROCKETMQ);
    expect(binary.readUInt8(8 + 2)).toBe(0);
  });

  test('responses of a server say JAVA too', async () => {
    const { address } = await startEchoServer();
    const response = await newClient().invokeSync(
      address,
      RemotingCommand.createRequest(EchoCode.ECHO),
      3000,
    );
    expect(response.language).toBe(LanguageCode.JAVA);
  });
});
