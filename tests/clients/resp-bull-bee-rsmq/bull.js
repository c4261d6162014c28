// bull scenarios against sluiced (driven by tests/integration/test_redis_libs_bull.py).
//
//   node bull.js produce PORT        add the jobs, print their ids as JSON
//   node bull.js work PORT NAME      process jobs until SIGTERM
//   node bull.js state PORT [ID...]  print counts and the given jobs' states
//   node bull.js events PORT N       wait for N global:completed events, print the ids
//
// Queue "main" (concurrency 2 per job name, a short lock so a dead worker's
// job stalls quickly): add (x+100, recorded in a list), flaky (fails twice, 3
// attempts, fixed backoff), boom (always fails, 2 attempts), later (delayed),
// slow (the first run hangs: its worker is killed and the stalled check
// gives the job to another worker), tick (repeatable every 300 ms, 3 times).
// Queue "limited" (rate limiter: 2 per 500 ms): 6 jobs.
'use strict';
const Queue = require('bull');
const Redis = require('ioredis');

const [, , mode, port, ...rest] = process.argv;
const redis = { host: '127.0.0.1', port: Number(port) };
const settings = { lockDuration: 1500, stalledInterval: 500, maxStalledCount: 2 };

function out(obj) {
  process.stdout.write(JSON.stringify(obj) + '\n');
}

async function produce() {
  const q = new Queue('main', { redis });
  const lim = new Queue('limited', { redis });
  const ids = { add: [], limited: [] };
  for (let i = 0; i < 20; i++) ids.add.push(String((await q.add('add', { x: i })).id));
  ids.flaky = String((await q.add('flaky', { name: 'f1' }, { attempts: 3, backoff: { type: 'fixed', delay: 100 } })).id);
  ids.boom = String((await q.add('boom', {}, { attempts: 2 })).id);
  ids.later = String((await q.add('later', { x: 40 }, { delay: 800 })).id);
  ids.slow = String((await q.add('slow', { name: 'victim' })).id);
  await q.add('tick', {}, { repeat: { every: 300, limit: 3 } });
  for (let i = 0; i < 6; i++) ids.limited.push(String((await lim.add({ i })).id));
  out(ids);
  process.exit(0);
}

async function work(name) {
  const r = new Redis(redis);
  const q = new Queue('main', { redis, settings });
  const lim = new Queue('limited', { redis, limiter: { max: 2, duration: 500 } });
  q.process('add', 2, async (job) => {
    await r.rpush('results', job.id + '=' + (job.data.x + 100));
    return job.data.x + 100;
  });
  q.process('flaky', async (job) => {
    const n = await r.incr('attempts:' + job.data.name);
    if (n <= 2) throw new Error('attempt ' + n + ' failed');
    return n;
  });
  q.process('boom', async () => {
    throw new Error('always fails');
  });
  q.process('later', async (job) => job.data.x + 2);
  q.process('slow', async (job) => {
    if (await r.set('running:' + job.data.name, name, 'NX')) return new Promise(() => {});
    return 'recovered by ' + name;
  });
  q.process('tick', async () => r.incr('ticks'));
  lim.process(3, async (job) => job.data.i);
  for (const x of [q, lim]) x.on('error', (e) => console.error('queue error', e && e.message));
  await q.isReady();
  await lim.isReady();
  out('ready');
  process.on('SIGTERM', async () => {
    await Promise.all([q.close(), lim.close()]);
    r.disconnect();
    process.exit(0);
  });
}

async function state(ids) {
  const res = { jobs: {} };
  for (const qn of ['main', 'limited']) {
    const q = new Queue(qn, { redis });
    res[qn] = await q.getJobCounts();
    for (const id of ids) {
      // The state first, then the job's hash: the other order can see a job
      // that completes in between as completed without its result.
      const j0 = await q.getJob(id);
      if (!j0) continue;
      const st = await j0.getState();
      const j = (await q.getJob(id)) || j0;
      res.jobs[qn + ':' + id] = {
        name: j.name, state: st, result: j.returnvalue === undefined ? null : j.returnvalue,
        attempts: j.attemptsMade, error: j.failedReason || null, processedOn: j.processedOn || null,
      };
    }
    await q.close();
  }
  out(res);
  process.exit(0);
}

async function events(n) {
  const q = new Queue('main', { redis });
  const seen = [];
  q.on('global:completed', (jobId) => {
    seen.push(String(jobId));
    if (seen.length === n) {
      out(seen);
      process.exit(0);
    }
  });
  await q.isReady();
  // The subscription is made when the listener is added; wait for it.
  await new Promise((res) => setTimeout(res, 0));
  out('listening');
}

const run = { produce, work: () => work(rest[0]), state: () => state(rest), events: () => events(Number(rest[0])) }[mode];
run().catch((e) => {
  console.error(e);
  process.exit(1);
});
