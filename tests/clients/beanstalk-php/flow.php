<?php
// Pheanstalk 4 (Debian php-pda-pheanstalk) against sluiced: put, reserve,
// delete, release, bury, kick, peek and stats flows. Usage: flow.php PORT.
// Prints "OK <n checks>" and exits 0, or throws (non-zero exit).
require_once '/usr/share/php/Pheanstalk/autoload.php';

use Pheanstalk\Pheanstalk;
use Pheanstalk\JobId;

$checks = 0;
function check($cond, $what)
{
    global $checks;
    if (!$cond) {
        throw new RuntimeException("check failed: $what");
    }
    $checks++;
}

$p = Pheanstalk::create('127.0.0.1', (int)$argv[1]);
$p->useTube('php-tube')->watchOnly('php-tube');
check($p->listTubeUsed(true) === 'php-tube', 'listTubeUsed');
check($p->listTubesWatched(true) === ['php-tube'], 'listTubesWatched');

// put → reserve → delete
$a = $p->put('alpha', 10, 0, 30);
$b = $p->put('beta', 5, 0, 30);
$job = $p->reserveWithTimeout(1);
check($job !== null && $job->getId() === $b->getId() && $job->getData() === 'beta', 'priority order');
$p->delete($job);

// release with a new priority, reserve again
$job = $p->reserveWithTimeout(1);
check($job->getData() === 'alpha', 'reserve alpha');
$p->release($job, 3, 0);
$stats = $p->statsJob($job);
check($stats['state'] === 'ready' && (int)$stats['releases'] === 1 && (int)$stats['pri'] === 3, 'release stats');

// bury → peekBuried → kick
$job = $p->reserveWithTimeout(1);
$p->bury($job, 7);
check($p->peekBuried()->getId() === $job->getId(), 'peekBuried');
check($p->reserveWithTimeout(0) === null, 'nothing ready while buried');
check($p->kick(10) === 1, 'kick');
$job = $p->reserveWithTimeout(1);
check($job->getData() === 'alpha', 'kicked job reserved');
$p->bury($job, 1);
$p->kickJob($job);
check($p->statsJob($job)['state'] === 'ready', 'kickJob');

// delayed job, peekDelayed, touch
$d = $p->put('later', 1, 1, 5);
check($p->peekDelayed()->getId() === $d->getId(), 'peekDelayed');
$job = $p->reserveWithTimeout(1);
check($job->getData() === 'alpha', 'alpha before the delayed job');
$p->touch($job);
$p->delete($job);
$job = $p->reserveWithTimeout(3);
check($job !== null && $job->getData() === 'later', 'delayed job arrives');
$p->delete($job);

// peek by id and tube stats
$e = $p->put(str_repeat('z', 1000));
check($p->peek(new JobId($e->getId()))->getData() === str_repeat('z', 1000), 'peek');
$ts = $p->statsTube('php-tube');
check((int)$ts['current-jobs-ready'] === 1 && $ts['name'] === 'php-tube', 'statsTube');
$s = $p->stats();
check((int)$s['current-jobs-ready'] >= 1 && isset($s['uptime']), 'stats');
check(in_array('php-tube', $p->listTubes(), true), 'listTubes');
$p->delete($e);
echo "OK $checks\n";
