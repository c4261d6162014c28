"""DUMP / RESTORE: payloads cross-restored between Debian's redis-server
7.0 and sluiced, both ways, for every type and the encodings redis-server
dumps (listpack, quicklist, intset, LZF-compressed strings, plain
hashtables and skiplists, streams with consumer groups, pending entries
and consumers); RESTORE's options and error replies compared
exactly with redis-server's; a restored key survives a restart of
sluiced."""
import pytest
import redis

import sluice


@pytest.fixture(scope="module")
def servers():
    ref = sluice.redis_ref()
    srv = sluice.Sluiced(fsync="always", listeners=("resp",))
    yield ref, srv
    srv.stop()
    ref.stop()


def clients(servers):
    ref, srv = servers
    return (redis.Redis(port=ref.port), redis.Redis(port=srv.port("resp")))


BIG = 300  # past every listpack / intset threshold


def fill(r, kind, size):
    """Creates key `k_<kind>_<size>` of one type; size 'small' keeps redis's
    compact encodings, 'big' forces the plain ones."""
    n = 5 if size == "small" else BIG
    k = "k_%s_%s" % (kind, size)
    r.delete(k)
    if kind == "string":
        r.set(k, "x" * (3 if size == "small" else 5000))
    elif kind == "intstr":
        r.set(k, "-12345" if size == "small" else "9223372036854775807")
    elif kind == "compressible":
        r.set(k, ("abc" * 50 if size == "small" else "0123456789" * 500))
    elif kind == "list":
        r.rpush(k, *["e%d" % i for i in range(n)], 7, -300, 70000, 2 ** 40, "bin\x00\xff")
    elif kind == "set":
        r.sadd(k, *["m%d" % i for i in range(n)])
    elif kind == "intset":
        r.sadd(k, *[i * 1000003 - 50 for i in range(n)])
    elif kind == "zset":
        r.zadd(k, {"z%d" % i: i * 1.5 - 3 for i in range(n)})
        r.zadd(k, {"inf": float("inf"), "ninf": float("-inf"), "int": 12})
    elif kind == "hash":
        r.hset(k, mapping={"f%d" % i: "v%d" % i for i in range(n)})
        r.hset(k, "num", 42)
    return k


def read_value(r, k):
    t = r.type(k).decode()
    if t == "string":
        return t, r.get(k)
    if t == "list":
        return t, r.lrange(k, 0, -1)
    if t == "set":
        return t, sorted(r.smembers(k))
    if t == "zset":
        return t, r.zrange(k, 0, -1, withscores=True)
    if t == "hash":
        return t, sorted(r.hgetall(k).items())
    return t, None


KINDS = ["string", "intstr", "compressible", "list", "set", "intset", "zset", "hash"]


@pytest.mark.parametrize("size", ["small", "big"])
@pytest.mark.parametrize("kind", KINDS)
def test_cross_restore(servers, kind, size):
    ref, ours = clients(servers)
    for src, dst in ((ref, ours), (ours, ref)):
        k = fill(src, kind, size)
        want = read_value(src, k)
        payload = src.dump(k)
        assert payload
        dst.delete(k)
        assert dst.restore(k, 0, payload) == b"OK"
        assert read_value(dst, k) == want
        # and back again: what dst dumps restores in src
        src.delete(k)
        assert src.restore(k, 0, dst.dump(k)) == b"OK"
        assert read_value(src, k) == want


def test_restore_ttl_and_options(servers):
    ref, ours = clients(servers)
    payload = ref.dump(fill(ref, "list", "small"))
    for r in (ref, ours):
        r.delete("t1", "t2", "t3")
        assert r.restore("t1", 100000, payload)
        assert 0 < r.pttl("t1") <= 100000
        far = 4102444800000  # 2100-01-01
        assert r.restore("t2", far, payload, absttl=True)
        assert r.pexpiretime("t2") == far
        # an absolute time already past: nothing is made, REPLACE deletes
        r.set("t3", "old")
        assert r.restore("t3", 1000, payload, replace=True, absttl=True)
        assert r.exists("t3") == 0
        assert r.restore("t3", 0, payload, idletime=10)
        assert r.restore("t3", 0, payload, replace=True, frequency=5)


ERRS = [
    ("RESTORE", "e", "0", "junk"),
    ("RESTORE", "e", "-1", "x"),
    ("RESTORE", "e", "x", "x"),
    ("RESTORE", "e", "0", "x", "FOO"),
    ("RESTORE", "e", "0", "x", "IDLETIME", "-1"),
    ("RESTORE", "e", "0", "x", "IDLETIME", "x"),
    ("RESTORE", "e", "0", "x", "FREQ", "256"),
    ("RESTORE", "e", "0", "x", "FREQ", "1", "IDLETIME", "1"),
    ("RESTORE", "e", "0", "x", "IDLETIME"),
    ("RESTORE", "busy", "0", "x"),
    ("RESTORE", "e"),
    ("DUMP", "nokey"),
    ("DUMP",),
]


def test_errors(servers):
    ref, ours = clients(servers)
    outs = []
    for r in (ref, ours):
        r.set("busy", "1")
        got = []
        for cmd in ERRS:
            try:
                got.append(("ok", r.execute_command(*cmd)))
            except redis.ResponseError as e:
                got.append(("err", str(e)))
        good = r.dump("busy")
        # a flipped byte fails the checksum; a bad body with a right CRC
        # and version is bad data
        bad = bytes([good[0]]) + bytes([good[1] ^ 1]) + good[2:]
        for p in (bad, good[:-10] + b"\x0b\x00" + good[-8:], b"\x00" + b"\x00" * 9):
            try:
                got.append(("ok", r.restore("e", 0, p)))
            except redis.ResponseError as e:
                got.append(("err", str(e)))
        outs.append(got)
    assert outs[1] == outs[0]
    assert ("err", "DUMP payload version or checksum are wrong") in outs[0]


def forge(body):
    """A payload with a valid footer around body (type byte + value)."""
    import struct
    data = body + struct.pack("<H", 10)
    return data + struct.pack("<Q", crc64(data))


def crc64(data):
    if len(data) > 4096:  # the big test payloads: a table-driven CRC
        return crc64_fast(data)
    poly = 0x95ac9329ac4bc9b5
    crc = 0
    for b in data:
        crc ^= b
        for _ in range(8):
            crc = (crc >> 1) ^ poly if crc & 1 else crc >> 1
    return crc


@pytest.mark.parametrize("body", [
    b"\x01\x05\x01a",                 # list of 5 with only one element
    b"\x02\x00",                      # empty set
    b"\x00\xc3\x05\x7f\x00",          # LZF claiming 127 bytes out of 5
    b"\x00\x80\xff\xff\xff\xff",      # a 4 GB string in six bytes
    b"\x12\x01\x02\x05\xff\xff\xff\xff\xff",  # quicklist with a broken listpack
    b"\x0b\x09\x08\x00\x00\x00\xff\xff\xff\x7f\x00",  # intset with a huge count
    b"\x05\x01\x01a" + b"\x00\x00\x00\x00\x00\x00\xf8\x7f",  # NaN score
    b"\x13\x00\x00",                  # a stream cut short
])
def test_bad_payloads(servers, body):
    ref, ours = clients(servers)
    p = forge(body)
    outs = []
    for r in (ref, ours):
        try:
            outs.append(r.restore("bad", 0, p, replace=True))
        except redis.ResponseError as e:
            outs.append(str(e))
    assert outs[1] == "Bad data format"
    assert outs[0] == outs[1]


def test_restored_keys_survive_restart(servers):
    ref, srv = servers
    r = redis.Redis(port=ref.port)
    keys = {}
    for kind in KINDS:
        k = fill(r, kind, "small")
        keys[k] = (r.dump(k), read_value(r, k))
    sk = fill_stream(r, "restart_stream", True)
    sp, swant = r.dump(sk), read_stream(r, sk)
    ours = redis.Redis(port=srv.port("resp"))
    for k, (p, _) in keys.items():
        assert ours.restore(k, 0, p, replace=True)
    assert ours.restore(sk, 0, sp, replace=True)
    srv.restart()
    ours = redis.Redis(port=srv.port("resp"))
    for k, (_, want) in keys.items():
        assert read_value(ours, k) == want
    assert read_stream(ours, sk) == swant


def fill_stream(r, k, big):
    r.delete(k)
    n = 250 if big else 6
    for i in range(1, n + 1):
        fields = {"f": "v%d" % i} if i % 3 else {"a": i, "b": "x" * (i % 70), "c": -i}
        r.xadd(k, fields, id="%d-%d" % (1000 + i // 4, i))
    r.xdel(k, "%d-%d" % (1000 + 2 // 4, 2))
    r.xgroup_create(k, "g1", id="0")
    r.xgroup_create(k, "g2", id="$")
    r.xgroup_create(k, "g3", id="0")
    r.xreadgroup("g1", "alice", {k: ">"}, count=3)
    r.xreadgroup("g1", "bob", {k: ">"}, count=2)
    r.xgroup_createconsumer(k, "g1", "carol")
    r.xack(k, "g1", "%d-%d" % (1000 + 1 // 4, 1))
    r.xreadgroup("g3", "dave", {k: ">"}, count=1)
    return k


def read_stream(r, k):
    info = r.execute_command("XINFO", "STREAM", k)
    groups = r.execute_command("XINFO", "GROUPS", k)
    cons = {}
    for g in groups:
        name = dict(zip(g[::2], g[1::2]))[b"name"]
        cons[name] = [dict(zip(c[::2], c[1::2]))[b"name"] for c in r.execute_command("XINFO", "CONSUMERS", k, name)]
        cons[name] = (cons[name], r.xpending_range(k, name, "-", "+", 1000))
    keep = {x: y for x, y in zip(info[::2], info[1::2]) if x in (
        b"length", b"last-generated-id", b"max-deleted-entry-id", b"entries-added", b"groups")}
    pend = {n: [(p["message_id"], p["consumer"], p["times_delivered"]) for p in v[1]] for n, v in cons.items()}
    names = {n: v[0] for n, v in cons.items()}
    return r.xrange(k), keep, groups, names, pend


@pytest.mark.parametrize("big", [False, True])
def test_cross_restore_stream(servers, big):
    ref, ours = clients(servers)
    for src, dst in ((ref, ours), (ours, ref)):
        k = fill_stream(src, "stream_%d" % big, big)
        want = read_stream(src, k)
        payload = src.dump(k)
        dst.delete(k)
        assert dst.restore(k, 0, payload) == b"OK"
        assert read_stream(dst, k) == want
        # the restored stream takes new entries and deliveries
        dst.xadd(k, {"new": "1"})
        assert len(dst.xreadgroup("g2", "eve", {k: ">"})[0][1]) == 1
    # an empty stream with no groups, and one emptied by XDEL
    for src, dst in ((ref, ours), (ours, ref)):
        src.delete("es")
        src.xadd("es", {"f": "v"}, id="5-5")
        src.xdel("es", "5-5")
        dst.delete("es")
        assert dst.restore("es", 0, src.dump("es")) == b"OK"
        assert read_stream(dst, "es")[:2] == read_stream(src, "es")[:2]


def test_restore_notification(servers):
    """RESTORE raises the generic "restore" event, as Redis's."""
    outs = []
    for r in clients(servers):
        r.config_set("notify-keyspace-events", "Eg")
        p = r.pubsub()
        p.subscribe("__keyevent@0__:restore")
        assert p.get_message(timeout=10)["type"] == "subscribe"
        r.delete("nk")
        r.set("src", "v")
        assert r.restore("nk", 0, r.dump("src")) == b"OK"
        msg = None
        deadline = 100
        while msg is None and deadline:
            msg = p.get_message(timeout=0.1)
            deadline -= 1
        outs.append((msg["channel"], msg["data"]))
        p.close()
        r.config_set("notify-keyspace-events", "")
    assert outs[1] == outs[0] == (b"__keyevent@0__:restore", b"nk")


def test_lzf_claiming_more_than_a_bulk_string(servers):
    """An LZF string claiming 600 MB (past proto-max-bulk-len) out of 8 MB
    is refused before anything that size is allocated."""
    import struct
    clen, ulen = 8 << 20, 600 << 20  # within LZF's 88x, past the budget
    body = b"\x00\xc3" + b"\x80" + struct.pack(">I", clen) + b"\x80" + struct.pack(">I", ulen) + b"\x00" * clen
    ref, ours = clients(servers)
    p = forge(body)
    for r in (ours,):
        with pytest.raises(redis.ResponseError, match="Bad data format"):
            r.restore("bomb", 0, p, replace=True)
        assert r.ping()


def crc64_fast(data):
    poly = 0x95ac9329ac4bc9b5
    tab = []
    for i in range(256):
        c = i
        for _ in range(8):
            c = (c >> 1) ^ poly if c & 1 else c >> 1
        tab.append(c)
    crc = 0
    for b in data:
        crc = tab[(crc ^ b) & 0xff] ^ (crc >> 8)
    return crc


def cgroups_with_deleted_pending(r, k):
    """Redis 7.0.15's "COPY basic usage for stream-cgroups" (unit/keyspace):
    consumers in two groups, a NOACK read, a group moved back with SETID,
    then an entry that is pending in a group deleted with XDEL."""
    r.delete(k)
    for i in (100, 101, 102, 103, 104, 105):
        r.xadd(k, {"f%d" % i: 1}, id="%d-0" % i)
    r.xgroup_create(k, "g1", id="0")
    r.xgroup_create(k, "g2", id="0")
    r.xreadgroup("g1", "Alice", {k: ">"}, count=1)
    r.xreadgroup("g1", "Bob", {k: ">"}, count=1)
    r.xreadgroup("g1", "Bob", {k: ">"}, count=1, noack=True)
    r.xreadgroup("g2", "Charlie", {k: ">"}, count=4)
    r.xgroup_setid(k, "g1", "101-0")
    r.xreadgroup("g1", "Dave", {k: ">"}, count=3)
    r.xdel(k, "103-0")


def test_copy_and_restore_keep_deleted_pending_entries(servers):
    """COPY and DUMP/RESTORE of a stream keep, as Redis does, pending
    entries whose stream entry was deleted, and every consumer's seen time
    and every pending entry's delivery time and count: XINFO STREAM FULL of
    the copy equals the original's, on both servers, and after a restart of
    sluiced."""
    ref, srv = servers
    shapes = []
    for r in clients(servers):
        cgroups_with_deleted_pending(r, "cg{t}")
        full = r.execute_command("XINFO", "STREAM", "cg{t}", "FULL")
        r.delete("cg-copy{t}", "cg-restored{t}")
        assert r.copy("cg{t}", "cg-copy{t}")
        assert r.execute_command("XINFO", "STREAM", "cg-copy{t}", "FULL") == full
        assert r.restore("cg-restored{t}", 0, r.dump("cg{t}")) == b"OK"
        assert r.execute_command("XINFO", "STREAM", "cg-restored{t}", "FULL") == full
        # the pending entry of the deleted 103-0 is there, with its owner
        pend = r.xpending_range("cg-copy{t}", "g1", "-", "+", 10)
        shapes.append([(p["message_id"], p["consumer"], p["times_delivered"]) for p in pend])
        assert (b"103-0", b"Dave", 1) in shapes[-1]
    assert shapes[1] == shapes[0]
    # redis-server's payload restored into sluiced keeps them too
    ours = redis.Redis(port=srv.port("resp"))
    theirs = redis.Redis(port=ref.port)
    ours.delete("cg-ref{t}")
    assert ours.restore("cg-ref{t}", 0, theirs.dump("cg{t}")) == b"OK"
    want = theirs.execute_command("XINFO", "STREAM", "cg{t}", "FULL")
    assert ours.execute_command("XINFO", "STREAM", "cg-ref{t}", "FULL") == want
    copy = ours.execute_command("XINFO", "STREAM", "cg-copy{t}", "FULL")
    # RENAME of a stream moves all of it (a copy, then the source deleted)
    ours.delete("cg-renamed{t}")
    assert ours.rename("cg-ref{t}", "cg-renamed{t}")
    assert ours.execute_command("XINFO", "STREAM", "cg-renamed{t}", "FULL") == want
    assert not ours.exists("cg-ref{t}")
    srv.restart()
    ours = redis.Redis(port=srv.port("resp"))
    assert ours.execute_command("XINFO", "STREAM", "cg-copy{t}", "FULL") == copy
    assert ours.execute_command("XINFO", "STREAM", "cg-renamed{t}", "FULL") == want
    assert not ours.exists("cg-ref{t}")


# DUMPed by a Redis 5 instance (RDB_TYPE_STREAM_LISTPACKS, no read
# counters) after XADD 1-0..6-0, XDEL 3-0, XGROUP CREATE g1 0 and g2 0,
# XREADGROUP GROUP g1 c11 COUNT 4, XTRIM MAXLEN = 2 (Redis 7.0.15's
# stream-cgroups unit).
LEGACY_STREAM = b"\x0F\x01\x10\x00\x00\x00\x00\x00\x00\x00\x01\x00\x00\x00\x00\x00\x00\x00\x00\xC3\x40\x4A\x40\x57\x16\x57\x00\x00\x00\x23\x00\x02\x01\x04\x01\x01\x01\x84\x64\x61\x74\x61\x05\x00\x01\x03\x01\x00\x20\x01\x03\x81\x61\x02\x04\x20\x0A\x00\x01\x40\x0A\x00\x62\x60\x0A\x00\x02\x40\x0A\x00\x63\x60\x0A\x40\x22\x01\x81\x64\x20\x0A\x40\x39\x20\x0A\x00\x65\x60\x0A\x00\x05\x40\x0A\x00\x66\x20\x0A\x00\xFF\x02\x06\x00\x02\x02\x67\x31\x05\x00\x04\x00\x00\x00\x00\x00\x00\x00\x01\x00\x00\x00\x00\x00\x00\x00\x00\x3E\xF7\x83\x43\x7A\x01\x00\x00\x01\x00\x00\x00\x00\x00\x00\x00\x02\x00\x00\x00\x00\x00\x00\x00\x00\x3E\xF7\x83\x43\x7A\x01\x00\x00\x01\x00\x00\x00\x00\x00\x00\x00\x04\x00\x00\x00\x00\x00\x00\x00\x00\x3E\xF7\x83\x43\x7A\x01\x00\x00\x01\x00\x00\x00\x00\x00\x00\x00\x05\x00\x00\x00\x00\x00\x00\x00\x00\x3E\xF7\x83\x43\x7A\x01\x00\x00\x01\x01\x03\x63\x31\x31\x3E\xF7\x83\x43\x7A\x01\x00\x00\x04\x00\x00\x00\x00\x00\x00\x00\x01\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x02\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x04\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x05\x00\x00\x00\x00\x00\x00\x00\x00\x02\x67\x32\x00\x00\x00\x00\x09\x00\x3D\x52\xEF\x68\x67\x52\x1D\xFA"


def test_restore_of_a_legacy_stream_estimates_read_counters(servers):
    """A stream payload from before 7.0 has no entries-added or group read
    counters: both servers derive them as 7.0 does (the estimate from the
    group's last ID), so XINFO STREAM FULL is the same."""
    outs = []
    for r in clients(servers):
        r.delete("legacy")
        assert r.restore("legacy", 0, LEGACY_STREAM) == b"OK"
        outs.append(r.execute_command("XINFO", "STREAM", "legacy", "FULL"))
    assert outs[1] == outs[0]
    full = dict(zip(outs[1][::2], outs[1][1::2]))
    groups = [dict(zip(g[::2], g[1::2])) for g in full[b"groups"]]
    assert [(g[b"entries-read"], g[b"lag"]) for g in groups] == [(1, 1), (0, 2)]
