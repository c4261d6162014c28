// bee-queue scenarios against sluiced (driven by tests/integration/test_redis_libs_beequeue.py).
//
//   node bee.js produce PORT        create the jobs, print their ids as JSON
//   node bee.js work PORT NAME      process jobs until SIGTERM (2 at a time)
//   node bee.js state PORT [ID...]  print the queue's health and the given jobs
//   node bee.js events PORT N       wait for N "job succeeded" events, print the ids
//
// Jobs: add (x+100, recorded in a list), flaky (fails twice, 2 retries with a
// fixed backoff), boom (always fails, 1 retry), later (delayed 800 ms), slow
// (the first run hangs: its worker is killed and bee-queue's stalled-job check
// in the other worker retries it).
'use strict';
const Queue = require('bee-queue');
const Redis = require('ioredis');

const [, , mode, port, ...rest] = process.argv;
const redis = { host: '127.0.0.1', port: Number(port) };

function out(obj) {
  process.stdout.write(JSON.stringify(obj) + '\n');
}

function queue(opts) {
  const q = new Queue('main', Object.assign({ redis, removeOnSuccess: false, removeOnFailure: false,
    stallInterval: 1000, activateDelayedJobs: true }, opts));
  q.on('error', (e) => console.error('queue error', e && e.message));
  return q;
}

async function produce() {
  const q = queue({ isWorker: false, getEvents: false });
  await q.ready();
  const ids = { add: [] };
  for (let i = 0; i < 20; i++) ids.add.push((await q.createJob({ kind: 'add', x: i }).save()).id);
  ids.flaky = (await q.createJob({ kind: 'flaky', name: 'f1' }).retries(2).backoff('fixed', 100).save()).id;
  ids.boom = (await q.createJob({ kind: 'boom' }).retries(1).save()).id;
  ids.later = (await q.createJob({ kind: 'later', x: 40 }).delayUntil(Date.now() + 800).save()).id;
  ids.slow = (await q.createJob({ kind: 'slow', name: 'victim' }).save()).id;
  out(ids);
  await q.close();
  process.exit(0);
}

async function work(name) {
  const r = new Redis(redis);
  const q = queue({ getEvents: false });
  q.process(2, async (job) => {
    const d = job.data;
    switch (d.kind) {
      case 'add':
        await r.rpush('results', job.id + '=' + (d.x + 100));
        return d.x + 100;
      case 'flaky': {
        const n = await r.incr('attempts:' + d.name);
        if (n <= 2) throw new Error('attempt ' + n + ' failed');
        return n;
      }
      case 'boom':
        throw new Error('always fails');
      case 'later':
        return d.x + 2;
      case 'slow':
        if (await r.set('running:' + d.name, name, 'NX')) return new Promise(() => {});
        return 'recovered by ' + name;
      default:
        throw new Error('unknown job');
    }
  });
  await q.ready();
  // bee-queue retries the jobs of workers that stopped refreshing their
  // lock only when asked: check every half second.
  q.checkStalledJobs(500);
  out('ready');
  process.on('SIGTERM', async () => {
    await q.close(5000);
    r.disconnect();
    process.exit(0);
  });
}

async function state(ids) {
  const q = queue({ isWorker: false, getEvents: false });
  await q.ready();
  const h = await q.checkHealth();
  const res = { health: { waiting: h.waiting, active: h.active, succeeded: h.succeeded, failed: h.failed,
    delayed: h.delayed }, jobs: {} };
  for (const id of ids) {
    const j = await q.getJob(id);
    if (j) res.jobs[id] = { status: j.status, progress: j.progress, data: j.data, retriesLeft: j.options.retries };
  }
  out(res);
  await q.close();
  process.exit(0);
}

async function events(n) {
  const q = queue({ isWorker: false, getEvents: true });
  const seen = {};
  q.on('job succeeded', (jobId, result) => {
    seen[jobId] = result;
    if (Object.keys(seen).length === n) {
      out(seen);
      process.exit(0);
    }
  });
  await q.ready();
  out('listening');
}

const run = { produce, work: () => work(rest[0]), state: () => state(rest), events: () => events(Number(rest[0])) }[mode];
run().catch((e) => {
  console.error(e);
  process.exit(1);
});
