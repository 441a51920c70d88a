/**
 * The produce request body: records as the producer sends them, before the
 * leader turns them into a log batch. Binary, because this is the volume path:
 * int32 count, then per record int64 timestamp, int32 key length (-1 = null),
 * key bytes, int32 value length, value bytes.
 */

export interface ProducerRecord {
  key: Buffer | null;
  value: Buffer;
  timestamp: number;
}

export function encodeRecords(records: readonly ProducerRecord[]): Buffer {
  let size = 4;
  for (const r of records) size += 8 + 4 + (r.key?.length ?? 0) + 4 + r.value.length;
  const out = Buffer.allocUnsafe(size);
  let pos = out.writeInt32BE(records.length, 0);
  for (const r of records) {
    pos = out.writeBigInt64BE(BigInt(r.timestamp), pos);
    if (r.key === null) pos = out.writeInt32BE(-1, pos);
    else {
      pos = out.writeInt32BE(r.key.length, pos);
      pos += r.key.copy(out, pos);
    }
    pos = out.writeInt32BE(r.value.length, pos);
    pos += r.value.copy(out, pos);
  }
  return out;
}

export class RecordsFormatError extends Error {
  readonly code = 'RECORDS_FORMAT';
  constructor(message: string) {
    super(message);
    this.name = 'RecordsFormatError';
  }
}

/** Decodes a produce body. Keys and values are views of `body`, not copies. */
export function decodeRecords(body: Buffer): ProducerRecord[] {
  const need = (pos: number, n: number) => {
    if (pos + n > body.length) {
      throw new RecordsFormatError(`records body truncated: need ${n} bytes at ${pos}, have ${body.length}`);
    }
  };
  need(0, 4);
  const count = body.readInt32BE(0);
  if (count < 0) throw new RecordsFormatError(`negative record count ${count}`);
  const records: ProducerRecord[] = [];
  let pos = 4;
  for (let i = 0; i < count; i++) {
    need(pos, 12);
    const timestamp = Number(body.readBigInt64BE(pos));
    const keyLength = body.readInt32BE(pos + 8);
    pos += 12;
    let key: Buffer | null = null;
    if (keyLength >= 0) {
      need(pos, keyLength);
      key = body.subarray(pos, pos + keyLength);
      pos += keyLength;
    }
    need(pos, 4);
    const valueLength = body.readInt32BE(pos);
    pos += 4;
    if (valueLength < 0) throw new RecordsFormatError(`negative value length ${valueLength}`);
    need(pos, valueLength);
    const value = body.subarray(pos, pos + valueLength);
    pos += valueLength;
    records.push({ key, value, timestamp });
  }
  if (pos !== body.length) throw new RecordsFormatError(`${body.length - pos} bytes after the last record`);
  return records;
}
