<?php
// scenario.php PORT — Predis 1.1 (Debian php-predis) against sluiced. Predis
// 1.1 has no stream commands, so they go through executeRaw(): a producer
// adds entries with XADD MAXLEN ~ 100, a reader follows with XREAD from 0
// and then from the last ID, and a group consumer reads, acknowledges, and
// recovers its own pending entries with XAUTOCLAIM. Prints "OK predis".
require_once 'Predis/Autoloader.php';
Predis\Autoloader::register();

$port = (int)$argv[1];
$c = new Predis\Client(['host' => '127.0.0.1', 'port' => $port, 'read_write_timeout' => 10]);
function fail($m) { fwrite(STDERR, "FAIL predis $m\n"); exit(1); }

$key = 'php:' . getmypid();
$n = 25;
$ids = [];
for ($i = 1; $i <= $n; $i++) {
    $ids[] = $c->executeRaw(['XADD', $key, 'MAXLEN', '~', '100', '*', 'id', (string)$i, 'name', 'v']);
}
$last = '0';
$got = [];
for ($loops = 0; count($got) < $n && $loops < 100; $loops++) {
    $r = $c->executeRaw(['XREAD', 'COUNT', '4', 'BLOCK', '1000', 'STREAMS', $key, $last]);
    if ($r === null) continue;
    foreach ($r as $stream) {
        foreach ($stream[1] as $e) {
            $got[] = (int)$e[1][1];
            $last = $e[0];
        }
    }
}
if ($got !== range(1, $n)) fail('xread order: ' . json_encode($got));
if ($last !== $ids[$n - 1]) fail('last id');

if ($c->executeRaw(['XGROUP', 'CREATE', $key, 'g', '0']) != 'OK') fail('xgroup create');
$err = $c->executeRaw(['XGROUP', 'CREATE', $key, 'g', '0'], $isError);
if (!$isError || strpos((string)$err, 'BUSYGROUP') !== 0) fail('busygroup: ' . $err);
$r = $c->executeRaw(['XREADGROUP', 'GROUP', 'g', 'c1', 'COUNT', '10', 'STREAMS', $key, '>']);
$seen = $r[0][1];
if (count($seen) !== 10) fail('xreadgroup count');
$acked = (int)$c->executeRaw(['XACK', $key, 'g', $seen[0][0], $seen[1][0]]);
if ($acked !== 2) fail("xack $acked");
$claim = $c->executeRaw(['XAUTOCLAIM', $key, 'g', 'c1', '0', '0-0', 'COUNT', '100']);
if (count($claim) !== 3 || count($claim[1]) !== 8) fail('xautoclaim: ' . json_encode($claim));
$pend = $c->executeRaw(['XPENDING', $key, 'g']);
if ((int)$pend[0] !== 8) fail('xpending');
echo "OK predis\n";
