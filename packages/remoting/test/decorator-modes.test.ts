import { mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import ts from 'typescript';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { RemotingCommand, RemotingHeaderError, ResponseCode } from '../src/index.js';
import { controllerProcessors } from '../src/remoting/processor-registry.js';
import { newClient, startServer } from './helpers/servers.js';

type Fixture = typeof import('./fixtures/decorated-classes.js');
type Mode = 'standard' | 'legacy';

const PACKAGE_DIR = fileURLToPath(new URL('..', import.meta.url));
const OUT_DIR = path.join(PACKAGE_DIR, '.tmp', `decorator-modes-${process.pid}`);
const SOURCE = readFileSync(new URL('./fixtures/decorated-classes.ts', import.meta.url), 'utf8');
const INDEX = path.join(PACKAGE_DIR, 'src', 'index.ts');

/** Compiles the fixture the way a user's project would in `mode`, and imports it. */
async function compileFixture(mode: Mode): Promise<Fixture> {
  const { outputText, diagnostics } = ts.transpileModule(SOURCE.replace('../../src/index.js', INDEX), {
    compilerOptions: {
      target: ts.ScriptTarget.ES2022,
      module: ts.ModuleKind.ESNext,
      experimentalDecorators: mode === 'legacy',
      // TypeScript's default for ES2022 in both modes: fields are defined on the instance.
      useDefineForClassFields: true,
    },
    reportDiagnostics: true,
  });
  expect(diagnostics ?? []).toEqual([]);
  // The emit differs: __decorate (legacy) against __esDecorate (standard).
  expect(outputText).toContain(mode === 'legacy' ? '__decorate(' : '__esDecorate(');
  const file = path.join(OUT_DIR, `decorated-${mode}.mjs`);
  writeFileSync(file, outputText);
  return (await import(/* @vite-ignore */ pathToFileURL(file).href)) as Fixture;
}

const fixtures = {} as Record<Mode, Fixture>;
beforeAll(async () => {
  mkdirSync(OUT_DIR, { recursive: true });
  fixtures.standard = await compileFixture('standard');
  fixtures.legacy = await compileFixture('legacy');
});
afterAll(() => rmSync(OUT_DIR, { recursive: true, force: true }));

describe.each(['standard', 'legacy'] as const)('%s decorators', (mode) => {
  it('@HeaderField encodes inherited and own fields, the subclass redeclaration winning', () => {
    const { PutHeader } = fixtures[mode];
    const header = new PutHeader();
    header.topic = 'orders';
    header.queueId = 3;
    header.offset = 9007199254740993n;
    const request = RemotingCommand.createRequest(10, header);
    expect(Object.fromEntries(request.extFields ?? [])).toEqual({
      topic: 'orders',
      queueId: '3',
      queueOffset: '9007199254740993',
    });
  });

  it('@HeaderField decodes with conversion and names a missing required field', () => {
    const { PutHeader } = fixtures[mode];
    const request = RemotingCommand.createRequest(10);
    request.extFields = new Map([
      ['topic', 'orders'],
      ['queueId', '4'],
      ['queueOffset', '12'],
      ['sync', 'TRUE'],
    ]);
    const header = request.decodeCustomHeader(PutHeader);
    expect(header).toMatchObject({ topic: 'orders', queueId: 4, offset: 12n, sync: true });
    request.extFields.delete('queueId');
    expect(() => request.decodeCustomHeader(PutHeader)).toThrow(
      /PutHeader: required field "queueId" is missing/,
    );
  });

  it('@RequestMapping registers each method with its code and executor', () => {
    const { KvController } = fixtures[mode];
    const triples = controllerProcessors(new KvController());
    expect(triples.map(({ code, executor }) => ({ code, executor }))).toEqual([
      { code: 10, executor: undefined },
      { code: 11, executor: { concurrency: 2, queueCapacity: 8 } },
    ]);
  });

  it('a controller serves real calls over a socket', async () => {
    const { KvController, PutHeader } = fixtures[mode];
    const { server, address } = await startServer();
    server.registerController(new KvController());
    const client = newClient();
    const header = new PutHeader();
    header.topic = 'k';
    header.queueId = 1;
    header.offset = 2n;
    const put = await client.invokeSync(address, RemotingCommand.createRequest(10, header), 3000);
    expect(put.code).toBe(ResponseCode.SUCCESS);
    const get = await client.invokeSync(
      address,
      RemotingCommand.createRequest(11).addExtField('topic', 'k'),
      3000,
    );
    expect(get.body?.toString()).toBe('1:2');
  });

  it('misuse names the class and the member', () => {
    const { defineMisusedField, defineMisusedMapping } = fixtures[mode];
    expect(defineMisusedField).toThrow(RemotingHeaderError);
    expect(defineMisusedField).toThrow(/@HeaderField on Misused\.shared: .* is a static field/);
    expect(defineMisusedMapping).toThrow(
      /@RequestMapping on MisusedController\.handler: .* is a static method/,
    );
  });
});

it('both modes record the same field list', () => {
  const encode = (mode: Mode) => {
    const header = new fixtures[mode].PutHeader();
    Object.assign(header, { topic: 't', queueId: 0, offset: 1n, sync: false });
    return [...(RemotingCommand.createRequest(10, header).extFields ?? [])];
  };
  expect(encode('standard')).toEqual(encode('legacy'));
});
