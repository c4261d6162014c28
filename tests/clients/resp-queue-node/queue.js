// queue.js — list-queue, pub/sub and transaction scenarios for ioredis and
// node-redis against sluiced, driven by tests/integration/test_resp_lists_clients.py.
//
//   node queue.js worker PORT CHANNEL ID     ioredis: SUBSCRIBE CHANNEL; on each
//                                            notification BLPOP CHANNEL_job 5;
//                                            prints "JOB ID value" per job
//   node queue.js producer PORT CHANNEL N    ioredis: PUBLISH + LPUSH per message
//   node queue.js reliable-crash PORT        BLMOVE jobs → processing, print
//                                            TAKEN, then hang (killed by the test)
//   node queue.js reliable-drain PORT        move stale processing items back,
//                                            then BLMOVE/LREM until empty
//   node queue.js dedup PORT                 SET NX EX guard raced by 8 clients
//   node queue.js noderedis PORT             node-redis v4 pub/sub, lists, MULTI
// Every loop is bounded; each command prints "OK <name>" when it succeeds.
'use strict';
const Redis = require('ioredis');

const [cmd, portArg, ...rest] = process.argv.slice(2);
const port = Number(portArg);
const out = (s) => process.stdout.write(s + '\n');
const fail = (e) => { process.stderr.write('FAIL ' + (e && e.stack || e) + '\n'); process.exit(1); };
const ioredis = () => new Redis({ port, host: '127.0.0.1', maxRetriesPerRequest: 0, enableOfflineQueue: true });

async function worker(channel, id) {
  const sub = ioredis();
  const blk = ioredis();
  sub.on('message', (ch, msg) => {
    blk.blpop(channel + '_job', 5).then((r) => {
      if (r) out(`JOB ${id} ${r[1]}`);
    }, () => {});
  });
  await sub.subscribe(channel);
  out('READY');
  // Runs until the test has seen every job and terminates it.
  setInterval(() => {}, 1000);
}

async function producer(channel, n) {
  const pub = ioredis();
  for (let i = 0; i < n; i++) {
    const msg = `msg-${i}`;
    await pub.publish(channel, msg);
    await pub.lpush(channel + '_job', msg);
  }
  out('OK producer');
  pub.disconnect();
}

async function reliableCrash() {
  const r = ioredis();
  const item = await r.blmove('jobs', 'processing', 'RIGHT', 'LEFT', 5);
  if (!item) fail('no job to take');
  out('TAKEN ' + item);
  setInterval(() => {}, 1000); // "working" until SIGKILL
}

async function reliableDrain() {
  const r = ioredis();
  // Recovery: whatever a dead worker left in processing goes back to the queue.
  for (let i = 0; i < 1000; i++) {
    const back = await r.lmove('processing', 'jobs', 'RIGHT', 'RIGHT');
    if (back === null) break;
    out('RECOVERED ' + back);
  }
  for (let i = 0; i < 1000; i++) {
    const item = await r.blmove('jobs', 'processing', 'RIGHT', 'LEFT', 0.5);
    if (item === null) break;
    out('DONE ' + item);
    const n = await r.lrem('processing', 1, item);
    if (n !== 1) fail('LREM removed ' + n);
  }
  if ((await r.llen('processing')) !== 0) fail('processing not empty');
  out('OK reliable');
  r.disconnect();
}

async function dedup() {
  const clients = Array.from({ length: 8 }, ioredis);
  const res = await Promise.all(clients.map((c, i) => c.set('guard:job-7', 'w' + i, 'EX', 30, 'NX')));
  const winners = res.filter((x) => x === 'OK').length;
  if (winners !== 1 || res.filter((x) => x === null).length !== 7) fail('dedup ' + JSON.stringify(res));
  const ttl = await clients[0].ttl('guard:job-7');
  if (ttl < 1 || ttl > 30) fail('ttl ' + ttl);
  out('OK dedup');
  clients.forEach((c) => c.disconnect());
}

async function nodeRedis() {
  const { createClient, commandOptions } = require('redis');
  const c = createClient({ socket: { port, host: '127.0.0.1' } });
  await c.connect();
  const sub = c.duplicate();
  await sub.connect();
  const got = [];
  await sub.subscribe('nr:ch', (m, ch) => got.push(`${ch}:${m}`));
  await sub.pSubscribe('nr:*', (m, ch) => got.push(`p:${ch}:${m}`));
  const n = await c.publish('nr:ch', 'hello');
  if (n !== 2) fail('publish receivers ' + n);
  for (let i = 0; i < 200 && got.length < 2; i++) await new Promise((r) => setTimeout(r, 10));
  if (got.sort().join(',') !== 'nr:ch:hello,p:nr:ch:hello') fail('pubsub ' + got);
  await sub.unsubscribe('nr:ch');
  await sub.pUnsubscribe('nr:*');
  // Lists: a blocked BRPOP on an isolated connection served by a later push.
  await c.del(['nr:q', 'nr:done']);
  const waiting = c.brPop(commandOptions({ isolated: true }), 'nr:q', 5);
  await new Promise((r) => setTimeout(r, 50));
  await c.lPush('nr:q', ['a', 'b']);
  const popped = await waiting;
  if (!popped || popped.key !== 'nr:q' || popped.element !== 'a') fail('brPop ' + JSON.stringify(popped));
  const moved = await c.blMove('nr:q', 'nr:done', 'RIGHT', 'LEFT', 1);
  if (moved !== 'b') fail('blMove ' + moved);
  if (JSON.stringify(await c.lRange('nr:done', 0, -1)) !== '["b"]') fail('lRange');
  // MULTI/EXEC.
  const res = await c.multi().set('nr:k', '1').incr('nr:k').lPush('nr:l', 'x').lPop('nr:l').exec();
  if (JSON.stringify(res) !== '["OK",2,1,"x"]') fail('multi ' + JSON.stringify(res));
  // WATCH aborts when another client changes the key.
  const res2 = await c.executeIsolated(async (iso) => {
    await iso.watch('nr:k');
    await c.set('nr:k', 'changed');
    try {
      return await iso.multi().set('nr:k', 'mine').exec();
    } catch (e) {
      return e.message;
    }
  });
  if (!String(res2).includes('watched keys')) fail('watch ' + JSON.stringify(res2));
  if ((await c.get('nr:k')) !== 'changed') fail('watch value');
  if (await c.set('nr:lock', '1', { NX: true, PX: 10000 }) !== 'OK') fail('set nx');
  if (await c.set('nr:lock', '1', { NX: true, PX: 10000 }) !== null) fail('set nx twice');
  await sub.quit();
  await c.quit();
  out('OK node-redis');
}

const run = {
  worker: () => worker(rest[0], rest[1]),
  producer: () => producer(rest[0], Number(rest[1])),
  'reliable-crash': reliableCrash,
  'reliable-drain': reliableDrain,
  dedup,
  noderedis: nodeRedis,
}[cmd];
if (!run) fail('unknown scenario ' + cmd);
run().catch(fail);
