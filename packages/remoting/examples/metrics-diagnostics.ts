/**
 * Metrics for a remoting-ts server and client in Prometheus' text format, fed
 * by the framework's diagnostics channels plus an RPC hook: no dependency and
 * no change to the code that makes or serves calls.
 *
 * Run it: `npx -y pnpm@10 exec tsx examples/metrics-diagnostics.ts` (from packages/remoting).
 * It starts a server and a client on loopback, makes a few calls (answered,
 * unsupported, timed out, aborted, oneway) and prints the metrics.
 *
 * In an application, create one `RemotingMetrics`, call `start()` once, add
 * `metrics.hook` with `registerRPCHook`, and serve `metrics.render()` on
 * `/metrics`. The same messages map onto OpenTelemetry: a call's start/end
 * pair is a span (`durationMs`, `requestCode`, `remoteAddress` as attributes),
 * the counters and histograms are OTel counters and histograms.
 */
import diagnosticsChannel from 'node:diagnostics_channel';
import { pathToFileURL } from 'node:url';
import {
  type CallEndMessage,
  type CallErrorMessage,
  type ChannelErrorMessage,
  type ChannelMessage,
  diagnosticsChannels,
  RemotingClient,
  RemotingCommand,
  RemotingServer,
  type RequestEndMessage,
  type RequestErrorMessage,
  ResponseCode,
  type RPCHook,
} from '../src/index.js';

/** Histogram bucket bounds in seconds (Prometheus' default buckets). */
const BUCKETS_S = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10];

type Labels = Record<string, string | number>;

function labelText(labels: Labels): string {
  const parts = Object.entries(labels).map(([k, v]) => `${k}="${String(v).replace(/["\\\n]/g, '\\$&')}"`);
  return parts.length === 0 ? '' : `{${parts.join(',')}}`;
}

/** A labelled counter family. */
class Counter {
  private readonly values = new Map<string, number>();
  constructor(
    readonly name: string,
    readonly help: string,
  ) {}

  inc(labels: Labels, by = 1): void {
    const key = labelText(labels);
    this.values.set(key, (this.values.get(key) ?? 0) + by);
  }

  render(): string[] {
    const lines = [`# HELP ${this.name} ${this.help}`, `# TYPE ${this.name} counter`];
    for (const [labels, value] of this.values) lines.push(`${this.name}${labels} ${value}`);
    return lines;
  }
}

/** A labelled histogram family with cumulative buckets, as Prometheus expects. */
class Histogram {
  private readonly series = new Map<
    string,
    { labels: Labels; buckets: number[]; sum: number; count: number }
  >();
  constructor(
    readonly name: string,
    readonly help: string,
  ) {}

  observe(labels: Labels, seconds: number): void {
    const key = labelText(labels);
    let s = this.series.get(key);
    if (s === undefined) {
      s = { labels, buckets: BUCKETS_S.map(() => 0), sum: 0, count: 0 };
      this.series.set(key, s);
    }
    for (let i = 0; i < BUCKETS_S.length; i++)
      if (seconds <= (BUCKETS_S[i] as number)) s.buckets[i] = (s.buckets[i] ?? 0) + 1;
    s.sum += seconds;
    s.count += 1;
  }

  render(): string[] {
    const lines = [`# HELP ${this.name} ${this.help}`, `# TYPE ${this.name} histogram`];
    for (const s of this.series.values()) {
      BUCKETS_S.forEach((le, i) => {
        lines.push(`${this.name}_bucket${labelText({ ...s.labels, le })} ${s.buckets[i]}`);
      });
      lines.push(`${this.name}_bucket${labelText({ ...s.labels, le: '+Inf' })} ${s.count}`);
      lines.push(`${this.name}_sum${labelText(s.labels)} ${s.sum}`);
      lines.push(`${this.name}_count${labelText(s.labels)} ${s.count}`);
    }
    return lines;
  }
}

/** Turns the framework's diagnostics messages into Prometheus metrics. */
export class RemotingMetrics {
  readonly calls = new Counter(
    'remoting_calls_total',
    'Calls made, by side, mode, request code and outcome.',
  );
  readonly callSeconds = new Histogram(
    'remoting_call_duration_seconds',
    'Call latency, by side and request code.',
  );
  readonly requests = new Counter(
    'remoting_requests_total',
    'Requests served, by side, request code and response code (or "error" when the processor threw).',
  );
  readonly requestSeconds = new Histogram(
    'remoting_request_duration_seconds',
    'Processing time of served requests, by side and request code.',
  );
  readonly connections = new Counter(
    'remoting_connection_events_total',
    'Connections opened, closed and broken.',
  );
  readonly requestBodyBytes = new Counter(
    'remoting_request_body_bytes_total',
    'Body bytes of calls made (RPC hook).',
  );

  /** An RPC hook for `registerRPCHook`: counts the body bytes of every call made. */
  readonly hook: RPCHook = {
    doBeforeRequest: (_remote, request) => {
      if (!request.isResponse()) this.requestBodyBytes.inc({ code: request.code }, request.body?.length ?? 0);
    },
  };

  private readonly subscriptions: Array<[string, (message: unknown) => void]> = [
    [
      diagnosticsChannels.callEnd.name as string,
      (m) => {
        const { side, mode, requestCode, durationMs, response } = m as CallEndMessage;
        this.calls.inc({
          side,
          mode,
          code: requestCode,
          outcome: response === null ? 'sent' : response.code,
        });
        this.callSeconds.observe({ side, code: requestCode }, durationMs / 1000);
      },
    ],
    [
      diagnosticsChannels.callError.name as string,
      (m) => {
        const { side, mode, requestCode, durationMs, error } = m as CallErrorMessage;
        const outcome = (error as { code?: string }).code ?? 'error';
        this.calls.inc({ side, mode, code: requestCode, outcome });
        this.callSeconds.observe({ side, code: requestCode }, durationMs / 1000);
      },
    ],
    [
      diagnosticsChannels.requestEnd.name as string,
      (m) => {
        const { side, request, response, durationMs } = m as RequestEndMessage;
        this.requests.inc({ side, code: request.code, response_code: response?.code ?? 'none' });
        this.requestSeconds.observe({ side, code: request.code }, durationMs / 1000);
      },
    ],
    [
      diagnosticsChannels.requestError.name as string,
      (m) => {
        const { side, request, durationMs } = m as RequestErrorMessage;
        this.requests.inc({ side, code: request.code, response_code: 'error' });
        this.requestSeconds.observe({ side, code: request.code }, durationMs / 1000);
      },
    ],
    [
      diagnosticsChannels.channelConnect.name as string,
      (m) => this.connections.inc({ side: (m as ChannelMessage).side, event: 'connect' }),
    ],
    [
      diagnosticsChannels.channelClose.name as string,
      (m) => this.connections.inc({ side: (m as ChannelMessage).side, event: 'close' }),
    ],
    [
      diagnosticsChannels.channelProtocolError.name as string,
      (m) => this.connections.inc({ side: (m as ChannelErrorMessage).side, event: 'protocol_error' }),
    ],
  ];

  start(): void {
    for (const [name, listener] of this.subscriptions) diagnosticsChannel.subscribe(name, listener);
  }

  stop(): void {
    for (const [name, listener] of this.subscriptions) diagnosticsChannel.unsubscribe(name, listener);
  }

  /** The metrics in Prometheus' text exposition format. */
  render(): string {
    const families = [
      this.calls,
      this.callSeconds,
      this.requests,
      this.requestSeconds,
      this.connections,
      this.requestBodyBytes,
    ];
    return `${families.flatMap((f) => f.render()).join('\n')}\n`;
  }
}

async function main(): Promise<void> {
  const metrics = new RemotingMetrics();
  metrics.start();
  const server = new RemotingServer({ host: '127.0.0.1', port: 0 });
  server.registerProcessor(1, {
    processRequest: (_ctx, request) =>
      RemotingCommand.createResponse(ResponseCode.SUCCESS).setBody(request.body),
  });
  // Two slow requests below; once both have been served, the metrics are complete.
  let slowServed = 0;
  let bothSlowServed = () => {};
  const slowRequestsServed = new Promise<void>((resolve) => {
    bothSlowServed = resolve;
  });
  server.registerProcessor(2, {
    processRequest: async () => {
      await new Promise((resolve) => setTimeout(resolve, 300));
      if (++slowServed === 2) setImmediate(bothSlowServed);
      return RemotingCommand.createResponse(ResponseCode.SUCCESS);
    },
  });
  await server.start();
  const address = `127.0.0.1:${server.address().port}`;
  const client = new RemotingClient();
  client.registerRPCHook(metrics.hook);
  try {
    for (let i = 0; i < 5; i++)
      await client.invokeSync(address, RemotingCommand.createRequest(1).setBody('hello'), 3000);
    await client.invokeAsync(address, RemotingCommand.createRequest(1).setBody('async'), 3000);
    await client.invokeOneway(address, RemotingCommand.createRequest(1).setBody('oneway'), 3000);
    await client.invokeSync(address, RemotingCommand.createRequest(99), 3000);
    await client.invokeAsync(address, RemotingCommand.createRequest(2), 50).catch(() => {});
    await client
      .invokeSync(address, RemotingCommand.createRequest(2), 3000, { signal: AbortSignal.timeout(20) })
      .catch(() => {});
    // The client gave up on both slow calls; the server still serves them (a timeout or an
    // abort does not stop the server's work), and their processing time is counted once done.
    await slowRequestsServed;
  } finally {
    await client.shutdown();
    await server.shutdown({ graceMs: 1000 });
    metrics.stop();
  }
  process.stdout.write(metrics.render());
}

if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href) {
  await main();
}
