// rsmq scenarios against sluiced (driven by tests/integration/test_redis_libs_rsmq.py).
//
//   node rsmq.js produce PORT        create the queue (once) and send the messages, print their ids
//   node rsmq.js consume PORT NAME   receive, process and delete messages until SIGTERM
//   node rsmq.js state PORT          print the queue's attributes
//
// Messages: 20 "add:<i>" (recorded in a list), "later" (sent with a 1 s
// delay), "poison" (its processing always fails: left to come back after its
// visibility timeout, moved to a dead-letter queue on the third receive),
// "victim" (the first receiver hangs holding it and is killed; the message
// comes back after its visibility timeout to the other consumer).
'use strict';
const RedisSMQ = require('rsmq');
const Redis = require('ioredis');

const [, , mode, port, ...rest] = process.argv;
const opts = { host: '127.0.0.1', port: Number(port), ns: 'rsmq' };
const rsmq = new RedisSMQ(opts);

function out(obj) {
  process.stdout.write(JSON.stringify(obj) + '\n');
}

async function produce() {
  const queues = await rsmq.listQueuesAsync();
  for (const qname of ['jobs', 'dead']) {
    if (!queues.includes(qname)) await rsmq.createQueueAsync({ qname, vt: 1 });
  }
  const ids = { add: [] };
  for (let i = 0; i < 20; i++) ids.add.push(await rsmq.sendMessageAsync({ qname: 'jobs', message: 'add:' + i }));
  ids.later = await rsmq.sendMessageAsync({ qname: 'jobs', message: 'later', delay: 1 });
  ids.poison = await rsmq.sendMessageAsync({ qname: 'jobs', message: 'poison' });
  ids.victim = await rsmq.sendMessageAsync({ qname: 'jobs', message: 'victim' });
  out(ids);
  rsmq.quit();
}

async function consume(name) {
  const r = new Redis(opts);
  let stop = false;
  process.on('SIGTERM', () => { stop = true; });
  out('ready');
  while (!stop) {
    const m = await rsmq.receiveMessageAsync({ qname: 'jobs' });
    if (!m.id) {
      await new Promise((res) => setTimeout(res, 20));
      continue;
    }
    if (m.message === 'poison') {
      if (m.rc >= 3) {
        await rsmq.sendMessageAsync({ qname: 'dead', message: 'poison after ' + m.rc });
        await rsmq.deleteMessageAsync({ qname: 'jobs', id: m.id });
      }
      continue; // failed: it comes back after its visibility timeout
    }
    if (m.message === 'victim' && await r.set('running:victim', name, 'NX')) {
      await new Promise(() => {}); // hangs holding it; killed
    }
    await r.rpush('done', m.message + (m.message === 'victim' ? ' rc=' + m.rc + ' by ' + name : ''));
    await rsmq.deleteMessageAsync({ qname: 'jobs', id: m.id });
  }
  r.disconnect();
  rsmq.quit();
}

async function state() {
  const a = await rsmq.getQueueAttributesAsync({ qname: 'jobs' });
  const d = await rsmq.getQueueAttributesAsync({ qname: 'dead' });


  out({ jobs: { msgs: a.msgs, hiddenmsgs: a.hiddenmsgs, totalsent: a.totalsent, totalrecv: a.totalrecv },
    dead: { msgs: d.msgs, totalsent: d.totalsent } });
  rsmq.quit();
}

const run = { produce, consume: () => consume(rest[0]), state }[mode];
run().catch((e) => {
  console.error(e);
  process.exit(1);
});
