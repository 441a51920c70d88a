/**
 * Conformance with the real Java implementation: frames produced by Apache
 * RocketMQ 4.9.7 (RemotingCommand.encode()/encodeHeader(), fastjson 1.2.69)
 * and live from a RocketMQ server, described by ../shared/vectors/manifest.json.
 * Every vector must decode to the manifest's fields and, where the manifest
 * calls it canonical, re-encode to the very same bytes.
 *
 * The vectors live beside the repository (<repo root>/../shared/vectors), not
 * in it: a user's clone has none, and there this suite reports itself skipped
 * with the reason. The hand-made vectors (hand-vectors.test.ts) run everywhere.
 * REMOTING_VECTORS_DIR points the suite elsewhere.
 */
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, test } from 'vitest';
import {
  FrameDecoder,
  languageName,
  RemotingCommand,
  RemotingEncodeError,
  SerializeType,
} from '../src/index.js';
import { fitsRocketMqHeader } from '../src/protocol/rocketmq-header.js';

interface ManifestFields {
  code: number;
  language: string;
  languageCode: number;
  version: number;
  opaque: number;
  flag: number;
  isResponse: boolean;
  isOneway: boolean;
  remark: string | null;
  extFields: Record<string, string> | null;
  bodyHex: string | null;
}

interface ManifestVector {
  file: string;
  description: string;
  serializeType: 'JSON' | 'ROCKETMQ';
  serializeTypeByte: number;
  headerOnly: boolean;
  fileSize: number;
  totalLength: number;
  headerLength: number;
  bodyLength: number;
  headerHex: string;
  fields: ManifestFields;
  canonical: boolean;
  /** Values RocketMQ itself reads back where the wire narrows them (int16 code/version in the binary header). */
  decodesAs?: Partial<Pick<ManifestFields, 'code' | 'version'>>;
}

const here = path.dirname(fileURLToPath(import.meta.url));
const repoRoot = path.resolve(here, '../../..');
const vectorsDir = process.env.REMOTING_VECTORS_DIR ?? path.resolve(repoRoot, '../shared/vectors');
const manifestPath = path.join(vectorsDir, 'manifest.json');
const present = existsSync(manifestPath);
const SKIP_REASON = "skipped: ../shared/vectors not found (a user's clone has no shared folder)";
if (!present) console.warn(`golden-vectors.test.ts ${SKIP_REASON}; looked for ${manifestPath}`);

const vectors: ManifestVector[] = present
  ? (JSON.parse(readFileSync(manifestPath, 'utf8')) as { vectors: ManifestVector[] }).vectors
  : [];
const read = (v: ManifestVector) => readFileSync(path.join(vectorsDir, v.file));

/** The manifest's fields as the decoded command must hold them. */
function expectedFields(v: ManifestVector) {
  const f = v.fields;
  const binary = v.serializeType === 'ROCKETMQ';
  const ext = f.extFields === null ? null : Object.entries(f.extFields);
  return {
    code: v.decodesAs?.code ?? f.code,
    language: f.languageCode,
    version: v.decodesAs?.version ?? f.version,
    opaque: f.opaque,
    flag: f.flag,
    // Java's binary header writes "" and {} with length 0, which read back as null.
    remark: binary && f.remark === '' ? null : f.remark,
    extFields: binary && ext?.length === 0 ? null : ext,
    body: f.bodyHex,
    serializeType: v.serializeTypeByte,
  };
}

function decodedFields(cmd: RemotingCommand) {
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

/** The whole frame of a vector: header-only files get their body (from the manifest) appended. */
function wholeFrame(v: ManifestVector): Buffer {
  const bytes = read(v);
  return v.headerOnly ? Buffer.concat([bytes, Buffer.from(v.fields.bodyHex ?? '', 'hex')]) : bytes;
}

/** The command built straight from the manifest, as a Java peer would have filled its RemotingCommand. */
function commandFromManifest(v: ManifestVector): RemotingCommand {
  const f = v.fields;
  const cmd = new RemotingCommand(f.code, f.opaque);
  cmd.language = f.languageCode;
  cmd.version = f.version;
  cmd.flag = f.flag;
  cmd.remark = f.remark;
  cmd.extFields = f.extFields === null ? null : new Map(Object.entries(f.extFields));
  cmd.body = f.bodyHex === null ? null : Buffer.from(f.bodyHex, 'hex');
  cmd.serializeType = v.serializeType === 'ROCKETMQ' ? SerializeType.ROCKETMQ : SerializeType.JSON;
  return cmd;
}

/** What we would put on the wire for `cmd`: the whole frame, or the head alone for a header-only vector. */
function ourBytes(v: ManifestVector, cmd: RemotingCommand): Buffer {
  return v.headerOnly ? cmd.encodeParts()[0] : cmd.encode();
}

describe.skipIf(!present)(
  present ? `golden vectors from RocketMQ 4.9.7 (${vectorsDir})` : `golden vectors ${SKIP_REASON}`,
  () => {
    test('the manifest lists every .bin file in the folder, each with its stated size', () => {
      const files = readdirSync(vectorsDir).filter((name) => name.endsWith('.bin'));
      expect(vectors.map((v) => v.file).sort()).toEqual(files.sort());
      expect(vectors.length).toBeGreaterThanOrEqual(30);
      for (const v of vectors) expect(read(v).length, v.file).toBe(v.fileSize);
    });

    describe.each(vectors.map((v) => [v.file, v] as const))('%s', (_file, v) => {
      test(`frame layout: ${v.description}`, () => {
        const bytes = read(v);
        expect(bytes.readInt32BE(0)).toBe(v.totalLength);
        expect(bytes.readUInt8(4)).toBe(v.serializeTypeByte);
        expect(bytes.readUInt32BE(4) & 0xffffff).toBe(v.headerLength);
        expect(v.totalLength).toBe(4 + v.headerLength + v.bodyLength);
        expect(bytes.length).toBe(v.headerOnly ? 8 + v.headerLength : 4 + v.totalLength);
      });

      test('decodes to every field of the manifest', () => {
        const cmd = RemotingCommand.decode(wholeFrame(v));
        expect(decodedFields(cmd)).toEqual(expectedFields(v));
        expect(languageName(cmd.language)).toBe(v.fields.language);
        expect(cmd.isResponse()).toBe(v.fields.isResponse);
        expect(cmd.isOneway()).toBe(v.fields.isOneway);
      });

      test('decodes the same through a FrameDecoder fed the header and the body separately', () => {
        const decoder = new FrameDecoder();
        const out: RemotingCommand[] = [];
        const frame = wholeFrame(v);
        const headEnd = 8 + v.headerLength;
        decoder.pushTo(frame.subarray(0, headEnd), out);
        decoder.pushTo(frame.subarray(headEnd), out);
        expect(out.map(decodedFields)).toEqual([expectedFields(v)]);
      });

      test('our header bytes equal the manifest headerHex', () => {
        const cmd = RemotingCommand.decode(wholeFrame(v));
        expect(cmd.encodeHeaderBytes().toString('hex')).toBe(v.headerHex);
      });

      test('the channel’s write path (encodeInto, cached header shapes) writes what encode() writes, twice over', () => {
        const cmd = RemotingCommand.decode(wholeFrame(v));
        if (v.serializeType === 'ROCKETMQ' && !fitsRocketMqHeader(cmd)) return;
        const expected = cmd.encode().toString('hex');
        const slab = Buffer.alloc(2 * expected.length + 64);
        // The second write meets the shape the first one cached.
        const first = cmd.encodeInto(slab, 3, true);
        const second = cmd.encodeInto(slab, first, true);
        expect(slab.subarray(3, first).toString('hex')).toBe(expected);
        expect(slab.subarray(first, second).toString('hex')).toBe(expected);
      });

      if (v.canonical) {
        test(`re-encoding the decoded command reproduces the file byte for byte${v.headerOnly ? ' (encodeParts head = encodeHeader())' : ''}`, () => {
          const cmd = RemotingCommand.decode(wholeFrame(v));
          expect(ourBytes(v, cmd).toString('hex')).toBe(read(v).toString('hex'));
        });

        test('encoding the manifest fields from scratch reproduces the file', () => {
          const cmd = commandFromManifest(v);
          if (v.serializeType === 'ROCKETMQ' && !fitsRocketMqHeader(cmd)) {
            // Java wrote a value outside int16 truncated; we refuse it, and the file holds what truncation gives.
            expect(() => ourBytes(v, cmd)).toThrow(RemotingEncodeError);
            cmd.code = (cmd.code << 16) >> 16;
            cmd.version = (cmd.version << 16) >> 16;
          }
          expect(ourBytes(v, cmd).toString('hex')).toBe(read(v).toString('hex'));
        });
      } else {
        test('non-canonical (byte-exact re-encoding not required), yet we reproduce the file as fastjson does', () => {
          expect(ourBytes(v, RemotingCommand.decode(wholeFrame(v))).toString('hex')).toBe(
            read(v).toString('hex'),
          );
          expect(ourBytes(v, commandFromManifest(v)).toString('hex')).toBe(read(v).toString('hex'));
        });
      }
    });
  },
);
