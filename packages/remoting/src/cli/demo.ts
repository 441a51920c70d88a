import { RemotingClient } from '../client.js';
import { RemotingError } from '../protocol/errors.js';
import { RemotingCommand } from '../protocol/remoting-command.js';
import { EchoServerCode } from './echo-server.js';
import { spawnEchoServer } from './spawn-echo-server.js';
import { parseCommandLine } from './usage.js';

/**
 * `pnpm demo` (until the broker demo takes over): an echo server in a child
 * process, and one client showing each kind of call and each kind of failure,
 * with the figures it measured.
 */

const say = (text = '') => console.log(text);
const heading = (text: string) => say(`\n== ${text}`);

function request(code: number, body?: string): RemotingCommand {
  const cmd = RemotingCommand.createRequest(code);
  if (body !== undefined) cmd.setBody(body);
  return cmd;
}

async function describeFailure(promise: Promise<unknown>): Promise<string> {
  try {
    await promise;
    return 'no error (unexpected)';
  } catch (error) {
    return error instanceof RemotingError
      ? `${error.name} [${error.code}]\n   ${error.message}`
      : String(error);
  }
}

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)] as number;
}

async function main(): Promise<void> {
  say('remoting-ts: RocketMQ-compatible remoting for Node.js');
  let server = await spawnEchoServer();
  say(`echo server started in a child process (pid ${server.child.pid}) on ${server.address}`);
  const address = server.address;
  const client = new RemotingClient({
    responseTableScan: { initialDelayMs: 200, intervalMs: 200, graceMs: 100 },
  });
  try {
    heading('sync: one call in flight, the caller awaits its response');
    const echoed = await client.invokeSync(
      address,
      request(EchoServerCode.ECHO, 'hello').addExtField('topic', 'TopicTest'),
      3000,
    );
    say(
      `   response code ${echoed.code}, body "${echoed.body?.toString()}", extFields topic=${echoed.getExtField('topic')}`,
    );
    const latencies: number[] = [];
    for (let i = 0; i < 2000; i++) {
      const started = performance.now();
      await client.invokeSync(address, request(EchoServerCode.ECHO, 'x'.repeat(128)), 3000);
      latencies.push((performance.now() - started) * 1000);
    }
    latencies.sort((a, b) => a - b);
    say(
      `   2000 sync calls, 128 B body: p50 ${median(latencies).toFixed(0)} µs, p99 ${(latencies[Math.floor(latencies.length * 0.99)] as number).toFixed(0)} µs`,
    );

    heading('async: 256 calls in flight on one connection, matched by opaque');
    const total = 50_000;
    const asyncStarted = performance.now();
    await new Promise<void>((resolve, reject) => {
      let sent = 0;
      let done = 0;
      const fire = () => {
        sent += 1;
        client.invokeAsync(address, request(EchoServerCode.ECHO, 'x'.repeat(128)), 5000, (error) => {
          if (error) return reject(error);
          done += 1;
          if (sent < total) fire();
          else if (done === total) resolve();
        });
      };
      for (let i = 0; i < 256; i++) fire();
    });
    const asyncSeconds = (performance.now() - asyncStarted) / 1000;
    say(
      `   ${total} async calls in ${asyncSeconds.toFixed(2)} s: ${Math.round(total / asyncSeconds)} calls/s`,
    );

    heading('oneway: no response; the promise resolves once the request is queued');
    const onewayStarted = performance.now();
    for (let i = 0; i < 20_000; i++)
      await client.invokeOneway(address, request(EchoServerCode.ECHO, 'x'.repeat(128)), 3000);
    const onewaySeconds = (performance.now() - onewayStarted) / 1000;
    say(
      `   20000 oneway requests queued in ${onewaySeconds.toFixed(2)} s: ${Math.round(20_000 / onewaySeconds)} msgs/s`,
    );

    heading('timeout: the server sleeps 500 ms, the caller waits 100 ms');
    say(
      `   ${await describeFailure(client.invokeSync(address, request(EchoServerCode.SLEEP).addExtField('sleepMs', '500'), 100))}`,
    );

    heading('unsupported code: nobody handles code 999');
    const unsupported = await client.invokeSync(address, request(999), 3000);
    say(`   response code ${unsupported.code} (REQUEST_CODE_NOT_SUPPORTED), remark "${unsupported.remark}"`);

    heading('a processor that throws: SYSTEM_ERROR with its message; the connection stays up');
    const failed = await client.invokeSync(
      address,
      request(EchoServerCode.FAIL).addExtField('message', 'disk on fire'),
      3000,
    );
    say(`   response code ${failed.code} (SYSTEM_ERROR), remark "${failed.remark}"`);
    const after = await client.invokeSync(address, request(EchoServerCode.ECHO, 'still here'), 3000);
    say(`   next call on the same connection: code ${after.code}, body "${after.body?.toString()}"`);

    heading('permit exhaustion: a client allowing 4 async calls in flight makes a 5th');
    const small = new RemotingClient({ permitsAsync: 4 });
    const slow = Array.from({ length: 4 }, () =>
      small.invokeAsync(address, request(EchoServerCode.SLEEP).addExtField('sleepMs', '400'), 3000),
    );
    say(`   ${await describeFailure(small.invokeAsync(address, request(EchoServerCode.ECHO), 100))}`);
    await Promise.all(slow);
    say(`   after the 4 slow calls: ${JSON.stringify(small.stats().asyncPermits)}`);
    await small.shutdown();

    heading('the server dies mid-call: pending calls fail at once, not at their timeout');
    const started = performance.now();
    const pending = client.invokeSync(
      address,
      request(EchoServerCode.SLEEP).addExtField('sleepMs', '5000'),
      10_000,
    );
    setTimeout(() => server.child.kill('SIGKILL'), 200);
    say(`   ${await describeFailure(pending)}`);
    say(`   failed after ${(performance.now() - started).toFixed(0)} ms of a 10000 ms timeout`);
    await server.stop();

    heading('reconnect: a new server, the same client');
    server = await spawnEchoServer();
    const again = await client.invokeSync(server.address, request(EchoServerCode.ECHO, 'back again'), 3000);
    say(`   code ${again.code}, body "${again.body?.toString()}" from ${server.address}`);
    say(`\nclient state at the end: ${JSON.stringify(client.stats())}`);
  } finally {
    await client.shutdown();
    await server.stop();
  }
}

const USAGE = `usage: npx -y pnpm@10 remoting-demo [--help]
  Starts an echo server in a child process and shows, with one client, each
  kind of call (sync, async, oneway) and each kind of failure, with the times
  it measured. Takes no options.`;

if (parseCommandLine('remoting-demo', USAGE, { args: process.argv.slice(2), options: {} }) !== null) {
  main().catch((error: unknown) => {
    console.error(`remoting-demo: ${error instanceof Error ? error.message : String(error)}`);
    process.exitCode = 1;
  });
}
