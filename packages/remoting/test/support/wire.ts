import { expect } from 'vitest';
import { type RemotingCommand, RemotingProtocolError } from '../../src/index.js';

/** Joins hex fragments (whitespace allowed) into one buffer; fragments keep a test's bytes readable field by field. */
export function hex(...parts: string[]): Buffer {
  const text = parts.join('').replace(/\s+/g, '');
  if (!/^(?:[0-9a-f]{2})*$/i.test(text)) throw new Error(`not hex: ${text}`);
  return Buffer.from(text, 'hex');
}

/** Runs `fn`, which must throw a RemotingProtocolError whose message matches `message`; returns the error. */
export function expectProtocolError(fn: () => unknown, message: RegExp): RemotingProtocolError {
  let thrown: unknown;
  try {
    fn();
  } catch (error) {
    thrown = error;
  }
  expect(thrown, 'expected a RemotingProtocolError to be thrown').toBeInstanceOf(RemotingProtocolError);
  const error = thrown as RemotingProtocolError;
  expect(error.code).toBe('REMOTING_PROTOCOL');
  expect(error.name).toBe('RemotingProtocolError');
  expect(error.message).toMatch(message);
  return error;
}

/** The header fields and body of a command as plain data, for toEqual. */
export function fieldsOf(cmd: RemotingCommand): {
  code: number;
  language: number;
  version: number;
  opaque: number;
  flag: number;
  remark: string | null;
  extFields: Array<[string, string]> | null;
  body: string | null;
  serializeType: number;
} {
  return {
    code: cmd.code,
    language: cmd.language,
    version: cmd.version,
    opaque: cmd.opaque,
    flag: cmd.flag,
    remark: cmd.remark,
    extFields: cmd.extFields === null ? null : [...cmd.extFields],
    body: cmd.body === null ? null : cmd.body.toString('hex'),
    serializeType: cmd.serializeType,
  };
}
