import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Mutex } from 'async-mutex';
import { parseAcks } from '../protocol/codes.js';
import { sleep } from '../util/time.js';
import { ClusterSampler, type ViewedCluster } from './cluster-sampler.js';
import { checkControlRequest, checkHost, type GuardOrigin } from './request-guard.js';
import { TimelineDetector, type TimelineEntry } from './timeline.js';
import type { ClusterViewSnapshot, TimelineEvent } from './view-model.js';
import { ViewProducer } from './view-producer.js';

/** One snapshot per this many ms at most: about 10 updates/s. */
const MIN_UPDATE_INTERVAL_MS = 100;
/** Comment lines keep idle SSE connections from being closed by anything in between. */
const KEEPALIVE_MS = 15_000;
const MAX_TIMELINE = 300;
const MAX_BODY_BYTES = 1024;
const SIGNALS = ['SIGSTOP', 'SIGCONT', 'SIGKILL'] as const;
type ControlSignal = (typeof SIGNALS)[number];

const ASSETS: Record<string, { file: string; type: string }> = {
  '/view.js': { file: 'view.js', type: 'text/javascript; charset=utf-8' },
  '/view.css': { file: 'view.css', type: 'text/css; charset=utf-8' },
};

/** A 4xx answer raised while handling a control request; nothing has changed when it is thrown. */
class ControlRefused extends Error {
  constructor(
    readonly status: number,
    message: string,
  ) {
    super(message);
  }
}

export interface ViewServerOptions {
  /** The topic the page's producer writes to. */
  producerTopic?: string;
}

/**
 * The live cluster view: an HTTP server on 127.0.0.1 (a port from the OS)
 * serving one page, a Server-Sent Events stream of snapshots and controller
 * events, and the page's controls. While at least one page is connected it
 * samples the cluster at most 10 times a second; with none, it asks the
 * brokers nothing.
 *
 * Controls act only through the cluster's own ChildProcess handles, and only
 * for a POST from the page's own origin carrying the token embedded in it.
 */
export class ViewServer {
  private readonly server: Server;
  private readonly token = randomBytes(24).toString('base64url');
  private guard: GuardOrigin | null = null;
  private cluster: ViewedCluster | null = null;
  private label: string | null = null;
  private sampler: ClusterSampler | null = null;
  private detector = new TimelineDetector();
  private producer: ViewProducer | null = null;
  private readonly clients = new Set<ServerResponse>();
  /**
   * Controls run one at a time: a double-clicked restart must find the first
   * one's broker running, not spawn a second process for the same broker id.
   */
  private readonly controls = new Mutex();
  private readonly timeline: TimelineEvent[] = [];
  private nextEventId = 1;
  private seq = 0;
  private latest: ClusterViewSnapshot | null = null;
  private sampling: Promise<void> | null = null;
  private closed = false;
  private readonly producerTopic: string;
  /** Snapshots sent to pages since start (for measuring the update rate). */
  snapshotsSent = 0;

  constructor(options: ViewServerOptions = {}) {
    this.producerTopic = options.producerTopic ?? 'view';
    this.server = createServer((req, res) => {
      this.route(req, res).catch((err: unknown) => {
        if (!res.headersSent)
          this.send(res, 500, { error: err instanceof Error ? err.message : String(err) });
        else res.destroy();
      });
    });
  }

  /** Listens on 127.0.0.1 only, on a port the OS picks; resolves with the page's URL. */
  async start(): Promise<string> {
    await new Promise<void>((resolve, reject) => {
      this.server.once('error', reject);
      this.server.listen(0, '127.0.0.1', () => {
        this.server.off('error', reject);
        resolve();
      });
    });
    const { port } = this.server.address() as AddressInfo;
    this.guard = { host: `127.0.0.1:${port}`, origin: `http://127.0.0.1:${port}`, token: this.token };
    return `${this.guard.origin}/`;
  }

  /** Shows `cluster` from now on (demo --watch attaches each scenario's cluster in turn). */
  async attach(cluster: ViewedCluster, label: string): Promise<void> {
    await this.detach();
    this.cluster = cluster;
    this.label = label;
    this.sampler = new ClusterSampler(cluster);
    this.detector = new TimelineDetector();
    this.producer = new ViewProducer(cluster.controllerAddress, this.producerTopic);
    this.record([{ atMs: Date.now(), kind: 'note', text: `watching ${label}` }]);
    this.wake();
  }

  /** Stops showing the current cluster (before it is stopped); its producer stops too. */
  async detach(): Promise<void> {
    const { sampler, producer } = this;
    this.cluster = null;
    this.sampler = null;
    this.producer = null;
    await this.sampling;
    await producer?.stop();
    await sampler?.close();
  }

  /** Resolves once a page is connected, or after `timeoutMs`. */
  async waitForViewer(timeoutMs: number): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (this.clients.size === 0 && Date.now() < deadline && !this.closed) await sleep(100);
  }

  /** Adds a line of narration to the timeline (the demo's scenario steps). */
  note(text: string): void {
    this.record([{ atMs: Date.now(), kind: 'note', text }]);
  }

  async close(): Promise<void> {
    this.closed = true;
    for (const res of this.clients) res.end();
    this.clients.clear();
    await this.detach();
    this.server.closeAllConnections();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }

  private async route(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const guard = this.guard!;
    const hostCheck = checkHost(req.headers, guard);
    if (!hostCheck.ok) return this.send(res, hostCheck.status, { error: hostCheck.reason });
    const url = new URL(req.url ?? '/', guard.origin);
    if (url.pathname.startsWith('/api/')) {
      if (req.method !== 'POST') {
        res.setHeader('Allow', 'POST');
        return this.send(res, 405, { error: 'controls take POST only' });
      }
      const verdict = checkControlRequest(req.headers, guard);
      if (!verdict.ok) {
        req.resume();
        return this.send(res, verdict.status, { error: verdict.reason });
      }
      try {
        const body = await readJsonBody(req);
        const result = await this.controls.runExclusive(() => this.control(url.pathname, body));
        return this.send(res, 200, { ok: true, ...result });
      } catch (err) {
        if (err instanceof ControlRefused) return this.send(res, err.status, { error: err.message });
        throw err;
      }
    }
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      res.setHeader('Allow', 'GET');
      return this.send(res, 405, { error: `${req.method} not allowed here` });
    }
    if (url.pathname === '/') return this.servePage(res);
    if (url.pathname === '/events') return this.openStream(req, res);
    if (url.pathname === '/favicon.ico') {
      res.writeHead(204, commonHeaders());
      return void res.end();
    }
    const asset = ASSETS[url.pathname];
    if (asset !== undefined) {
      res.writeHead(200, { 'content-type': asset.type, ...commonHeaders() });
      return void res.end(readAsset(asset.file));
    }
    this.send(res, 404, { error: `no ${url.pathname} here` });
  }

  private servePage(res: ServerResponse): void {
    const html = readAsset('index.html').toString('utf8').replace('__VIEW_TOKEN__', this.token);
    res.writeHead(200, {
      'content-type': 'text/html; charset=utf-8',
      'content-security-policy':
        "default-src 'none'; script-src 'self'; style-src 'self'; connect-src 'self'; img-src 'self' data:; " +
        "base-uri 'none'; form-action 'none'; frame-ancestors 'none'",
      'x-frame-options': 'DENY',
      ...commonHeaders(),
    });
    res.end(html);
  }

  private openStream(req: IncomingMessage, res: ServerResponse): void {
    res.writeHead(200, {
      'content-type': 'text/event-stream; charset=utf-8',
      connection: 'keep-alive',
      ...commonHeaders(),
    });
    res.write(`retry: 1000\nevent: timeline\ndata: ${JSON.stringify(this.timeline)}\n\n`);
    if (this.latest !== null) res.write(`event: snapshot\ndata: ${JSON.stringify(this.latest)}\n\n`);
    this.clients.add(res);
    const keepalive = setInterval(() => res.write(': keepalive\n\n'), KEEPALIVE_MS);
    req.on('close', () => {
      clearInterval(keepalive);
      this.clients.delete(res);
    });
    this.wake();
  }

  /** Starts the sampling loop if a page is watching and a cluster is attached. */
  private wake(): void {
    if (this.sampling !== null || this.closed) return;
    this.sampling = this.sampleWhileWatched().finally(() => {
      this.sampling = null;
    });
  }

  private async sampleWhileWatched(): Promise<void> {
    while (!this.closed && this.clients.size > 0 && this.sampler !== null) {
      const started = Date.now();
      const sampler = this.sampler;
      try {
        const sample = await sampler.sample();
        if (this.sampler !== sampler) continue;
        const snapshot: ClusterViewSnapshot = {
          ...sample,
          seq: ++this.seq,
          label: this.label,
          producer: this.producer!.view(),
        };
        this.record(this.detector.observe(snapshot));
        this.latest = snapshot;
        this.broadcast('snapshot', snapshot);
        this.snapshotsSent++;
      } catch {
        // A failed sample (controller unreachable) is retried on the next tick.
      }
      await sleep(Math.max(0, MIN_UPDATE_INTERVAL_MS - (Date.now() - started)));
    }
  }

  private record(entries: TimelineEntry[]): void {
    if (entries.length === 0) return;
    const events = entries.map((e) => ({ id: this.nextEventId++, ...e }));
    this.timeline.push(...events);
    // Replayed to a page that connects later in the order things happened (see TimelineEvent.atMs).
    this.timeline.sort((a, b) => a.atMs - b.atMs || a.id - b.id);
    if (this.timeline.length > MAX_TIMELINE) this.timeline.splice(0, this.timeline.length - MAX_TIMELINE);
    this.broadcast('timeline', events);
  }

  private broadcast(event: string, data: unknown): void {
    if (this.clients.size === 0) return;
    const frame = `event: ${event}\ndata: ${JSON.stringify(data)}\n\n`;
    for (const res of this.clients) res.write(frame);
  }

  private async control(pathname: string, body: unknown): Promise<Record<string, unknown>> {
    const cluster = this.cluster;
    const producer = this.producer;
    if (cluster === null || producer === null) throw new ControlRefused(409, 'no cluster is being shown');
    if (pathname === '/api/producer') return this.controlProducer(producer, body);
    const match = /^\/api\/brokers\/(\d{1,4})\/(signal|restart)$/.exec(pathname);
    if (match === null) throw new ControlRefused(404, `no control at ${pathname}`);
    const id = Number(match[1]);
    const info = cluster.processes().find((p) => p.role === 'broker' && p.brokerId === id);
    if (info === undefined) throw new ControlRefused(404, `this cluster has no broker ${id}`);
    if (match[2] === 'restart') {
      if (cluster.isRunning(id))
        throw new ControlRefused(409, `broker ${id} is running; restart starts only an exited broker`);
      const started = await cluster.startBroker(id);
      this.record([
        {
          atMs: Date.now(),
          kind: 'control',
          brokerId: id,
          text: `page: broker ${id} restarted (pid ${started.pid})`,
        },
      ]);
      return { brokerId: id, pid: started.pid };
    }
    const signal = field(body, 'signal');
    if (!SIGNALS.includes(signal as ControlSignal))
      throw new ControlRefused(
        400,
        `signal must be one of ${SIGNALS.join(', ')}, not ${JSON.stringify(signal)}`,
      );
    if (!cluster.isRunning(id)) throw new ControlRefused(409, `broker ${id} has exited; restart it first`);
    await cluster.signalBroker(id, signal as ControlSignal);
    this.record([
      {
        atMs: Date.now(),
        kind: 'control',
        brokerId: id,
        text: `page: ${signal} sent to broker ${id} (pid ${info.pid})`,
      },
    ]);
    return { brokerId: id, signal };
  }

  private async controlProducer(producer: ViewProducer, body: unknown): Promise<Record<string, unknown>> {
    const action = field(body, 'action');
    if (action === 'stop') {
      await producer.stop();
      this.record([{ atMs: Date.now(), kind: 'control', text: 'page: producer stopped' }]);
      return { running: false };
    }
    if (action !== 'start') throw new ControlRefused(400, 'action must be "start" or "stop"');
    const acksText = field(body, 'acks');
    let acks: ReturnType<typeof parseAcks>;
    try {
      acks = parseAcks(String(acksText));
    } catch (err) {
      throw new ControlRefused(400, (err as Error).message);
    }
    await producer.start(acks);
    this.record([
      {
        atMs: Date.now(),
        kind: 'control',
        text: `page: producer started on topic ${producer.topic} with acks=${String(acksText)}`,
      },
    ]);
    return { running: true, acks: acksText };
  }

  private send(res: ServerResponse, status: number, body: unknown): void {
    res.writeHead(status, { 'content-type': 'application/json; charset=utf-8', ...commonHeaders() });
    res.end(JSON.stringify(body));
  }
}

function commonHeaders(): Record<string, string> {
  return {
    'cache-control': 'no-store',
    'x-content-type-options': 'nosniff',
    'referrer-policy': 'no-referrer',
  };
}

function readAsset(name: string): Buffer {
  return readFileSync(new URL(`./assets/${name}`, import.meta.url));
}

function field(body: unknown, name: string): unknown {
  if (typeof body !== 'object' || body === null || Array.isArray(body))
    throw new ControlRefused(400, 'the body must be a JSON object');
  return (body as Record<string, unknown>)[name];
}

/** Reads at most MAX_BODY_BYTES of JSON; an empty body reads as {}. */
async function readJsonBody(req: IncomingMessage): Promise<unknown> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req) {
    size += (chunk as Buffer).length;
    if (size > MAX_BODY_BYTES) throw new ControlRefused(413, `body larger than ${MAX_BODY_BYTES} bytes`);
    chunks.push(chunk as Buffer);
  }
  const text = Buffer.concat(chunks).toString('utf8');
  if (text.trim() === '') return {};
  try {
    return JSON.parse(text) as unknown;
  } catch {
    throw new ControlRefused(400, 'the body is not valid JSON');
  }
}
