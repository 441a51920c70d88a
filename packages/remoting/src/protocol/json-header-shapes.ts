import { languageName } from './codes.js';
import type { HeaderFields } from './header-fields.js';
import { scanJsonInteger, scannedIntegerEnd } from './json-integer.js';

/**
 * Bytes compared and copied in place, four at a time where they can be: a
 * DataView reads a word at any offset, which V8 compiles to one load, where
 * a byte loop costs a load and a bounds check per byte (a header matched
 * this way took half the time of the byte-wise scan, measured on Node 20).
 */
export class ByteTemplate {
  readonly bytes: Uint8Array;
  /** bytes[0 .. 4 × words.length) as little-endian int32s. */
  private readonly words: Int32Array;

  constructor(bytes: Uint8Array) {
    this.bytes = bytes;
    const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.length);
    this.words = Int32Array.from({ length: bytes.length >> 2 }, (_, i) => view.getInt32(i * 4, true));
  }

  get length(): number {
    return this.bytes.length;
  }

  /** Whether `target` holds these bytes at `at` (the caller has checked they fit before its end). */
  matchesAt(target: Buffer, at: number): boolean {
    const words = this.words;
    const count = words.length;
    const view = dataViewOf(target);
    if (view !== null) {
      const base = target.byteOffset + at;
      for (let i = 0; i < count; i++) if (view.getInt32(base + i * 4, true) !== words[i]) return false;
    } else {
      for (let i = 0; i < count * 4; i++) if (target[at + i] !== this.bytes[i]) return false;
    }
    const bytes = this.bytes;
    for (let i = count * 4; i < bytes.length; i++) if (target[at + i] !== bytes[i]) return false;
    return true;
  }
}

/** Buffers up to this size are viewed word by word; the view keeps the last one alive until the next. */
const VIEWED_BUFFER_MAX_BYTES = 1024 * 1024;
let viewedBuffer: ArrayBufferLike | null = null;
let view: DataView | null = null;

/** A DataView over the memory of `bytes` (one per buffer, kept for the next call), or null for a large one. */
function dataViewOf(bytes: Buffer): DataView | null {
  const buffer = bytes.buffer;
  if (buffer === viewedBuffer) return view;
  if (buffer.byteLength > VIEWED_BUFFER_MAX_BYTES) return null;
  viewedBuffer = buffer;
  view = new DataView(buffer);
  return view;
}

/**
 * A JSON header without remark and extFields: its bytes before the
 * opaque's digits and after them. Calls and their responses come in a few
 * shapes (code, flag, language, version) that differ only in their opaque,
 * so a shape is written as two copies around the opaque's digits, and a
 * header already seen in a shape is recognised by comparing the same bytes.
 */
export interface JsonHeaderShape {
  readonly code: number;
  readonly flag: number;
  readonly language: number;
  readonly version: number;
  readonly beforeOpaque: ByteTemplate;
  readonly afterOpaque: ByteTemplate;
}

/** Shapes written recently, direct-mapped by a hash of their fields: a clash only costs a fresh encoding. */
const SHAPE_SLOTS = 64;
const shapes: Array<JsonHeaderShape | undefined> = new Array(SHAPE_SLOTS).fill(undefined);
const utf8 = new TextEncoder();

/** The shape of `h` (which has no remark and no extFields), made on first use. */
export function shapeOf(h: HeaderFields): JsonHeaderShape {
  const slot =
    ((h.code | 0) * 31 + (h.flag | 0) * 7 + (h.language | 0) * 3 + (h.version | 0)) & (SHAPE_SLOTS - 1);
  const cached = shapes[slot];
  if (
    cached !== undefined &&
    cached.code === h.code &&
    cached.flag === h.flag &&
    cached.language === h.language &&
    cached.version === h.version
  ) {
    return cached;
  }
  // The text jsonHeaderText writes, cut at the opaque: the tests compare the two for every shape.
  const shape: JsonHeaderShape = {
    code: h.code,
    flag: h.flag,
    language: h.language,
    version: h.version,
    beforeOpaque: new ByteTemplate(
      utf8.encode(
        `{"code":${h.code | 0},"flag":${h.flag | 0},"language":"${languageName(h.language)}","opaque":`,
      ),
    ),
    afterOpaque: new ByteTemplate(
      utf8.encode(`,"serializeTypeCurrentRPC":"JSON","version":${h.version | 0}}`),
    ),
  };
  shapes[slot] = shape;
  return shape;
}

/**
 * Shapes recently decoded, most recent first. Only a header that decoded to
 * exactly its shape's fields (the scanner's own result) puts its shape here,
 * so a header recognised by one decodes as the scanner would decode it.
 */
const DECODED_SHAPES = 4;
const decodedShapes: JsonHeaderShape[] = [];

/**
 * Decodes bytes `[start, end)` into `into` when they are one of the shapes
 * seen recently: the same bytes before the opaque and after it, and between
 * them an integer the scanner would read. False (nothing written) otherwise.
 */
export function readShapedHeader(bytes: Buffer, start: number, end: number, into: HeaderFields): boolean {
  for (let i = 0; i < decodedShapes.length; i++) {
    const shape = decodedShapes[i] as JsonHeaderShape;
    const before = shape.beforeOpaque;
    const digitsEnd = end - shape.afterOpaque.length;
    if (digitsEnd - start <= before.length || !before.matchesAt(bytes, start)) continue;
    const opaque = scanJsonInteger(bytes, start + before.length, digitsEnd);
    if (scannedIntegerEnd() !== digitsEnd || !shape.afterOpaque.matchesAt(bytes, digitsEnd)) continue;
    if (i > 0) {
      decodedShapes[i] = decodedShapes[0] as JsonHeaderShape;
      decodedShapes[0] = shape;
    }
    into.code = shape.code;
    into.language = shape.language;
    into.version = shape.version;
    into.opaque = opaque;
    into.flag = shape.flag;
    into.remark = null;
    into.extFields = null;
    return true;
  }
  return false;
}

/**
 * After the scanner decoded bytes `[start, end)` to `h`: if those bytes are
 * exactly `h`'s shape around its opaque, remembers the shape for the headers
 * that follow.
 */
export function rememberDecodedShape(h: HeaderFields, bytes: Buffer, start: number, end: number): void {
  if (h.remark !== null || h.extFields !== null) return;
  const shape = shapeOf(h);
  if (decodedShapes.includes(shape)) return;
  const before = shape.beforeOpaque;
  const digitsEnd = end - shape.afterOpaque.length;
  if (digitsEnd - start <= before.length || !before.matchesAt(bytes, start)) return;
  if (scanJsonInteger(bytes, start + before.length, digitsEnd) !== h.opaque) return;
  if (scannedIntegerEnd() !== digitsEnd || !shape.afterOpaque.matchesAt(bytes, digitsEnd)) return;
  decodedShapes.unshift(shape);
  if (decodedShapes.length > DECODED_SHAPES) decodedShapes.pop();
}
