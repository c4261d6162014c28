// scenario.js LIB PORT — the message-queue scenarios against sluiced with a
// real Node client library (ioredis5 | ioredis6 | redis4 | redis6):
//  1. a producer doing XADD key MAXLEN ~ 100 * id N name v at an interval
//     while a consumer loops XREAD BLOCK from 0, then from the last seen ID;
//  2. the same through a consumer group with two consumers and XACK, where
//     consumer c1 stops without acknowledging part of what it got and a
//     restarted c1 recovers its pending entries with XAUTOCLAIM.
// Every loop is bounded; any mismatch exits non-zero. Prints "OK <lib>".
'use strict';

const [lib, port] = [process.argv[2], Number(process.argv[3])];
const N = 40;

async function connect() {
  if (lib.startsWith('ioredis')) {
    const Redis = require(lib);
    const r = new Redis({ host: '127.0.0.1', port, maxRetriesPerRequest: 1, retryStrategy: () => null });
    await new Promise((ok, bad) => { r.once('ready', ok); r.once('error', bad); });
    return { call: (...a) => r.call(...a), quit: () => r.quit() };
  }
  const { createClient } = require(lib);
  const c = createClient({ socket: { host: '127.0.0.1', port, reconnectStrategy: false } });
  c.on('error', (e) => { console.error('client error', e); });
  await c.connect();
  return { call: (...a) => c.sendCommand(a.map(String)), quit: () => c.quit() };
}

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
const str = (x) => (Buffer.isBuffer(x) ? x.toString() : String(x));

// XREAD/XREADGROUP replies: RESP2 arrays, or RESP3 maps decoded as Map or
// plain objects depending on the library.
function streamsOf(reply) {
  if (reply == null) return [];
  if (reply instanceof Map) return [...reply.entries()];
  if (Array.isArray(reply)) {
    // ioredis 6 hands a RESP3 map over as a flat [key, value, ...] array.
    if (reply.length && !Array.isArray(reply[0])) {
      const pairs = [];
      for (let i = 0; i + 1 < reply.length; i += 2) pairs.push([reply[i], reply[i + 1]]);
      return pairs;
    }
    return reply;
  }
  if (typeof reply === 'object') return Object.entries(reply);
  throw new Error('unexpected reply ' + JSON.stringify(reply));
}

function entriesOf(list) {
  return (list || []).map((e) => {
    const fields = e[1] || [];
    const m = {};
    for (let i = 0; i + 1 < fields.length; i += 2) m[str(fields[i])] = str(fields[i + 1]);
    return { id: str(e[0]), f: m };
  });
}

function check(cond, msg) {
  if (!cond) { console.error('FAIL', lib, msg); process.exit(1); }
}

async function produce(key) {
  const p = await connect();
  const ids = [];
  for (let i = 1; i <= N; i++) {
    ids.push(str(await p.call('XADD', key, 'MAXLEN', '~', '100', '*', 'id', String(i), 'name', 'v')));
    await sleep(3);
  }
  await p.quit();
  return ids;
}

async function xreadScenario() {
  const key = 'q:' + lib + ':' + process.pid;
  const c = await connect();
  const prod = produce(key);
  const got = [];
  let last = '0';
  for (let loops = 0; got.length < N && loops < 400; loops++) {
    const r = await c.call('XREAD', 'COUNT', '7', 'BLOCK', '1000', 'STREAMS', key, last);
    for (const [, list] of streamsOf(r)) {
      for (const e of entriesOf(list)) { got.push(Number(e.f.id)); last = e.id; }
    }
  }
  const ids = await prod;
  check(got.length === N, 'xread got ' + got.length);
  for (let i = 0; i < N; i++) check(got[i] === i + 1, 'xread order at ' + i);
  check(last === ids[N - 1], 'last id');
  await c.quit();
}

async function groupScenario() {
  const key = 'g:' + lib + ':' + process.pid;
  const setup = await connect();
  check(str(await setup.call('XGROUP', 'CREATE', key, 'g', '$', 'MKSTREAM')) === 'OK', 'create');
  let busy = null;
  try { await setup.call('XGROUP', 'CREATE', key, 'g', '$'); } catch (e) { busy = String(e.message || e); }
  check(busy && busy.includes('BUSYGROUP'), 'BUSYGROUP expected: ' + busy);
  const delivered = new Set();
  const acked = new Set();
  let c1Unacked = 0;
  async function consumer(name, stopAfterUnacked) {
    const c = await connect();
    for (let loops = 0; delivered.size < N && loops < 400; loops++) {
      const r = await c.call('XREADGROUP', 'GROUP', 'g', name, 'COUNT', '3', 'BLOCK', '200', 'STREAMS', key, '>');
      for (const [, list] of streamsOf(r)) {
        for (const e of entriesOf(list)) {
          check(!delivered.has(e.id), 'delivered twice as new: ' + e.id);
          delivered.add(e.id);
          if (stopAfterUnacked && delivered.size > 10) {
            c1Unacked++;
            continue;
          }
          check(Number(await c.call('XACK', key, 'g', e.id)) === 1, 'xack ' + e.id);
          acked.add(e.id);
        }
      }
      if (stopAfterUnacked && c1Unacked >= 3) break; // "crash" with entries pending
    }
    await c.quit();
  }
  const prod = produce(key);
  await Promise.all([consumer('c1', true), consumer('c2', false)]);
  await prod;
  check(delivered.size === N, 'delivered ' + delivered.size);
  // c1 restarts and recovers what it had not acknowledged.
  const c1 = await connect();
  const r = await c1.call('XAUTOCLAIM', key, 'g', 'c1', '0', '0-0', 'COUNT', '100');
  check(Array.isArray(r) && r.length === 3, 'XAUTOCLAIM reply has 3 elements');
  const claimed = entriesOf(r[1]);
  check(claimed.length === N - acked.size, 'claimed ' + claimed.length + ' of ' + (N - acked.size));
  for (const e of claimed) {
    check(!acked.has(e.id), 'claimed an acked entry');
    check(Number(await c1.call('XACK', key, 'g', e.id)) === 1, 'xack claimed');
    acked.add(e.id);
  }
  const pend = await c1.call('XPENDING', key, 'g');
  check(Number(pend[0]) === 0, 'pending left: ' + pend[0]);
  check(acked.size === N, 'acked ' + acked.size);
  await c1.quit();
  await setup.quit();
}

async function protocolCheck() {
  // ioredis 6 and node-redis 6 negotiate RESP3 with HELLO 3; the older ones
  // stay on RESP2.
  const c = await connect();
  const info = str(await c.call('CLIENT', 'INFO'));
  const want = lib === 'ioredis6' || lib === 'redis6' ? 'resp=3' : 'resp=2';
  check(info.includes(want), 'CLIENT INFO lacks ' + want + ': ' + info);
  await c.quit();
}

(async () => {
  const timer = setTimeout(() => { console.error('FAIL', lib, 'timeout'); process.exit(2); }, 60000);
  await protocolCheck();
  await xreadScenario();
  await groupScenario();
  clearTimeout(timer);
  console.log('OK', lib);
  process.exit(0);
})().catch((e) => { console.error('FAIL', lib, e); process.exit(1); });
