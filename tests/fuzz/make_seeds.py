#!/usr/bin/env python3
"""Writes the hand-made seed inputs of tests/fuzz/corpus/{batch,journal}.
Run once when the formats change; the output is committed."""
import os
import struct

HERE = os.path.dirname(os.path.abspath(__file__))


def crc32c(data):
    crc = 0xFFFFFFFF
    for b in data:
        crc ^= b
        for _ in range(8):
            crc = (crc >> 1) ^ 0x82F63B78 if crc & 1 else crc >> 1
    return crc ^ 0xFFFFFFFF


def varint(v):
    v = (v << 1) ^ (v >> 63)
    out = b""
    while v >= 0x80:
        out += bytes([(v & 0x7F) | 0x80])
        v >>= 7
    return out + bytes([v])


def record(delta, key, value, headers=()):
    body = b"\x00" + varint(0) + varint(delta)
    body += varint(-1) if key is None else varint(len(key)) + key
    body += varint(-1) if value is None else varint(len(value)) + value
    body += varint(len(headers))
    for hk, hv in headers:
        body += varint(len(hk)) + hk + (varint(-1) if hv is None else varint(len(hv)) + hv)
    return varint(len(body)) + body


def batch(records, attrs=0, ts=1700000000000):
    recs = b"".join(record(i, *r) for i, r in enumerate(records))
    after_crc = struct.pack(">hiqqqhii", attrs, len(records) - 1, ts, ts, -1, -1, -1, len(records)) + recs
    crc = crc32c(after_crc)
    inner = struct.pack(">ibI", 0, 2, crc) + after_crc
    return struct.pack(">qi", 0, len(inner)) + inner


def frame(t, payload):
    body = bytes([t]) + payload
    return struct.pack(">II", len(body), crc32c(body)) + body


def write(sub, name, data):
    d = os.path.join(HERE, "corpus", sub)
    os.makedirs(d, exist_ok=True)
    with open(os.path.join(d, name), "wb") as f:
        f.write(data)


write("batch", "one-record", batch([(b"k", b"v")]))
write("batch", "null-key-headers", batch([(None, b"value", [(b"h", b"x"), (b"n", None)])]))
write("batch", "three-records", batch([(b"a", b"1"), (b"b", None), (None, b"3" * 40)]))
write("batch", "truncated", batch([(b"k", b"v")])[:40])
write("batch", "gzip-attr", batch([(b"k", b"v")], attrs=1))
hdr = b"SLJRNL" + struct.pack(">H", 1)
write("journal", "empty", hdr)
write("journal", "records", hdr + frame(1, b"hello") + frame(2, b"") + frame(255, b"x" * 300))
write("journal", "torn-tail", hdr + frame(1, b"hello") + frame(2, b"world")[:7])
write("journal", "bad-crc", hdr + frame(1, b"ok") + b"\x00\x00\x00\x03\xde\xad\xbe\xef\x01ab")
write("journal", "zero-tail", hdr + frame(3, b"abc") + b"\x00" * 64)
write("journal", "bad-magic", b"NOTJRN\x00\x01" + frame(1, b"x"))
