// kue scenarios against sluiced (driven by tests/integration/test_redis_libs_kue.py).
//
//   node kue.js produce PORT           create the jobs, print their ids as JSON
//   node kue.js work PORT NAME         process jobs until SIGTERM (2 at a time)
//   node kue.js recover PORT           put active jobs of dead workers back (kue's
//                                      documented recovery of stuck jobs)
//   node kue.js state PORT [ID...]     print counts and the given jobs' states
//   node kue.js events PORT N          wait for N "job complete" events, print them
//
// Jobs: add (x+y, result recorded), flaky (fails twice, 3 attempts with a fixed
// backoff), boom (always fails, 2 attempts), later (delayed 1 s), slow (the first
// run sleeps long: the one whose worker is killed).
'use strict';
const kue = require('kue');

const [, , mode, port, ...rest] = process.argv;
const queue = kue.createQueue({ prefix: 'q', redis: { port: Number(port), host: '127.0.0.1' } });
queue.on('error', (err) => console.error('queue error', err && err.message));

function done(obj) {
  process.stdout.write(JSON.stringify(obj) + '\n');
  queue.shutdown(1000, () => process.exit(0));
}

function save(job) {
  return new Promise((resolve, reject) => job.save((err) => (err ? reject(err) : resolve(job.id))));
}

async function produce() {
  const ids = { add: [], flaky: null, boom: null, later: null, slow: null };
  for (let i = 0; i < 20; i++) {
    ids.add.push(await save(queue.create('add', { x: i, y: 100 }).priority(i % 2 ? 'high' : 'normal')));
  }
  ids.flaky = await save(queue.create('flaky', { name: 'f1' }).attempts(3).backoff({ type: 'fixed', delay: 200 }));
  ids.boom = await save(queue.create('boom', {}).attempts(2));
  ids.later = await save(queue.create('later', { x: 40 }).delay(1000));
  ids.slow = await save(queue.create('slow', { name: 'victim' }));
  done(ids);
}

function work(name) {
  const c = queue.client;
  queue.process('add', 2, (job, cb) => {
    const r = job.data.x + job.data.y;
    c.rpush('results', job.id + '=' + r, () => cb(null, r));
  });
  queue.process('flaky', (job, cb) => {
    c.incr('attempts:' + job.data.name, (err, n) => cb(n <= 2 ? new Error('attempt ' + n + ' failed') : null, n));
  });
  queue.process('boom', (job, cb) => cb(new Error('always fails')));
  queue.process('later', (job, cb) => cb(null, job.data.x + 2));
  queue.process('slow', (job, cb) => {
    // The first run marks the job and hangs (its worker is killed); a run
    // after the recovery finds the mark and finishes.
    c.set('running:' + job.data.name, name + ':' + process.pid, 'NX', (err, ok) => {
      if (ok) return; // never calls back: the worker dies holding the job
      cb(null, 'recovered by ' + name);
    });
  });
  process.on('SIGTERM', () => queue.shutdown(5000, () => process.exit(0)));
  process.stdout.write('ready\n');
}

function recover() {
  queue.active((err, ids) => {
    if (err) throw err;
    let left = ids.length;
    if (!left) return done({ requeued: [] });
    ids.forEach((id) => kue.Job.get(id, (e, job) => {
      job.inactive();
      if (--left === 0) setTimeout(() => done({ requeued: ids.map(Number) }), 200);
    }));
  });
}

function count(fn) {
  return new Promise((resolve, reject) => queue[fn]((err, n) => (err ? reject(err) : resolve(n))));
}

function job(id) {
  return new Promise((resolve) => kue.Job.get(id, (err, j) => resolve(err ? { id, error: String(err.message || err) } : {
    id: Number(j.id), type: j.type, state: j._state, result: j.result, attempts: j._attempts,
    error: j._error, delay: j._delay,
  })));
}

async function state(ids) {
  const out = {};
  for (const f of ['inactiveCount', 'activeCount', 'completeCount', 'failedCount', 'delayedCount']) out[f] = await count(f);
  out.jobs = [];
  for (const id of ids) out.jobs.push(await job(id));
  done(out);
}

function events(n) {
  const seen = [];
  queue.on('job complete', (id, result) => {
    seen.push([Number(id), result]);
    if (seen.length === n) done(seen);
  });
  process.stdout.write('listening\n');
}

if (mode === 'produce') produce().catch((e) => { console.error(e); process.exit(1); });
else if (mode === 'work') work(rest[0]);
else if (mode === 'recover') recover();
else if (mode === 'state') state(rest.map(Number)).catch((e) => { console.error(e); process.exit(1); });
else if (mode === 'events') events(Number(rest[0]));
else { console.error('usage: kue.js produce|work|recover|state|events PORT ...'); process.exit(2); }
