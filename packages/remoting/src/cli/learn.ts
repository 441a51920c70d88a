/**
 * `pnpm learn`: the async-to-sync lesson as a narrated trace. Real calls to a
 * real server in a child process; each step printed as it happens, with the
 * values seen and the file and function doing it. The walkthrough that
 * explains it: docs/async-to-sync.md.
 */
import { RemotingClient, RemotingCommand } from '../index.js';
import { EchoServerCode } from './echo-server.js';
import { CallWatcher, SocketWatcher } from './learn/observers.js';
import type { Section, TracedStep } from './learn/steps.js';
import { runTrace } from './learn/trace.js';
import { type EchoServerProcess, spawnEchoServer } from './spawn-echo-server.js';
import { parseCommandLine } from './usage.js';

const USAGE = `usage: npx -y pnpm@10 learn [--json] [--help]
  Traces how a "sync" call works, step by step, against an echo server in a
  child process: one sync call (opaque, response table, write, latch, response,
  lookup by opaque), one timeout (the deadline wheel; the late answer dropped),
  async permits running out, a oneway call, and a BlockingRemotingClient call
  that parks the calling thread. Each step names the file and function doing it.
  --json  one JSON object per step instead of text (what the tests read)`;

const parsed = parseCommandLine('learn', USAGE, {
  args: process.argv.slice(2),
  options: { json: { type: 'boolean' } },
});
// `pnpm learn | head` closes the pipe early: stop quietly instead of crashing on EPIPE.
process.stdout.on('error', (error: NodeJS.ErrnoException) => {
  if (error.code === 'EPIPE') process.exit(0);
  throw error;
});

const out = (line = '') => process.stdout.write(`${line}\n`);
const WIDTH = 100;

/** Breaks `text` into lines of at most WIDTH columns, each starting with `indent`. */
function wrap(text: string, indent: string): string[] {
  const lines: string[] = [];
  let line = indent;
  for (const word of text.split(' ')) {
    if (line.length + word.length + 1 > WIDTH && line.trim() !== '') {
      lines.push(line.trimEnd());
      line = indent;
    }
    line += `${word} `;
  }
  if (line.trim() !== '') lines.push(line.trimEnd());
  return lines;
}

function printStep(step: TracedStep): void {
  const time = `+${step.atMs.toFixed(3)}`.padStart(10);
  const [first, ...rest] = wrap(step.text, ' '.repeat(13));
  out(`${time}   ${(first ?? '').trimStart()}`);
  for (const line of rest) out(line);
  out(`${' '.repeat(13)}at ${step.where.file} ${step.where.fn} · seen: ${step.seenBy}`);
}

let sectionNumber = 0;
function printSection(_section: Section, title: string, lines: string[]): void {
  sectionNumber += 1;
  out();
  out(`${sectionNumber}. ${title}`);
  for (const line of lines) for (const wrapped of wrap(line, '   ')) out(wrapped);
  out();
}

async function main(json: boolean): Promise<void> {
  const began = performance.now();
  const calls = new CallWatcher();
  const sockets = new SocketWatcher();
  let server: EchoServerProcess | null = null;
  const client = new RemotingClient({ closeSocketIfTimeout: false });
  try {
    server = await spawnEchoServer();
    // The first call opens the connection; the trace follows calls on an open one.
    await client.invokeSync(server.address, RemotingCommand.createRequest(EchoServerCode.ECHO), 10_000);
    const socket = sockets.socket(sockets.lastLocalAddress);
    if (!json) {
      out('remoting-ts: the async-to-sync lesson, traced as it happens');
      for (const line of [
        `An echo server runs in a child process (pid ${server.child.pid}) on ${server.address}; this process ` +
          'is its client. Times are milliseconds since each section began. "at" names the file (under ' +
          'packages/remoting/src) and the function that does the step; "seen" says how this trace saw it: a ' +
          'diagnostics channel, stats(), the socket, the stack of a subscriber, the caller itself, or "same ' +
          'run" for a step that happens inside the one before it, with nothing to see on its own.',
        'The walkthrough that explains it beside RocketMQ: packages/remoting/docs/async-to-sync.md',
      ]) {
        out();
        for (const wrapped of wrap(line, '')) out(wrapped);
      }
    }
    await runTrace({
      address: server.address,
      client,
      socket,
      calls,
      steps: json ? (step) => out(JSON.stringify(step)) : printStep,
      sections: json ? () => {} : printSection,
    });
    if (!json) {
      out();
      out(`Traced in ${((performance.now() - began) / 1000).toFixed(1)} s.`);
    }
  } finally {
    calls.close();
    sockets.close();
    await client.shutdown();
    await server?.stop();
  }
}

if (parsed !== null) {
  main(parsed.values.json === true).catch((error: unknown) => {
    console.error(`learn: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}`);
    process.exitCode = 1;
  });
}
