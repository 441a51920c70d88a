/**
 * The key-value store's protocol, shared by kv-server.ts and kv-client.ts:
 * request codes and the custom headers that travel in extFields.
 */
import { HeaderField } from '@remoting-ts/remoting';

/** Request codes of the store (a real service would pick its own numbers). */
export const KvCode = {
  PUT: 100,
  GET: 101,
  /** Oneway: the client does not wait; the server appends it to its audit log. */
  AUDIT: 102,
} as const;

/** Response code of a GET for a key the store does not hold (beyond RocketMQ's system codes 0..4). */
export const KEY_NOT_FOUND = 404;

/** The header of PUT: which key, and the version the writer expects (optimistic locking). */
export class PutHeader {
  @HeaderField({ type: 'string', required: true })
  key!: string;

  /** Write only if the stored version equals this; absent = unconditional. 64-bit, so a bigint. */
  @HeaderField({ type: 'long', name: 'expectedVersion' })
  expectedVersion?: bigint;

  /** Seconds until the entry expires; absent = never. */
  @HeaderField({ type: 'int' })
  ttlSeconds?: number;
}

/** The header of a PUT or GET response: the entry's version after the call. */
export class VersionHeader {
  @HeaderField({ type: 'long', required: true })
  version!: bigint;
}

/** The header of GET. */
export class GetHeader {
  @HeaderField({ type: 'string', required: true })
  key!: string;
}
