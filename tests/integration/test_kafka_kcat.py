"""kcat (librdkafka 2.0.2) against the real sluiced: metadata listing,
produce from a file, consume from the beginning to the end, keys and
headers round-trip, content and order checked."""
import subprocess

from kafka_util import bootstrap, kserver  # noqa: F401


def kcat(server, *args, input=None, timeout=60):
    r = subprocess.run(["kcat", "-b", bootstrap(server)] + list(args), input=input,
                       capture_output=True, timeout=timeout)
    assert r.returncode == 0, r.stderr.decode(errors="replace")
    return r.stdout


def test_metadata_lists_broker_and_topics(kserver):
    out = kcat(kserver, "-L").decode()
    assert "1 brokers:" in out
    assert "broker 1 at 127.0.0.1:%d" % kserver.port("kafka") in out
    kcat(kserver, "-P", "-t", "listed", input=b"x\n")
    out = kcat(kserver, "-L", "-t", "listed").decode()
    assert 'topic "listed" with 1 partitions' in out
    assert "partition 0, leader 1" in out


def test_produce_file_consume_in_order(kserver, tmp_path):
    lines = [("message-%05d " % i + "x" * (i % 50)).encode() for i in range(2000)]
    f = tmp_path / "in.txt"
    f.write_bytes(b"\n".join(lines) + b"\n")
    kcat(kserver, "-P", "-t", "orders", "-l", str(f))
    out = kcat(kserver, "-C", "-t", "orders", "-o", "beginning", "-e", "-f", "%o %s\n")
    got = out.decode().splitlines()
    assert len(got) == len(lines)
    for i, line in enumerate(got):
        off, _, val = line.partition(" ")
        assert int(off) == i
        assert val.encode() == lines[i]


def test_keys_and_headers_round_trip(kserver):
    kcat(kserver, "-P", "-t", "kh", "-K", ":", "-H", "h1=v1", "-H", "h2=v2",
         input=b"k1:value one\nk2:value two\n")
    out = kcat(kserver, "-C", "-t", "kh", "-o", "beginning", "-e",
               "-f", "%k|%s|%h\n").decode().splitlines()
    assert out == ["k1|value one|h1=v1,h2=v2", "k2|value two|h1=v1,h2=v2"]


def test_consume_from_offset_and_end(kserver):
    kcat(kserver, "-P", "-t", "offs", input=b"".join(b"m%d\n" % i for i in range(10)))
    out = kcat(kserver, "-C", "-t", "offs", "-o", "7", "-e", "-f", "%o:%s\n").decode()
    assert out.splitlines() == ["7:m7", "8:m8", "9:m9"]
    out = kcat(kserver, "-C", "-t", "offs", "-o", "-2", "-e", "-f", "%s\n").decode()
    assert out.splitlines() == ["m8", "m9"]
