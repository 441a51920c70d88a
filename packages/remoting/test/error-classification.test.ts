import { cpSync, mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import {
  ChannelClosedError,
  RemotingCommand,
  RemotingCommandError,
  RemotingConnectError,
  RemotingError,
  RemotingHeaderError,
  RemotingProtocolError,
  RemotingShutdownError,
  RemotingTooMuchRequestError,
  ResponseCode,
} from '../src/index.js';

type ErrorsModule = typeof import('../src/protocol/errors.js');

const copies: string[] = [];
afterAll(() => {
  for (const dir of copies) rmSync(dir, { recursive: true, force: true });
});

/** A second, separately loaded copy of protocol/errors.ts: another module, other classes. */
async function secondCopy(): Promise<ErrorsModule> {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'remoting-errors-copy-'));
  copies.push(dir);
  const file = path.join(dir, 'errors.ts');
  cpSync(new URL('../src/protocol/errors.ts', import.meta.url), file);
  return (await import(/* @vite-ignore */ pathToFileURL(file).href)) as ErrorsModule;
}

describe('instanceof across two copies of the package', () => {
  it('a second copy is really a different class', async () => {
    const copy = await secondCopy();
    expect(copy.RemotingError).not.toBe(RemotingError);
    expect(Object.getPrototypeOf(new copy.RemotingError('X', 'x')) === RemotingError.prototype).toBe(false);
  });

  it('errors of either copy are instances of the other copy’s classes', async () => {
    const copy = await secondCopy();
    const foreign = new copy.RemotingProtocolError('bad frame');
    expect(foreign instanceof RemotingError).toBe(true);
    expect(foreign instanceof RemotingProtocolError).toBe(true);
    expect(foreign instanceof RemotingHeaderError).toBe(false);
    const local = new RemotingHeaderError('H', 'f', 'missing');
    expect(local instanceof copy.RemotingError).toBe(true);
    expect(local instanceof copy.RemotingHeaderError).toBe(true);
    expect(local instanceof copy.RemotingProtocolError).toBe(false);
  });

  it('subclasses defined elsewhere keep their own brand', async () => {
    const copy = await secondCopy();
    class LocalTimeout extends RemotingError {}
    class ForeignTimeout extends copy.RemotingError {}
    expect(new ForeignTimeout('T', 't') instanceof RemotingError).toBe(true);
    // Same class name, same brand: the point of Symbol.for keys.
    Object.defineProperty(ForeignTimeout, 'name', { value: 'LocalTimeout' });
    expect(new ForeignTimeout('T', 't') instanceof LocalTimeout).toBe(true);
    expect(new copy.RemotingError('T', 't') instanceof LocalTimeout).toBe(false);
  });

  it('plain errors and non-objects are not RemotingErrors', () => {
    expect(new Error('x') instanceof RemotingError).toBe(false);
    expect((null as unknown) instanceof RemotingError).toBe(false);
    expect(({ code: 'REMOTING_X' } as unknown) instanceof RemotingError).toBe(false);
  });

  it('the brand is invisible to enumeration and JSON', () => {
    const error = new RemotingProtocolError('bad');
    const brands = Object.getOwnPropertyDescriptor(error, Symbol.for('remoting-ts.error.brands'));
    expect(brands?.value).toEqual(expect.any(Array));
    expect(brands?.enumerable).toBe(false);
    expect(JSON.stringify(error)).not.toContain('brand');
  });
});

describe('retriable and written classify every failure', () => {
  it('a connect failure was not written and may be retried', () => {
    const error = new RemotingConnectError('127.0.0.1:1', 5, 1000, new Error('ECONNREFUSED'));
    expect(error).toMatchObject({ code: 'REMOTING_CONNECT', retriable: true, written: false });
    expect(error.message).toContain('not written');
  });

  it('a closed channel was not written and may be retried', () => {
    expect(new ChannelClosedError('127.0.0.1:1')).toMatchObject({ retriable: true, written: false });
  });

  it('errors about no outgoing request say neither', () => {
    expect(new RemotingProtocolError('bad')).toMatchObject({ retriable: false, written: undefined });
    expect(new RemotingHeaderError('H', 'f', 'm')).toMatchObject({ retriable: false, written: undefined });
  });

  it('the base takes both flags and keeps the cause', () => {
    const cause = new Error('socket');
    const error = new RemotingError('X', 'x', { retriable: true, written: true, cause });
    expect(error).toMatchObject({ retriable: true, written: true, cause, name: 'RemotingError' });
  });
});

describe('the remoting errors say written as it was', () => {
  it('too many requests: not written, retriable', () => {
    const error = new RemotingTooMuchRequestError({
      remoteAddress: 'a:1',
      requestCode: 1,
      mode: 'async',
      permitsTotal: 1,
      permitsAvailable: 0,
      permitsWaiting: 0,
      waitedMs: 5,
    });
    expect(error).toMatchObject({ retriable: true, written: false });
  });

  it('a non-success answer was written (the peer answered); shutdown was not', () => {
    const response = RemotingCommand.createResponse(ResponseCode.SYSTEM_ERROR, 'boom');
    expect(new RemotingCommandError('a:1', 1, response)).toMatchObject({ retriable: false, written: true });
    expect(new RemotingShutdownError('client')).toMatchObject({ retriable: false, written: false });
  });
});
