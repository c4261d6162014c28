/*
 * sluice console — one page, no dependencies, no build step.
 *
 * Views are chosen by the URL fragment (#/topics/NAME) and drawn from the
 * JSON admin API under /api/v1/ (docs/http-api.md), the same API scripts
 * use. Every element is built with the DOM (never innerHTML), so keys,
 * values and names stored by clients are shown as text, whatever they
 * hold. Destructive actions ask first (a modal, confirm()), then call the
 * API, whose broker calls are the protocols' own.
 *
 * Each view sets #view's data-loaded attribute once drawn, so the tests
 * (tests/integration/test_console.py) can wait for it.
 */
'use strict';

const API = '/api/v1';
const view = document.getElementById('view');
let timer = null; /* the overview's polling, stopped when leaving it */

/* ---- helpers ---------------------------------------------------------- */

function h(tag, attrs, ...kids) {
  const el = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) {
    if (v === undefined || v === null || v === false) continue;
    if (k.startsWith('on')) el.addEventListener(k.slice(2), v);
    else if (k === 'class') el.className = v;
    else el.setAttribute(k, v === true ? '' : v);
  }
  for (const kid of kids.flat()) {
    if (kid === null || kid === undefined || kid === false) continue;
    el.append(kid instanceof Node ? kid : document.createTextNode(String(kid)));
  }
  return el;
}

/* Replaces the view's content; nested arrays flatten, null is nothing. */
function show(...kids) {
  view.replaceChildren(...kids.flat(2).filter((k) => k !== null && k !== undefined && k !== false));
}

async function api(method, path, body) {
  const opts = { method, headers: {} };
  if (body !== undefined) {
    opts.headers['Content-Type'] = 'application/json';
    opts.body = JSON.stringify(body);
  }
  const res = await fetch(API + path, opts);
  const data = await res.json().catch(() => ({}));
  if (!res.ok) {
    const msg = data && data.error ? data.error.message : res.statusText;
    throw new Error(msg + ' (HTTP ' + res.status + ')');
  }
  return data;
}

function fmtBytes(n) {
  if (n === null || n === undefined) return '';
  const u = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];
  let i = 0;
  while (n >= 1024 && i < u.length - 1) { n /= 1024; i++; }
  return (i ? n.toFixed(1) : n) + ' ' + u[i];
}

function fmtNum(n) {
  return n === null || n === undefined ? '' : Number(n).toLocaleString('en-US');
}

function fmtDuration(s) {
  s = Math.floor(s);
  const d = Math.floor(s / 86400), hr = Math.floor(s % 86400 / 3600);
  const m = Math.floor(s % 3600 / 60), sec = s % 60;
  return (d ? d + 'd ' : '') + (d || hr ? hr + 'h ' : '') + m + 'm ' + sec + 's';
}

function fmtTime(ms) {
  return ms > 0 ? new Date(ms).toISOString().replace('T', ' ').replace('Z', '') : '';
}

function toast(msg, bad) {
  const t = document.getElementById('toast');
  t.textContent = msg;
  t.className = 'toast' + (bad ? ' bad' : '');
  t.hidden = false;
  clearTimeout(toast.timer);
  toast.timer = setTimeout(() => { t.hidden = true; }, 5000);
}

/* Asks before a destructive action; resolves true on Confirm. */
function confirmDialog(text) {
  const m = document.getElementById('modal');
  document.getElementById('modal-text').textContent = text;
  m.hidden = false;
  return new Promise((resolve) => {
    const done = (ok) => {
      m.hidden = true;
      ok_.removeEventListener('click', yes);
      no_.removeEventListener('click', no);
      resolve(ok);
    };
    const ok_ = document.getElementById('confirm-ok');
    const no_ = document.getElementById('confirm-cancel');
    const yes = () => done(true);
    const no = () => done(false);
    ok_.addEventListener('click', yes);
    no_.addEventListener('click', no);
  });
}

/* Runs an action, then shows its outcome and redraws the view. */
async function act(label, fn, confirmText) {
  if (confirmText && !(await confirmDialog(confirmText))) return;
  const was = location.hash;
  try {
    await fn();
    toast(label + ': done');
  } catch (e) {
    toast(label + ': ' + e.message, true);
  }
  /* An action that moved to another page has routed already. */
  if (location.hash === was) route();
}

function table(headers, rows, numeric) {
  numeric = numeric || [];
  return h('table', {},
    h('thead', {}, h('tr', {}, headers.map((t, i) => h('th', { class: numeric.includes(i) ? 'num' : null }, t)))),
    h('tbody', {}, rows.length ? rows.map((r) => h('tr', {}, r.map((c, i) =>
      h('td', { class: numeric.includes(i) ? 'num' : null }, c))))
      : h('tr', {}, h('td', { colspan: headers.length, class: 'muted' }, 'none'))));
}

function card(label, value, id) {
  return h('div', { class: 'card' }, h('div', { class: 'label' }, label),
    h('div', { class: 'value', id }, value));
}

function b64bytes(s) {
  if (s === null || s === undefined) return null;
  const bin = atob(s);
  const out = new Uint8Array(bin.length);
  for (let i = 0; i < bin.length; i++) out[i] = bin.charCodeAt(i);
  return out;
}

/* A key or value for display: text, pretty JSON, or hex. */
function showBytes(text, b64, mode) {
  if (b64 === null || b64 === undefined) return h('span', { class: 'muted' }, 'null');
  if (mode === 'hex' || text === null) {
    const bytes = b64bytes(b64);
    const lines = [];
    for (let i = 0; i < bytes.length; i += 16) {
      const row = Array.from(bytes.slice(i, i + 16));
      lines.push(i.toString(16).padStart(6, '0') + '  ' +
        row.map((x) => x.toString(16).padStart(2, '0')).join(' ').padEnd(48) + ' ' +
        row.map((x) => (x >= 32 && x < 127 ? String.fromCharCode(x) : '.')).join(''));
    }
    return h('pre', {}, lines.join('\n'));
  }
  if (mode === 'json') {
    try {
      return h('pre', {}, JSON.stringify(JSON.parse(text), null, 2));
    } catch (e) {
      return h('pre', {}, text);
    }
  }
  return h('pre', {}, text);
}

/* ---- charts ----------------------------------------------------------- */

const COLORS = ['#1f6feb', '#cf222e', '#1a7f37', '#9a6700', '#8250df'];

/* Draws line series (arrays of numbers, oldest first) on a canvas. */
function drawLines(canvas, series, fmt) {
  const dpr = window.devicePixelRatio || 1;
  const w = canvas.clientWidth, ht = canvas.clientHeight;
  canvas.width = w * dpr;
  canvas.height = ht * dpr;
  const g = canvas.getContext('2d');
  g.scale(dpr, dpr);
  g.clearRect(0, 0, w, ht);
  let max = 0, n = 0;
  for (const s of series) { for (const v of s.points) max = Math.max(max, v); n = Math.max(n, s.points.length); }
  /* A round top (1, 2 or 5 times a power of ten) gives round ticks. */
  const step = Math.pow(10, Math.floor(Math.log10(Math.max(max, 1) / 3)));
  max = Math.max(3, Math.ceil(max / 3 / step) * step * 3);
  for (const m of [1, 2, 5, 10]) { if (max <= 3 * m * step) { max = 3 * m * step; break; } }
  const left = 64, top = 6, bottom = ht - 18, right = w - 6;
  g.strokeStyle = '#d0d7de';
  g.fillStyle = '#656d76';
  g.font = '11px sans-serif';
  for (let i = 0; i <= 3; i++) {
    const y = bottom - (bottom - top) * i / 3;
    g.beginPath(); g.moveTo(left, y); g.lineTo(right, y); g.stroke();
    g.fillText(fmt(max * i / 3), 4, y + 4);
  }
  series.forEach((s, k) => {
    g.strokeStyle = COLORS[k % COLORS.length];
    g.lineWidth = 2;
    g.beginPath();
    s.points.forEach((v, i) => {
      const x = left + (right - left) * (n > 1 ? i / (n - 1) : 1);
      const y = bottom - (bottom - top) * v / max;
      if (i) g.lineTo(x, y); else g.moveTo(x, y);
    });
    g.stroke();
  });
}

/* Horizontal bars (the lag per partition). */
function drawBars(canvas, labels, values) {
  const dpr = window.devicePixelRatio || 1;
  const w = canvas.clientWidth, ht = canvas.clientHeight;
  canvas.width = w * dpr;
  canvas.height = ht * dpr;
  const g = canvas.getContext('2d');
  g.scale(dpr, dpr);
  g.clearRect(0, 0, w, ht);
  const max = Math.max(1, ...values);
  const bh = Math.max(6, Math.min(22, (ht - 4) / Math.max(1, values.length)));
  g.font = '11px sans-serif';
  values.forEach((v, i) => {
    const y = 2 + i * bh;
    g.fillStyle = '#656d76';
    g.fillText(labels[i], 2, y + bh * 0.7);
    g.fillStyle = v > 0 ? '#cf222e' : '#1a7f37';
    g.fillRect(120, y + 2, Math.max(2, (w - 200) * v / max), bh - 4);
    g.fillStyle = '#1f2328';
    g.fillText(fmtNum(v), 126 + (w - 200) * v / max, y + bh * 0.7);
  });
}

function chart(title, id, legend) {
  return h('div', { class: 'chart' }, h('h3', {}, title), h('canvas', { id }),
    h('div', { class: 'legend' }, legend.map((l, i) => h('span', {}, h('i', { style: 'background:' + COLORS[i] }), l))));
}

/* ---- overview ----------------------------------------------------------- */

const hist = { t: [], prev: null, rates: { min: [], bin: [], bout: [], kafka: [], resp: [], beanstalk: [], http: [] },
  conns: { kafka: [], resp: [], beanstalk: [], http: [] } };
const HISTORY = 90;

function push(arr, v) { arr.push(v); if (arr.length > HISTORY) arr.shift(); }

function sample(o) {
  const now = performance.now() / 1000;
  const p = hist.prev;
  if (p) {
    const dt = Math.max(0.001, now - p.at);
    const r = (a, b) => Math.max(0, (a - b) / dt);
    push(hist.rates.min, r(o.kafka.messages_in, p.o.kafka.messages_in));
    push(hist.rates.bin, r(o.kafka.bytes_in, p.o.kafka.bytes_in));
    push(hist.rates.bout, r(o.kafka.bytes_out, p.o.kafka.bytes_out));
    for (const k of ['kafka', 'resp', 'beanstalk', 'http']) push(hist.rates[k], r(o.requests[k], p.o.requests[k]));
  }
  for (const l of o.listeners) push(hist.conns[l.name], l.connections);
  hist.prev = { at: now, o };
}

function drawOverviewCharts() {
  const c = (id) => document.getElementById(id);
  if (!c('ch-msgs')) return;
  drawLines(c('ch-msgs'), [{ points: hist.rates.min }], (v) => fmtNum(Math.round(v)) + '/s');
  drawLines(c('ch-bytes'), [{ points: hist.rates.bin }, { points: hist.rates.bout }], (v) => fmtBytes(Math.round(v)) + '/s');
  drawLines(c('ch-reqs'), ['kafka', 'resp', 'beanstalk', 'http'].map((k) => ({ points: hist.rates[k] })),
    (v) => fmtNum(Math.round(v)) + '/s');
  drawLines(c('ch-conns'), ['kafka', 'resp', 'beanstalk', 'http'].map((k) => ({ points: hist.conns[k] })),
    (v) => fmtNum(Math.round(v)));
}

function fillOverview(o) {
  const set = (id, v) => { const el = document.getElementById(id); if (el) el.textContent = v; };
  set('ov-uptime', fmtDuration(o.uptime_s));
  set('ov-fsync', o.fsync);
  set('ov-disk-used', fmtBytes(o.disk.used_bytes));
  set('ov-disk-free', fmtBytes(o.disk.free_bytes));
  set('ov-topics', fmtNum(o.kafka.topics));
  set('ov-messages', fmtNum(o.kafka.messages));
  set('ov-groups', fmtNum(o.kafka.groups));
  set('ov-keys', o.redis ? fmtNum(o.redis.keys) : 'off');
  set('ov-jobs', o.beanstalk ? fmtNum(o.beanstalk.ready + o.beanstalk.reserved + o.beanstalk.delayed + o.beanstalk.buried) : 'off');
  set('ov-tubes', o.beanstalk ? fmtNum(o.beanstalk.tubes) : 'off');
  const tb = document.getElementById('ov-listeners');
  if (tb) {
    tb.replaceChildren(table(['listener', 'port', 'connections'],
      o.listeners.map((l) => [l.name, l.port < 0 ? 'off' : o.bind + ':' + l.port, fmtNum(l.connections)]), [2]));
  }
  drawOverviewCharts();
}

async function overview() {
  const o = await api('GET', '/overview');
  sample(o);
  show(
    h('h1', {}, 'Overview'),
    h('p', { class: 'muted' }, 'Data directory ', h('code', {}, o.data_dir), ' — listeners bind ', h('code', {}, o.bind)),
    h('div', { class: 'cards' },
      card('Uptime', '', 'ov-uptime'), card('fsync', '', 'ov-fsync'),
      card('Disk used', '', 'ov-disk-used'), card('Disk free', '', 'ov-disk-free'),
      card('Topics', '', 'ov-topics'), card('Kafka messages', '', 'ov-messages'),
      card('Consumer groups', '', 'ov-groups'), card('Redis keys', '', 'ov-keys'),
      card('beanstalkd jobs', '', 'ov-jobs'), card('Tubes', '', 'ov-tubes')),
    h('div', { class: 'charts' },
      chart('Kafka messages in', 'ch-msgs', ['records/s']),
      chart('Kafka bytes', 'ch-bytes', ['in', 'out']),
      chart('Requests per protocol', 'ch-reqs', ['kafka', 'resp', 'beanstalk', 'http']),
      chart('Connections per protocol', 'ch-conns', ['kafka', 'resp', 'beanstalk', 'http'])),
    h('h2', {}, 'Listeners'), h('div', { id: 'ov-listeners' }));
  fillOverview(o);
  timer = setInterval(async () => {
    try {
      const n = await api('GET', '/overview');
      sample(n);
      fillOverview(n);
    } catch (e) {
      document.getElementById('health').textContent = 'unreachable';
    }
  }, 2000);
}

/* ---- topics ------------------------------------------------------------- */

async function topics() {
  const d = await api('GET', '/topics');
  const name = h('input', { id: 'new-topic-name', placeholder: 'name', required: true });
  const parts = h('input', { id: 'new-topic-partitions', type: 'number', min: 1, value: 1 });
  const ret = h('input', { id: 'new-topic-retention', placeholder: 'default', type: 'number' });
  const form = h('form', { class: 'inline', id: 'create-topic', onsubmit: (e) => {
    e.preventDefault();
    const body = { name: name.value, partitions: Number(parts.value) };
    if (ret.value) body.configs = { 'retention.ms': ret.value };
    act('Create topic ' + name.value, () => api('POST', '/topics', body));
  } },
  h('label', {}, 'Name', name), h('label', {}, 'Partitions', parts),
  h('label', {}, 'retention.ms', ret), h('button', { class: 'primary', type: 'submit' }, 'Create topic'));
  show(h('h1', {}, 'Topics'), form,
    table(['topic', 'partitions', 'messages', 'size', 'retention', ''], d.topics.map((t) => [
      h('a', { href: '#/topics/' + encodeURIComponent(t.name) }, t.name), fmtNum(t.partitions), fmtNum(t.messages),
      fmtBytes(t.bytes), t.retention_ms < 0 ? 'forever' : fmtDuration(t.retention_ms / 1000),
      h('a', { href: '#/messages/' + encodeURIComponent(t.name) }, 'messages')]), [1, 2, 3]));
}

async function topic(name) {
  const t = await api('GET', '/topics/' + encodeURIComponent(name));
  const count = h('input', { id: 'add-partitions-count', type: 'number', min: t.partitions.length + 1, value: t.partitions.length + 1 });
  show(
    h('h1', {}, 'Topic ', h('span', { class: 'mono' }, t.name)),
    h('div', { class: 'toolbar' },
      h('a', { href: '#/messages/' + encodeURIComponent(t.name) }, 'Browse messages'),
      h('form', { class: 'inline', onsubmit: (e) => {
        e.preventDefault();
        act('Add partitions', () => api('POST', '/topics/' + encodeURIComponent(name) + '/partitions', { count: Number(count.value) }),
          'Grow topic ' + name + ' to ' + count.value + ' partitions? Partitions cannot be removed again, and keyed records will map to other partitions.');
      } }, h('label', {}, 'Partitions', count), h('button', { type: 'submit' }, 'Add partitions')),
      h('button', { class: 'danger', id: 'delete-topic', onclick: () => act('Delete topic ' + name,
        async () => { await api('DELETE', '/topics/' + encodeURIComponent(name)); location.hash = '#/topics'; },
        'Delete topic ' + name + ' and all its messages? This cannot be undone.') }, 'Delete topic')),
    h('h2', {}, 'Partitions'),
    table(['partition', 'log start', 'log end', 'high watermark', 'size', 'segments', 'records in', 'bytes in', 'bytes out'],
      t.partitions.map((p) => [p.partition, fmtNum(p.start_offset), fmtNum(p.end_offset), fmtNum(p.high_watermark),
        fmtBytes(p.bytes), p.segments, fmtNum(p.messages_in), fmtBytes(p.bytes_in), fmtBytes(p.bytes_out)]),
      [0, 1, 2, 3, 4, 5, 6, 7, 8]),
    h('h2', {}, 'Configs'),
    table(['name', 'value', 'source', ''], t.configs.map((c) => {
      const input = h('input', { value: c.value === null ? '' : c.value, 'data-config': c.name });
      return [h('code', {}, c.name), input, c.default ? h('span', { class: 'muted' }, 'default') : h('span', { class: 'pill' }, 'topic'),
        h('span', {},
          h('button', { onclick: () => act('Set ' + c.name, () => api('PATCH', '/topics/' + encodeURIComponent(name) + '/configs',
            { configs: { [c.name]: input.value } }), 'Set ' + c.name + ' of topic ' + name + ' to ' + input.value +
            '? A shorter retention deletes old segments at the next retention check.') }, 'Save'), ' ',
          c.default ? null : h('button', { onclick: () => act('Reset ' + c.name, () => api('PATCH', '/topics/' + encodeURIComponent(name) + '/configs',
            { configs: { [c.name]: null } })) }, 'Reset'))];
    })));
}

/* ---- messages ----------------------------------------------------------- */

async function messages(name, q) {
  const t = await api('GET', '/topics/' + encodeURIComponent(name));
  const partition = Number(q.get('partition') || 0);
  const mode = q.get('mode') || 'text';
  const limit = Number(q.get('limit') || 50);
  let path = '/topics/' + encodeURIComponent(name) + '/messages?partition=' + partition + '&limit=' + limit;
  if (q.get('offset')) path += '&offset=' + encodeURIComponent(q.get('offset'));
  else if (q.get('timestamp')) path += '&timestamp=' + encodeURIComponent(q.get('timestamp'));
  const d = await api('GET', path);
  const go = (params) => {
    const p = new URLSearchParams({ partition, mode, limit, ...params });
    location.hash = '#/messages/' + encodeURIComponent(name) + '?' + p.toString();
  };
  const psel = h('select', { id: 'browse-partition' }, t.partitions.map((p) =>
    h('option', { value: p.partition, selected: p.partition === partition }, 'partition ' + p.partition)));
  const off = h('input', { id: 'browse-offset', type: 'number', min: 0, placeholder: 'newest', value: q.get('offset') || '' });
  const ts = h('input', { id: 'browse-time', type: 'datetime-local', step: 1 });
  const msel = h('select', { id: 'browse-mode' }, ['text', 'json', 'hex'].map((m) => h('option', { value: m, selected: m === mode }, m)));
  const first = d.records.length ? d.records[0].offset : d.from;
  const key = h('input', { id: 'produce-key', placeholder: 'key (optional)' });
  const value = h('textarea', { id: 'produce-value', placeholder: 'value' });
  const headers = h('input', { id: 'produce-headers', placeholder: '{"header":"value"}' });
  show(
    h('h1', {}, 'Messages in ', h('a', { href: '#/topics/' + encodeURIComponent(name), class: 'mono' }, name)),
    h('form', { class: 'inline', id: 'browse', onsubmit: (e) => {
      e.preventDefault();
      if (ts.value) go({ timestamp: new Date(ts.value + 'Z').getTime() });
      else go(off.value !== '' ? { offset: off.value } : {});
    } },
    h('label', {}, 'Partition', psel), h('label', {}, 'From offset', off), h('label', {}, 'or from time (UTC)', ts),
    h('label', {}, 'Show values as', msel), h('button', { class: 'primary', type: 'submit' }, 'Go'),
    h('button', { type: 'button', id: 'browse-older', disabled: first <= d.start_offset,
      onclick: () => go({ offset: Math.max(d.start_offset, first - limit) }) }, 'Older'),
    h('button', { type: 'button', id: 'browse-newer', disabled: d.next_offset >= d.high_watermark,
      onclick: () => go({ offset: d.next_offset }) }, 'Newer')),
    h('p', { class: 'muted' }, 'Offsets ' + fmtNum(d.start_offset) + ' to ' + fmtNum(d.high_watermark - 1) +
      ' readable; showing ' + d.records.length + ' from ' + fmtNum(d.from) + '.'),
    d.warning ? h('p', { class: 'error' }, d.warning) : null,
    table(['offset', 'timestamp', 'key', 'headers', 'value', 'codec'], d.records.map((r) => [
      r.offset, fmtTime(r.timestamp), showBytes(r.key, r.key_b64, mode === 'hex' ? 'hex' : 'text'),
      r.headers.map((x) => h('div', { class: 'mono' }, (x.key || '') + ': ' + (x.value === null ? 'null' : x.value))),
      showBytes(r.value, r.value_b64, mode), r.codec === 'none' ? '' : h('span', { class: 'pill' }, r.codec)]), [0]),
    h('h2', {}, 'Produce a test message'),
    h('form', { class: 'inline', id: 'produce', onsubmit: (e) => {
      e.preventDefault();
      let hd;
      try { hd = headers.value ? JSON.parse(headers.value) : undefined; } catch (err) { toast('headers: not JSON', true); return; }
      const body = { partition: Number(psel.value), value: value.value, headers: hd };
      if (key.value) body.key = key.value;
      act('Produce', () => api('POST', '/topics/' + encodeURIComponent(name) + '/messages', body));
    } }, h('label', {}, 'Key', key), h('label', {}, 'Value', value), h('label', {}, 'Headers', headers),
    h('button', { class: 'primary', type: 'submit' }, 'Produce')));
  psel.addEventListener('change', () => { location.hash = '#/messages/' + encodeURIComponent(name) + '?partition=' + psel.value + '&mode=' + mode; });
  msel.addEventListener('change', () => { const p = new URLSearchParams(q); p.set('mode', msel.value); location.hash = '#/messages/' + encodeURIComponent(name) + '?' + p; });
}

/* ---- consumer groups ------------------------------------------------------ */

async function groups() {
  const d = await api('GET', '/groups');
  const pill = (s) => h('span', { class: 'pill ' + (s === 'Stable' ? 'ok' : s === 'Empty' ? '' : 'warn') }, s);
  show(h('h1', {}, 'Consumer groups'),
    table(['group', 'state', 'members', 'partitions', 'lag'], d.groups.map((g) => [
      h('a', { href: '#/groups/' + encodeURIComponent(g.group) }, g.group), pill(g.state),
      fmtNum(g.members), fmtNum(g.partitions), fmtNum(g.lag)]), [2, 3, 4]));
}

async function group(name) {
  const g = await api('GET', '/groups/' + encodeURIComponent(name));
  const tl = await api('GET', '/topics');
  const topicsOf = [...new Set(g.offsets.map((o) => o.topic))];
  const tsel = h('select', { id: 'reset-topic' }, (topicsOf.length ? topicsOf : tl.topics.map((t) => t.name)).map((t) => h('option', { value: t }, t)));
  const to = h('select', { id: 'reset-to' }, ['earliest', 'latest', 'offset', 'timestamp'].map((x) => h('option', { value: x }, x)));
  const val = h('input', { id: 'reset-value', placeholder: 'offset or ms since epoch', type: 'number' });
  const canvas = h('canvas', { id: 'lag-chart', style: 'height:' + Math.max(60, g.offsets.length * 22 + 8) + 'px' });
  show(
    h('h1', {}, 'Consumer group ', h('span', { class: 'mono' }, g.group)),
    h('div', { class: 'cards' }, card('State', g.state, 'group-state'), card('Members', fmtNum(g.members.length), 'group-members'),
      card('Protocol', g.protocol || '—'), card('Generation', g.generation), card('Total lag', fmtNum(g.lag), 'group-lag')),
    h('h2', {}, 'Members'),
    table(['member', 'client', 'host', 'assignment'], g.members.map((m) => [h('code', {}, m.member_id), m.client_id, m.client_host,
      m.assignment ? m.assignment.map((a) => a.topic + ' [' + a.partitions.join(', ') + ']').join('; ') : '—'])),
    h('h2', {}, 'Committed offsets and lag'),
    table(['topic', 'partition', 'committed', 'high watermark', 'lag', 'committed at'], g.offsets.map((o) => [
      o.topic, o.partition, fmtNum(o.offset), fmtNum(o.high_watermark), fmtNum(o.lag), fmtTime(o.commit_ts)]), [1, 2, 3, 4]),
    h('div', { class: 'chart' }, h('h3', {}, 'Lag per partition'), canvas),
    h('h2', {}, 'Reset offsets'),
    h('p', { class: 'muted' }, 'As kafka-consumer-groups --reset-offsets: only while the group has no active members.'),
    h('form', { class: 'inline', id: 'reset-form', onsubmit: (e) => {
      e.preventDefault();
      const body = { topic: tsel.value, to: to.value };
      if (to.value === 'offset') body.offset = Number(val.value);
      if (to.value === 'timestamp') body.timestamp = Number(val.value);
      act('Reset offsets', () => api('POST', '/groups/' + encodeURIComponent(name) + '/reset', body),
        'Reset the committed offsets of group ' + name + ' on ' + tsel.value + ' to ' + to.value + (val.value ? ' ' + val.value : '') + '?');
    } }, h('label', {}, 'Topic', tsel), h('label', {}, 'To', to), h('label', {}, 'Value', val),
    h('button', { class: 'primary', type: 'submit', id: 'reset-submit' }, 'Reset offsets')),
    h('h2', {}, 'Delete'),
    h('button', { class: 'danger', id: 'delete-group', onclick: () => act('Delete group ' + name,
      async () => { await api('DELETE', '/groups/' + encodeURIComponent(name)); location.hash = '#/groups'; },
      'Delete consumer group ' + name + ' and its committed offsets?') }, 'Delete group'));
  drawBars(canvas, g.offsets.map((o) => o.topic + '/' + o.partition), g.offsets.map((o) => o.lag < 0 ? 0 : o.lag));
}

/* ---- Redis ------------------------------------------------------------- */

async function redis(q) {
  const pattern = q.get('pattern') || '*', type = q.get('type') || '';
  const k = await api('GET', '/redis/keys?limit=200&pattern=' + encodeURIComponent(pattern) + (type ? '&type=' + type : ''));
  const s = await api('GET', '/redis/streams');
  const pat = h('input', { id: 'keys-pattern', value: pattern });
  const tsel = h('select', { id: 'keys-type' }, ['', 'string', 'list', 'hash', 'set', 'zset', 'stream'].map((t) => h('option', { value: t, selected: t === type }, t || 'any type')));
  const ttl = (ms) => (ms < 0 ? h('span', { class: 'muted' }, 'none') : fmtDuration(ms / 1000));
  show(h('h1', {}, 'Redis'),
    h('h2', {}, 'Streams'),
    table(['stream', 'length', 'first ID', 'last ID', 'groups', 'pending'], s.streams.map((x) => [
      h('a', { href: '#/redis/streams/' + encodeURIComponent(x.key) }, x.key), fmtNum(x.length),
      h('code', {}, x.first_id || ''), h('code', {}, x.last_id || ''), x.groups, fmtNum(x.pending)]), [1, 4, 5]),
    h('h2', {}, 'Keys'),
    h('form', { class: 'inline', id: 'keys-filter', onsubmit: (e) => {
      e.preventDefault();
      location.hash = '#/redis?' + new URLSearchParams({ pattern: pat.value || '*', type: tsel.value });
    } }, h('label', {}, 'Pattern', pat), h('label', {}, 'Type', tsel), h('button', { type: 'submit' }, 'Filter')),
    h('p', { class: 'muted' }, fmtNum(k.total) + ' keys in all' + (k.cursor ? '; showing the first ' + k.keys.length : '')),
    table(['key', 'type', 'length', 'TTL', 'value', ''], k.keys.map((x) => [
      x.type === 'stream' ? h('a', { href: '#/redis/streams/' + encodeURIComponent(x.key) }, x.key) : h('span', { class: 'mono' }, x.key),
      x.type, fmtNum(x.length), ttl(x.ttl_ms), x.type === 'string' ? showBytes(x.value, x.value_b64, 'text') : '',
      h('button', { class: 'danger', 'data-delete-key': x.key, onclick: () => act('Delete ' + x.key,
        () => api('DELETE', '/redis/keys/' + encodeURIComponent(x.key)), 'Delete key ' + x.key + '?') }, 'Delete')]), [2]));
}

async function stream(key) {
  const s = await api('GET', '/redis/streams/' + encodeURIComponent(key));
  show(h('h1', {}, 'Stream ', h('span', { class: 'mono' }, s.key)),
    h('div', { class: 'cards' }, card('Length', fmtNum(s.length), 'stream-length'), card('Groups', s.groups),
      card('Pending', fmtNum(s.pending), 'stream-pending'), card('Entries added', fmtNum(s.entries_added))),
    s.groups_detail.map((g) => h('div', {},
      h('h2', {}, 'Group ', h('span', { class: 'mono' }, g.name)),
      h('p', { class: 'muted' }, 'last delivered ' + g.last_delivered_id + ', lag ' + (g.lag === null ? 'unknown' : fmtNum(g.lag)) +
        ', ' + fmtNum(g.pending) + ' pending'),
      table(['consumer', 'pending', 'idle'], g.consumers.map((c) => [c.name, fmtNum(c.pending), fmtDuration(c.idle_ms / 1000)]), [1, 2]),
      h('h2', {}, 'Pending entries'),
      table(['ID', 'consumer', 'idle', 'deliveries'], g.pending_entries.map((p) => [h('code', {}, p.id), p.consumer,
        fmtDuration(p.idle_ms / 1000), p.deliveries]), [2, 3]))),
    h('h2', {}, 'Newest entries'),
    table(['ID', 'fields'], s.entries.map((e) => [h('code', {}, e.id),
      e.fields ? h('pre', {}, e.fields.map((f) => f[0] + ' = ' + f[1]).join('\n')) : 'unreadable'])));
}

/* ---- beanstalkd ------------------------------------------------------- */

async function tubes() {
  const d = await api('GET', '/tubes');
  show(h('h1', {}, 'beanstalkd tubes'),
    table(['tube', 'ready', 'reserved', 'delayed', 'buried', 'total', 'watching', 'waiting', 'paused'], d.tubes.map((t) => [
      h('a', { href: '#/tubes/' + encodeURIComponent(t.name) }, t.name), fmtNum(t.ready), fmtNum(t.reserved),
      fmtNum(t.delayed), fmtNum(t.buried), fmtNum(t.total_jobs), t.watching, t.waiting,
      t.paused ? h('span', { class: 'pill warn' }, t.pause_left_s + ' s left') : '']), [1, 2, 3, 4, 5, 6, 7]));
}

function jobBox(label, j, name) {
  if (!j) return h('div', { class: 'card' }, h('div', { class: 'label' }, 'next ' + label), h('p', { class: 'muted' }, 'none'));
  const tubePath = '/jobs/' + j.id;
  return h('div', { class: 'card', 'data-peek': label },
    h('div', { class: 'label' }, 'next ' + label + ': job ' + j.id),
    h('p', { class: 'muted' }, 'priority ' + j.pri + ', age ' + fmtDuration(j.age_s) + ', ttr ' + j.ttr_s + ' s' +
      (j.state === 'delayed' ? ', ready in ' + j.time_left_s + ' s' : '') + ', ' + j.size + ' bytes'),
    showBytes(j.body, j.body_b64, 'text'),
    h('div', { class: 'toolbar' },
      j.state !== 'ready' ? h('button', { 'data-kick-job': j.id, onclick: () => act('Kick job ' + j.id, () => api('POST', tubePath + '/kick')) }, 'Kick') : null,
      h('button', { class: 'danger', 'data-delete-job': j.id, onclick: () => act('Delete job ' + j.id, () => api('DELETE', tubePath),
        'Delete job ' + j.id + ' from tube ' + name + '?') }, 'Delete')));
}

async function tube(name) {
  const t = await api('GET', '/tubes/' + encodeURIComponent(name));
  const secs = h('input', { id: 'pause-seconds', type: 'number', min: 1, value: 60 });
  const bound = h('input', { id: 'kick-bound', type: 'number', min: 1, value: Math.max(1, t.buried || t.delayed) });
  const p = '/tubes/' + encodeURIComponent(name);
  show(h('h1', {}, 'Tube ', h('span', { class: 'mono' }, t.name)),
    h('div', { class: 'cards' }, card('Ready', fmtNum(t.ready), 'tube-ready'), card('Reserved', fmtNum(t.reserved), 'tube-reserved'),
      card('Delayed', fmtNum(t.delayed), 'tube-delayed'), card('Buried', fmtNum(t.buried), 'tube-buried'),
      card('Paused', t.paused ? t.pause_left_s + ' s left' : 'no', 'tube-paused')),
    h('div', { class: 'toolbar' },
      h('form', { class: 'inline', onsubmit: (e) => { e.preventDefault(); act('Kick', () => api('POST', p + '/kick', { bound: Number(bound.value) })); } },
        h('label', {}, 'Jobs to kick', bound), h('button', { id: 'kick-tube', type: 'submit' }, 'Kick')),
      t.paused
        ? h('button', { id: 'unpause-tube', onclick: () => act('Unpause', () => api('POST', p + '/pause', { seconds: 0 })) }, 'Unpause')
        : h('form', { class: 'inline', onsubmit: (e) => { e.preventDefault(); act('Pause', () => api('POST', p + '/pause', { seconds: Number(secs.value) })); } },
          h('label', {}, 'Pause for seconds', secs), h('button', { id: 'pause-tube', type: 'submit' }, 'Pause'))),
    h('div', { class: 'grid2' }, jobBox('ready', t.peek.ready, name), jobBox('delayed', t.peek.delayed, name), jobBox('buried', t.peek.buried, name)));
}

/* ---- routing ------------------------------------------------------------ */

async function route() {
  clearInterval(timer);
  timer = null;
  const hash = location.hash.replace(/^#/, '') || '/';
  const [path, query] = hash.split('?');
  const q = new URLSearchParams(query || '');
  const parts = path.split('/').filter(Boolean).map(decodeURIComponent);
  const section = parts[0] || 'overview';
  for (const a of document.querySelectorAll('#nav a')) {
    const nav = a.dataset.nav;
    a.classList.toggle('active', nav === section || (nav === 'topics' && section === 'messages'));
  }
  view.removeAttribute('data-loaded');
  try {
    if (section === 'overview') await overview();
    else if (section === 'topics' && parts[1]) await topic(parts[1]);
    else if (section === 'topics') await topics();
    else if (section === 'messages') await messages(parts[1], q);
    else if (section === 'groups' && parts[1]) await group(parts[1]);
    else if (section === 'groups') await groups();
    else if (section === 'redis' && parts[1] === 'streams') await stream(parts[2]);
    else if (section === 'redis') await redis(q);
    else if (section === 'tubes' && parts[1]) await tube(parts[1]);
    else if (section === 'tubes') await tubes();
    else show(h('h1', {}, 'Not found'), h('p', {}, 'No such page: ' + hash));
    document.getElementById('health').textContent = '';
  } catch (e) {
    show(h('h1', {}, 'Error'), h('p', { class: 'error', id: 'view-error' }, e.message));
  }
  view.setAttribute('data-loaded', hash);
}

window.addEventListener('hashchange', route);
window.addEventListener('resize', () => { if (hist.prev) drawOverviewCharts(); });
route();
