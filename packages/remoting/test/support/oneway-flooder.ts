/**
 * A child process for oneway-flood.test.ts: sends oneway requests with a
 * 16 KiB body to ADDRESS as fast as the client lets it until its stdin ends
 * (the test has seen what it waited for) or MAX_MS passes (a guard against a
 * test that never ends it), then prints one JSON line with what it managed
 * and exits.
 *
 * usage: node test/support/oneway-flooder.ts ADDRESS CODE MAX_MS  (bundled, see child-bundles.ts)
 */
import { RemotingClient, RemotingCommand } from '../../src/index.js';

const [address, codeText, maxText] = process.argv.slice(2);
if (address === undefined || codeText === undefined || maxText === undefined) {
  console.error('usage: oneway-flooder.ts ADDRESS CODE MAX_MS');
  process.exit(2);
}
const target: string = address;
const code = Number(codeText);
const maxMs = Number(maxText);
const BODY = Buffer.alloc(16 * 1024, 0x5a);
/** Independent send loops: each waits only for its own call to be queued, as separate producers would. */
const LOOPS = 16;

const client = new RemotingClient();
let sent = 0;
let failed = 0;
let firstError: string | null = null;
// Connect before the clock starts, so the flood is all sending.
await client.invokeOneway(target, RemotingCommand.createRequest(code).setBody(BODY), 5000);
sent += 1;
console.log('flooding');
const started = performance.now();
const deadline = started + maxMs;
let stopped = false;
process.stdin.resume();
process.stdin.once('end', () => {
  stopped = true;
});

async function loop(): Promise<void> {
  while (!stopped && performance.now() < deadline) {
    try {
      await client.invokeOneway(target, RemotingCommand.createRequest(code).setBody(BODY), 5000);
      sent += 1;
    } catch (error) {
      failed += 1;
      firstError ??= String(error);
    }
  }
}

await Promise.all(Array.from({ length: LOOPS }, loop));
const elapsedMs = performance.now() - started;
process.stdin.pause();
await client.shutdown();
console.log(JSON.stringify({ sent, failed, firstError, elapsedMs, bodyBytes: BODY.length }));
