<?php
// queue.php PORT — Predis (Debian php-predis) against sluiced: list queue
// (LPUSH / BRPOP / BLMOVE / LREM), pub/sub through pubSubLoop() with a
// second client publishing, a MULTI/EXEC transaction and a SET NX EX guard.
// Every loop is bounded. Prints "OK predis".
require_once 'Predis/Autoloader.php';
Predis\Autoloader::register();

$port = (int)$argv[1];
$opts = ['host' => '127.0.0.1', 'port' => $port, 'read_write_timeout' => 10];
$c = new Predis\Client($opts);
function fail($m) { fwrite(STDERR, "FAIL predis $m\n"); exit(1); }

$c->del(['php:q', 'php:proc', 'php:lock']);
if ($c->lpush('php:q', ['a', 'b', 'c']) != 3) fail('lpush');
$r = $c->brpop(['php:none', 'php:q'], 1);
if ($r !== ['php:q', 'a']) fail('brpop ' . json_encode($r));
$m = $c->executeRaw(['BLMOVE', 'php:q', 'php:proc', 'RIGHT', 'LEFT', '1']);
if ($m !== 'b') fail('blmove ' . json_encode($m));
if ($c->lrem('php:proc', 1, 'b') != 1) fail('lrem');
if ($c->llen('php:q') != 1 || $c->exists('php:proc')) fail('lengths');
if ($c->brpop(['php:none'], 0.1) !== null) fail('brpop timeout');

$res = $c->transaction(function ($tx) {
    $tx->set('php:k', '1');
    $tx->incrby('php:k', 5);
    $tx->rpush('php:l', 'x');
    $tx->lpop('php:l');
});
if (json_encode(array_map('strval', $res)) !== '["OK","6","1","x"]') fail('multi ' . json_encode($res));

if ((string)$c->set('php:lock', 'w1', 'EX', 10, 'NX') !== 'OK') fail('set nx');
if ($c->set('php:lock', 'w2', 'EX', 10, 'NX') !== null) fail('set nx again');
if ($c->ttl('php:lock') < 1) fail('ttl');

$pub = new Predis\Client($opts);
$sub = new Predis\Client($opts);
$loop = $sub->pubSubLoop();
$loop->subscribe('php:ch');
$loop->psubscribe('php:*');
$got = [];
$i = 0;
foreach ($loop as $msg) {
    if (++$i > 20) fail('pubsub loop ran away');
    if ($msg->kind === 'psubscribe') {
        if ($pub->publish('php:ch', 'hello') != 2) fail('publish');
    } elseif ($msg->kind === 'message' || $msg->kind === 'pmessage') {
        $got[] = $msg->kind . ':' . $msg->channel . ':' . $msg->payload;
        if (count($got) == 2) {
            $loop->unsubscribe();
            $loop->punsubscribe();
        }
    }
}
sort($got);
if ($got !== ['message:php:ch:hello', 'pmessage:php:ch:hello']) fail('pubsub ' . json_encode($got));
echo "OK predis\n";
