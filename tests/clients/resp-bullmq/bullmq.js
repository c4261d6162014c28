// bullmq scenarios against sluiced (driven by tests/integration/test_redis_libs_bullmq.py).
//
//   node bullmq.js produce PORT        add the jobs, print their ids as JSON
//   node bullmq.js work PORT NAME      run the workers until SIGTERM
//   node bullmq.js state PORT [ID...]  print counts and the given jobs' states
//   node bullmq.js events PORT N       wait for N "completed" events (QueueEvents), print them
//
// Queue "main" (worker concurrency 2, a short lock so a dead worker's job
// stalls quickly): add (x+100, recorded in a list), flaky (fails twice, 3
// attempts, fixed backoff), boom (always fails, 2 attempts, exponential
// backoff), later (delayed), slow (the first run hangs: the one whose worker
// is killed; the stalled-job check gives it to another worker), a flow
// (FlowProducer: a parent summing its two children), tick (repeatable, every
// 200 ms, 3 times). Queue "limited": 6 jobs under a rate limiter of 2 per
// 500 ms.
'use strict';
const { Queue, Worker, QueueEvents, FlowProducer, Job } = require('bullmq');
const IORedis = require('ioredis');

const [, , mode, port, ...rest] = process.argv;
const connection = { host: '127.0.0.1', port: Number(port), maxRetriesPerRequest: null };

function out(obj) {
  process.stdout.write(JSON.stringify(obj) + '\n');
}

async function produce() {
  const q = new Queue('main', { connection });
  const lim = new Queue('limited', { connection });
  const ids = { add: [], limited: [] };
  for (let i = 0; i < 20; i++) ids.add.push((await q.add('add', { x: i })).id);
  ids.flaky = (await q.add('flaky', { name: 'f1' }, { attempts: 3, backoff: { type: 'fixed', delay: 100 } })).id;
  ids.boom = (await q.add('boom', {}, { attempts: 2, backoff: { type: 'exponential', delay: 50 } })).id;
  ids.later = (await q.add('later', { x: 40 }, { delay: 800 })).id;
  ids.slow = (await q.add('slow', { name: 'victim' })).id;
  const flow = await new FlowProducer({ connection }).add({
    name: 'parent', queueName: 'main', data: {},
    children: [{ name: 'child', queueName: 'main', data: { v: 1 } },
               { name: 'child', queueName: 'main', data: { v: 2 } }],
  });
  ids.parent = flow.job.id;
  ids.children = flow.children.map((c) => c.job.id);
  await q.add('tick', {}, { repeat: { every: 200, limit: 3 } });
  for (let i = 0; i < 6; i++) ids.limited.push((await lim.add('lim', { i })).id);
  out(ids);
  process.exit(0);
}

async function work(name) {
  const r = new IORedis(connection);
  const main = new Worker('main', async (job) => {
    switch (job.name) {
      case 'add':
        await r.rpush('results', job.id + '=' + (job.data.x + 100));
        return job.data.x + 100;
      case 'flaky': {
        const n = await r.incr('attempts:' + job.data.name);
        if (n <= 2) throw new Error('attempt ' + n + ' failed');
        return n;
      }
      case 'boom':
        throw new Error('always fails');
      case 'later':
        return job.data.x + 2;
      case 'slow':
        // The first run marks the job and hangs (its worker is killed); the
        // run after the stalled check finds the mark and finishes.
        if (await r.set('running:' + job.data.name, name, 'NX')) return new Promise(() => {});
        return 'recovered by ' + name;
      case 'child':
        return job.data.v * 10;
      case 'parent':
        return Object.values(await job.getChildrenValues()).reduce((a, b) => a + b, 0);
      case 'tick':
        return r.incr('ticks');
      default:
        throw new Error('unknown job ' + job.name);
    }
  }, { connection, concurrency: 2, lockDuration: 1500, stalledInterval: 500, maxStalledCount: 2 });
  const lim = new Worker('limited', async (job) => job.data.i, {
    connection, concurrency: 3, limiter: { max: 2, duration: 500 } });
  for (const w of [main, lim]) w.on('error', (e) => console.error('worker error', e && e.message));
  await main.waitUntilReady();
  await lim.waitUntilReady();
  out('ready');
  process.on('SIGTERM', async () => {
    await Promise.all([main.close(), lim.close()]);
    r.disconnect();
    process.exit(0);
  });
}

async function state(ids) {
  const res = { jobs: {} };
  for (const qn of ['main', 'limited']) {
    const q = new Queue(qn, { connection });
    res[qn] = await q.getJobCounts('completed', 'failed', 'active', 'wait', 'delayed', 'waiting-children');
    for (const id of ids) {
      // The state first, then the job's hash: the other order can see a job
      // that completes in between as completed without its result.
      const j0 = await Job.fromId(q, id);
      if (!j0 || j0.queueName !== qn) continue;
      const st = await j0.getState();
      const j = (await Job.fromId(q, id)) || j0;
      res.jobs[qn + ':' + id] = {
        name: j.name, state: st, result: j.returnvalue === undefined ? null : j.returnvalue,
        attempts: j.attemptsMade, error: j.failedReason || null, processedOn: j.processedOn || null,
      };
    }
  }
  out(res);
  process.exit(0);
}

async function events(n) {
  const ev = new QueueEvents('main', { connection });
  await ev.waitUntilReady();
  const seen = [];
  ev.on('completed', ({ jobId }) => {
    seen.push(jobId);
    if (seen.length === n) {
      out(seen);
      process.exit(0);
    }
  });
  out('listening');
}

const run = { produce, work: () => work(rest[0]), state: () => state(rest), events: () => events(Number(rest[0])) }[mode];
run().catch((e) => {
  console.error(e);
  process.exit(1);
});
