// The live cluster view's page script: plain DOM and SVG, no framework.
// It reads the snapshots described in ../view-model.ts from /events (SSE).

const SVG_NS = 'http://www.w3.org/2000/svg';
const TOKEN = document.querySelector('meta[name="view-token"]').getAttribute('content');
const COLORS = { leader: '#2b6cb0', isr: '#2f855a', out: '#dd6b20', stale: '#a0aec0', hw: '#c53030' };

/** For tests and measurement: how many snapshots arrived, and when the first one did. */
const stats = { snapshots: 0, firstAtMs: 0, lastAtMs: 0, recent: [] };
window.viewStats = stats;

function el(tag, attrs = {}, ...children) {
  const node = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) node.setAttribute(k, String(v));
  node.append(...children);
  return node;
}

function svg(tag, attrs = {}, ...children) {
  const node = document.createElementNS(SVG_NS, tag);
  for (const [k, v] of Object.entries(attrs)) node.setAttribute(k, String(v));
  node.append(...children);
  return node;
}

function seconds(ms) {
  return `${(ms / 1000).toFixed(1)} s`;
}

function rate(n) {
  return n >= 100 ? n.toFixed(0) : n.toFixed(1);
}

// ---- controls -------------------------------------------------------------

async function post(path, body) {
  const error = document.getElementById('control-error');
  error.textContent = '';
  try {
    const response = await fetch(path, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'x-view-token': TOKEN },
      body: JSON.stringify(body),
    });
    if (!response.ok) {
      const answer = await response.json().catch(() => ({}));
      error.textContent = `${path}: ${response.status} ${answer.error ?? ''}`;
    }
  } catch (err) {
    error.textContent = `${path}: ${err}`;
  }
}

document.getElementById('producer-start').addEventListener('click', () => {
  post('/api/producer', { action: 'start', acks: document.getElementById('producer-acks').value });
});
document.getElementById('producer-stop').addEventListener('click', () => {
  post('/api/producer', { action: 'stop' });
});

// ---- brokers table (rows kept, so buttons survive updates) ----------------

const brokerRows = new Map();

function brokerRow(id) {
  let row = brokerRows.get(id);
  if (row !== undefined) return row;
  const cells = {
    address: el('td'),
    pid: el('td'),
    process: el('td'),
    registered: el('td'),
    answering: el('td'),
  };
  const controls = el('td');
  for (const signal of ['SIGSTOP', 'SIGCONT', 'SIGKILL']) {
    const button = el('button', { type: 'button', 'data-broker': id, 'data-control': signal }, signal);
    button.addEventListener('click', () => post(`/api/brokers/${id}/signal`, { signal }));
    controls.append(button);
  }
  const restart = el('button', { type: 'button', 'data-broker': id, 'data-control': 'restart' }, 'restart');
  restart.addEventListener('click', () => post(`/api/brokers/${id}/restart`, {}));
  controls.append(restart);
  const tr = el(
    'tr',
    { 'data-broker': id },
    el('td', {}, `broker ${id}`),
    cells.address,
    cells.pid,
    cells.process,
    cells.registered,
    cells.answering,
    controls,
  );
  row = { tr, cells, controls };
  brokerRows.set(id, row);
  const body = document.querySelector('#brokers tbody');
  const after = [...body.children].find((r) => Number(r.dataset.broker) > id);
  body.insertBefore(tr, after ?? null);
  return row;
}

function renderBrokers(brokers) {
  const seen = new Set();
  for (const b of brokers) {
    seen.add(b.id);
    const row = brokerRow(b.id);
    row.tr.dataset.process = b.process;
    row.cells.address.textContent = b.address;
    row.cells.pid.textContent = String(b.pid);
    // A stopped process is paused, not dead: it resumes where it was on SIGCONT.
    row.cells.process.textContent = b.process === 'stopped' ? 'paused (SIGSTOP)' : b.process;
    row.cells.process.className = `state-${b.process}`;
    // etcd-coordinated clusters: the elected controller is a broker, and a broker whose session
    // is not valid is fenced (it acknowledges no acks=all write) even while its process runs.
    row.cells.registered.textContent =
      (b.fenced ? 'FENCED' : b.registered ? 'alive' : 'session expired') +
      (b.controller ? ' · controller' : '');
    row.cells.registered.className = b.fenced ? 'fenced' : '';
    row.tr.dataset.fenced = String(b.fenced === true);
    row.tr.dataset.controller = String(b.controller === true);
    row.cells.answering.textContent = b.answering ? 'yes' : 'no';
    for (const button of row.controls.querySelectorAll('button')) {
      const c = button.dataset.control;
      button.disabled =
        c === 'restart'
          ? b.process !== 'exited'
          : b.process === 'exited' || (c === 'SIGSTOP' && b.process === 'stopped');
    }
  }
  for (const [id, row] of brokerRows) {
    if (seen.has(id)) continue;
    row.tr.remove();
    brokerRows.delete(id);
  }
}

// ---- partitions -----------------------------------------------------------

const WIDTH = 560;
const HEIGHT = 230;
const TOP = 28;
const BOTTOM = 62;
const LEFT = 46;
/** Room on the right for the HW label, clear of the bars' LEO labels. */
const RIGHT = 64;

function replicaColor(p, r) {
  if (r.brokerId === p.leader) return COLORS.leader;
  return r.inIsr ? COLORS.isr : COLORS.out;
}

function partitionChart(p, lagMaxMs) {
  const plot = HEIGHT - TOP - BOTTOM;
  const top = Math.max(1, p.highWatermark ?? 0, ...p.replicas.map((r) => r.leo ?? 0));
  const y = (v) => TOP + plot - (v / top) * plot;
  const slot = (WIDTH - LEFT - RIGHT) / Math.max(1, p.replicas.length);
  const barWidth = Math.min(70, slot * 0.55);
  const chart = svg('svg', {
    viewBox: `0 0 ${WIDTH} ${HEIGHT}`,
    role: 'img',
    'aria-label': `${p.topic}-${p.partition} replicas`,
  });
  chart.append(
    svg('line', { x1: LEFT, x2: WIDTH - 6, y1: y(0), y2: y(0), stroke: '#cbd5e0' }),
    svg('text', { x: LEFT - 6, y: y(0) + 4, 'text-anchor': 'end', class: 'small' }, '0'),
    svg('text', { x: LEFT - 6, y: y(top) + 4, 'text-anchor': 'end', class: 'small' }, String(top)),
  );
  p.replicas.forEach((r, i) => {
    const cx = LEFT + slot * i + slot / 2;
    const leo = r.leo ?? 0;
    const g = svg('g', {
      'data-replica': r.brokerId,
      'data-leo': r.leo ?? '',
      'data-hw': r.hw ?? '',
      'data-in-isr': r.inIsr,
      'data-role': r.role ?? '',
      'data-stale': r.stale,
    });
    const color = replicaColor(p, r);
    g.append(
      svg('rect', {
        x: cx - barWidth / 2,
        y: y(leo),
        width: barWidth,
        height: Math.max(1, y(0) - y(leo)),
        fill: color,
        'fill-opacity': r.stale ? 0.3 : 0.9,
        stroke: r.stale ? COLORS.stale : 'none',
        'stroke-dasharray': '4 3',
        rx: 2,
      }),
      svg(
        'text',
        { x: cx, y: y(leo) - 5, 'text-anchor': 'middle' },
        r.leo === null ? 'LEO ?' : `LEO ${r.leo}`,
      ),
    );
    const isLeader = r.brokerId === p.leader;
    g.append(
      svg(
        'text',
        { x: cx, y: y(0) + 15, 'text-anchor': 'middle', 'font-weight': isLeader ? 700 : 400 },
        `broker ${r.brokerId}${isLeader ? ` ★ leader e${p.leaderEpoch}` : ''}`,
      ),
      svg('circle', { cx: cx - 26, cy: y(0) + 29, r: 5, fill: r.inIsr ? COLORS.isr : 'none', stroke: color }),
      svg('text', { x: cx - 18, y: y(0) + 33, class: 'small' }, r.inIsr ? 'in ISR' : 'out of ISR'),
    );
    if (!isLeader) {
      const lagText =
        r.lagRecords === null
          ? r.stale
            ? 'no answer'
            : 'lag ?'
          : `lag ${r.lagRecords} rec · ${r.lastCaughtUpMsAgo === null ? '?' : (r.lastCaughtUpMsAgo / 1000).toFixed(1)}/${seconds(lagMaxMs)}`;
      g.append(svg('text', { x: cx, y: y(0) + 48, 'text-anchor': 'middle', class: 'small' }, lagText));
      if (r.lastCaughtUpMsAgo !== null) {
        const frac = Math.min(1, r.lastCaughtUpMsAgo / lagMaxMs);
        const w = barWidth + 30;
        g.append(
          svg('rect', { x: cx - w / 2, y: y(0) + 52, width: w, height: 4, fill: '#edf2f7' }),
          svg('rect', {
            x: cx - w / 2,
            y: y(0) + 52,
            width: w * frac,
            height: 4,
            fill: frac >= 1 ? COLORS.hw : frac > 0.5 ? COLORS.out : COLORS.isr,
          }),
        );
      }
    }
    chart.append(g);
  });
  if (p.highWatermark !== null) {
    const hy = y(p.highWatermark);
    chart.append(
      svg('line', {
        x1: LEFT,
        x2: WIDTH - 6,
        y1: hy,
        y2: hy,
        stroke: COLORS.hw,
        'stroke-width': 2,
        'stroke-dasharray': '6 4',
        'data-hw-line': p.highWatermark,
      }),
      svg(
        'text',
        { x: WIDTH - 4, y: hy - 4, 'text-anchor': 'end', class: 'hwlabel' },
        `HW ${p.highWatermark}`,
      ),
    );
  }
  return chart;
}

const partitionCards = new Map();

function renderPartitions(snapshot) {
  const container = document.getElementById('partitions');
  const seen = new Set();
  for (const p of snapshot.partitions) {
    const key = `${p.topic}-${p.partition}`;
    seen.add(key);
    let card = partitionCards.get(key);
    if (card === undefined) {
      card = el('article', { class: 'partition', 'data-partition': key });
      partitionCards.set(key, card);
      container.append(card);
    }
    card.dataset.leader = String(p.leader);
    card.dataset.epoch = String(p.leaderEpoch);
    card.dataset.isr = p.isr.join(',');
    const leader = p.leader < 0 ? 'none (offline)' : `broker ${p.leader}`;
    card.replaceChildren(
      el('h3', {}, key),
      el('div', { class: 'meta' }, `leader ${leader} · epoch ${p.leaderEpoch} · ISR [${p.isr.join(', ')}]`),
      partitionChart(p, snapshot.replicaLagTimeMaxMs),
      el(
        'div',
        { class: 'rates' },
        el('span', {}, 'produce ', el('b', { 'data-rate': 'produce' }, rate(p.produceRate)), ' rec/s'),
        el('span', {}, 'consume ', el('b', { 'data-rate': 'consume' }, rate(p.consumeRate)), ' rec/s'),
        el(
          'span',
          {},
          'acks=all waiting for HW ',
          el('b', { 'data-acks-waiting': '' }, String(p.acksAllWaiting)),
        ),
      ),
    );
  }
  for (const [key, card] of partitionCards) {
    if (seen.has(key)) continue;
    card.remove();
    partitionCards.delete(key);
  }
  if (snapshot.partitions.length === 0 && container.children.length === 0) {
    container.append(
      el('div', { class: 'panel muted', 'data-empty': '' }, 'no topics yet: start the producer'),
    );
  } else if (snapshot.partitions.length > 0) {
    for (const e of container.querySelectorAll('[data-empty]')) e.remove();
  }
}

// ---- header, producer, timeline ------------------------------------------

function coordinationFact(s) {
  const c = s.coordination;
  if (c === undefined || c.kind !== 'etcd') return `controller ${s.controller?.address ?? '-'}`;
  const who =
    c.controllerBrokerId === null ? 'no controller yet' : `controller broker ${c.controllerBrokerId}`;
  return `etcd ${c.url} · ${who}, controller epoch ${c.controllerEpoch ?? '-'}`;
}

function renderFacts(s) {
  const now = performance.now();
  stats.recent = stats.recent.filter((t) => now - t < 2000);
  const perSecond = stats.recent.length / 2;
  document.getElementById('facts').textContent =
    `${s.label ?? 'no cluster'} · ${coordinationFact(s)} · ` +
    `replica.lag.time.max.ms ${s.replicaLagTimeMaxMs} · min.insync.replicas ${s.minInsync} · ` +
    `unclean election ${s.unclean ? 'on' : 'off'} · ${perSecond.toFixed(1)} updates/s`;
  const p = s.producer;
  document.getElementById('producer-status').textContent = p.running
    ? `running on topic ${p.topic}, acks=${p.acks}: ${p.acknowledged} acknowledged, ${p.failed} failed${p.lastError ? ` (last: ${p.lastError})` : ''}`
    : `stopped (${p.acknowledged} acknowledged, ${p.failed} failed)`;
  document.getElementById('producer-status').dataset.running = String(p.running);
}

function clock(ms) {
  const d = new Date(ms);
  return `${d.toLocaleTimeString([], { hour12: false })}.${String(d.getMilliseconds()).padStart(3, '0')}`;
}

/** The highest event id shown: a reconnect replays the server's timeline, and only newer ones are added. */
let newestEventId = 0;

/**
 * Adds events newest first, each by the time it happened (which the server
 * takes from whatever recorded it: the controller, the cluster, a replica),
 * so one noticed late still lands where it belongs.
 */
function addTimeline(events) {
  const list = document.getElementById('timeline');
  for (const e of events) {
    if (e.id <= newestEventId) continue;
    newestEventId = e.id;
    const attrs = { 'data-kind': e.kind, 'data-id': e.id, 'data-at-ms': e.atMs };
    if (e.clean !== undefined) attrs['data-clean'] = e.clean;
    if (e.brokerId !== undefined) attrs['data-broker'] = e.brokerId;
    const item = el('li', attrs, el('time', {}, clock(e.atMs)), e.text);
    const later = [...list.children].find((li) => Number(li.dataset.atMs) <= e.atMs);
    if (later === undefined) list.append(item);
    else list.insertBefore(item, later);
  }
  while (list.children.length > 300) list.lastElementChild.remove();
}

// ---- the stream -----------------------------------------------------------

const connection = document.getElementById('connection');
const source = new EventSource('/events');
source.addEventListener('open', () => {
  connection.dataset.state = 'live';
  connection.textContent = 'live';
});
source.addEventListener('error', () => {
  connection.dataset.state = 'lost';
  connection.textContent = 'reconnecting';
});
source.addEventListener('timeline', (event) => {
  addTimeline(JSON.parse(event.data));
});
source.addEventListener('snapshot', (event) => {
  const snapshot = JSON.parse(event.data);
  const now = performance.now();
  stats.snapshots++;
  if (stats.firstAtMs === 0) stats.firstAtMs = now;
  stats.lastAtMs = now;
  stats.recent.push(now);
  renderBrokers(snapshot.brokers);
  renderPartitions(snapshot);
  renderFacts(snapshot);
  document.body.dataset.seq = String(snapshot.seq);
});
