/**
 * A key-value store served over remoting-ts.
 *
 *   npx -y pnpm@10 exec tsx examples/kv-server.ts [PORT]     (from packages/remoting)
 *
 * What it shows: a controller whose methods are processors (`@RequestMapping`),
 * custom headers decoded with type conversion (`@HeaderField`), a separate
 * executor per request code (PUT one at a time, GET up to 16 at once, each with
 * a bounded queue: past it the caller gets SYSTEM_BUSY), and a oneway audit
 * log the client does not wait for. Stops on SIGINT / SIGTERM.
 */
import {
  RemotingCommand,
  RemotingServer,
  type RequestContext,
  RequestMapping,
  ResponseCode,
} from '@remoting-ts/remoting';
import { GetHeader, KEY_NOT_FOUND, KvCode, PutHeader, VersionHeader } from './kv-protocol.js';

interface Entry {
  value: Buffer;
  version: bigint;
  expiresAt: number | null;
}

class KvController {
  private readonly entries = new Map<string, Entry>();
  readonly auditLog: string[] = [];

  // Writes run one at a time, so the version check and the write cannot interleave.
  @RequestMapping(KvCode.PUT, { concurrency: 1, queueCapacity: 1000 })
  put(_ctx: RequestContext, request: RemotingCommand): RemotingCommand {
    const header = request.decodeCustomHeader(PutHeader);
    const current = this.live(header.key);
    const currentVersion = current?.version ?? 0n;
    if (header.expectedVersion !== undefined && header.expectedVersion !== currentVersion) {
      return RemotingCommand.createResponse(
        ResponseCode.SYSTEM_ERROR,
        `version conflict on ${header.key}: expected ${header.expectedVersion}, stored ${currentVersion}`,
      );
    }
    const version = currentVersion + 1n;
    const expiresAt = header.ttlSeconds === undefined ? null : Date.now() + header.ttlSeconds * 1000;
    this.entries.set(header.key, { value: request.body ?? Buffer.alloc(0), version, expiresAt });
    return RemotingCommand.createResponse(ResponseCode.SUCCESS).writeCustomHeader(
      Object.assign(new VersionHeader(), { version }),
    );
  }

  // Reads may overlap; an async processor is fine, the executor bounds how many run.
  @RequestMapping(KvCode.GET, { concurrency: 16, queueCapacity: 1000 })
  async get(_ctx: RequestContext, request: RemotingCommand): Promise<RemotingCommand> {
    const { key } = request.decodeCustomHeader(GetHeader);
    const entry = this.live(key);
    if (entry === undefined) return RemotingCommand.createResponse(KEY_NOT_FOUND, `no key ${key}`);
    return RemotingCommand.createResponse(ResponseCode.SUCCESS)
      .writeCustomHeader(Object.assign(new VersionHeader(), { version: entry.version }))
      .setBody(entry.value);
  }

  // Oneway: whatever this returns is never sent.
  @RequestMapping(KvCode.AUDIT, { concurrency: 1, queueCapacity: 10_000 })
  audit(ctx: RequestContext, request: RemotingCommand): null {
    this.auditLog.push(`${new Date().toISOString()} ${ctx.remoteAddress} ${request.body?.toString('utf8')}`);
    console.log(`audit: ${request.body?.toString('utf8')}`);
    return null;
  }

  private live(key: string): Entry | undefined {
    const entry = this.entries.get(key);
    if (entry?.expiresAt != null && entry.expiresAt <= Date.now()) {
      this.entries.delete(key);
      return undefined;
    }
    return entry;
  }
}

/** Starts the store on 127.0.0.1:`port` (0 = any free port). */
async function startKvServer(port = 0): Promise<{ server: RemotingServer; address: string }> {
  const server = new RemotingServer({ host: '127.0.0.1', port });
  server.registerController(new KvController());
  server.on('exception', (remote, _channel, error) =>
    console.error(`error from ${remote}: ${error.message}`),
  );
  await server.start();
  return { server, address: `127.0.0.1:${server.address().port}` };
}

const { server, address } = await startKvServer(Number(process.argv[2] ?? 0));
console.log(`kv-server listening on ${address}`);
const stop = () => void server.shutdown({ graceMs: 1000 }).then(() => console.log('kv-server stopped'));
process.once('SIGINT', stop);
process.once('SIGTERM', stop);
