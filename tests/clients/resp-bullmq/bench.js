// bullmq throughput for bench/bench_37_redis_scripts.sh:
//   node bench.js PORT N   add N jobs (addBulk, 100 at a time) while 4 Workers
//                          (concurrency 8 each) process them; prints jobs/s
//                          from the first add to the last completion.
'use strict';
const { Queue, Worker } = require('bullmq');

const [, , port, nStr] = process.argv;
const n = Number(nStr);
const connection = { host: '127.0.0.1', port: Number(port), maxRetriesPerRequest: null };

(async () => {
  const q = new Queue('bench', { connection });
  await q.obliterate({ force: true });
  let done = 0;
  let finish;
  const all = new Promise((res) => { finish = res; });
  const workers = [];
  for (let i = 0; i < 4; i++) {
    const w = new Worker('bench', async (job) => job.data.i, {
      connection, concurrency: 8, removeOnComplete: { count: 1000 } });
    w.on('completed', () => { if (++done === n) finish(); });
    workers.push(w);
  }
  await Promise.all(workers.map((w) => w.waitUntilReady()));
  const t0 = process.hrtime.bigint();
  for (let i = 0; i < n; i += 100) {
    const batch = [];
    for (let j = i; j < Math.min(n, i + 100); j++) batch.push({ name: 'j', data: { i: j } });
    await q.addBulk(batch);
  }
  await all;
  const secs = Number(process.hrtime.bigint() - t0) / 1e9;
  process.stdout.write((n / secs).toFixed(0) + '\n');
  await Promise.all(workers.map((w) => w.close()));
  await q.close();
  process.exit(0);
})().catch((e) => {
  console.error(e);
  process.exit(1);
});
