// jackd 2.2.2 (npm) against sluiced: put, reserve, delete, release, bury,
// kick, peek and stats flows. Usage: node flow.js PORT. Prints
// "OK <n checks>" and exits 0, or exits 1 with the failed check.
'use strict';
const Jackd = require('jackd').default || require('jackd');

let checks = 0;
function check(cond, what) {
  if (!cond) throw new Error('check failed: ' + what);
  checks++;
}

async function main(port) {
  const c = new Jackd();
  await c.connect({ host: '127.0.0.1', port });
  check((await c.use('node-tube')) === 'node-tube', 'use');
  check((await c.watch('node-tube')) === 2, 'watch');
  check((await c.ignore('default')) === 1, 'ignore');

  const a = await c.put('alpha', { priority: 10, ttr: 30 });
  const b = await c.put('beta', { priority: 5, ttr: 30 });
  let job = await c.reserveWithTimeout(1);
  check(job.id === b && job.payload.toString() === 'beta', 'priority order');
  await c.delete(job.id);

  job = await c.reserve();
  check(job.id === a, 'reserve alpha');
  await c.release(job.id, { priority: 3, delay: 0 });
  check(/state: ready/.test(await c.statsJob(job.id)), 'released');
  check(/pri: 3\n/.test(await c.statsJob(job.id)), 'new priority');

  job = await c.reserve();
  await c.bury(job.id, 9);
  check((await c.peekBuried()).id === a, 'peekBuried');
  check((await c.kick(5)) === 1, 'kick');
  job = await c.reserve();
  await c.touch(job.id);
  await c.bury(job.id, 1);
  await c.kickJob(job.id);
  check(/state: ready/.test(await c.statsJob(job.id)), 'kickJob');

  const d = await c.put('later', { delay: 1 });
  check((await c.peekDelayed()).id === d, 'peekDelayed');
  job = await c.reserve();
  check(job.id === a, 'alpha first');
  await c.delete(job.id);
  job = await c.reserveWithTimeout(3);
  check(job.id === d && job.payload.toString() === 'later', 'delayed job arrives');
  await c.delete(job.id);
  let timedOut = false;
  try {
    await c.reserveWithTimeout(0);
  } catch (e) {
    timedOut = /TIMED_OUT/.test(String(e && (e.message || e)));
  }
  check(timedOut, 'TIMED_OUT');

  const big = 'z'.repeat(5000);
  const e = await c.put(big);
  check((await c.peek(e)).payload.toString() === big, 'peek');
  check(/current-jobs-ready: 1\n/.test(await c.statsTube('node-tube')), 'statsTube');
  check(/- node-tube\n/.test(await c.listTubes()), 'listTubes');
  await c.delete(e);
  await c.disconnect();
  console.log('OK ' + checks);
}

main(parseInt(process.argv[2], 10)).catch((err) => {
  console.error(err && err.stack ? err.stack : err);
  process.exit(1);
});
