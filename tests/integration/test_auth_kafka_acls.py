"""Kafka ACLs against the real sluiced (SASL_PLAINTEXT, a bootstrap admin,
users alice and bob, super.users=User:root): kafka-python 2.0.2's admin
create_acls/describe_acls/delete_acls (v1), kafkajs 2.2.4's admin ACL calls,
and raw flexible v3 requests (the Debian clients stop at v1); kcat and
confluent-kafka (librdkafka 2.0.2) producing and consuming as a user
without and with ACLs get their normal authorization errors; prefixed
patterns, deny over allow, group ACLs, Metadata hiding, a super user, and
ACLs that survive a restart. (confluent-kafka-python 1.7.0 in Debian has
no ACL admin calls: they came in 1.9.)"""
import json
import os
import struct
import subprocess
import time

import pytest
from confluent_kafka import Consumer, KafkaError, Producer
from confluent_kafka.admin import AdminClient
from kafka.admin import (ACL, ACLFilter, ACLOperation, ACLPermissionType,
                         ACLResourcePatternType, KafkaAdminClient, NewTopic, ResourcePattern,
                         ResourcePatternFilter, ResourceType)

import sluice
from kafka_util import cstr, read_cstr, read_uvarint, uvarint
from test_auth_kafka_users import Conn, scram512

ADMIN, ADMIN_PW = "admin", "acl-admin-pw"
USERS = {"alice": "alice-pw", "bob": "bob-pw", "root": "root-pw"}


def start(d):
    return sluice.Sluiced(data_dir=str(d), listeners=("kafka",),
                          extra=["--kafka.security.protocol=SASL_PLAINTEXT",
                                 "--auth.admin.user=" + ADMIN,
                                 "--auth.admin.password=" + ADMIN_PW,
                                 "--super.users=User:root"])


def add_users(s):
    c = Conn(s.port("kafka"))
    c.login(ADMIN, ADMIN_PW)
    ups = []
    for name, pw in USERS.items():
        salt, salted = scram512(pw)
        ups.append((name, 2, 8192, salt, salted))
    assert c.alter(upsertions=ups) == {n: (0, None) for n in USERS}


@pytest.fixture
def srv(tmp_path):
    s = start(tmp_path / "d")
    add_users(s)
    yield s
    s.stop()


def boot(s):
    return "127.0.0.1:%d" % s.port("kafka")


def kp_admin(s, user=ADMIN, pw=ADMIN_PW):
    return KafkaAdminClient(bootstrap_servers=boot(s), security_protocol="SASL_PLAINTEXT",
                            sasl_mechanism="PLAIN", sasl_plain_username=user,
                            sasl_plain_password=pw, request_timeout_ms=20000)


def ck_conf(s, user):
    pw = ADMIN_PW if user == ADMIN else USERS[user]
    return {"bootstrap.servers": boot(s), "security.protocol": "SASL_PLAINTEXT",
            "sasl.mechanism": "SCRAM-SHA-512", "sasl.username": user, "sasl.password": pw}


def allow(a, user, rtype, name, op, pattern=ACLResourcePatternType.LITERAL,
          perm=ACLPermissionType.ALLOW):
    acl = ACL("User:" + user, "*", op, perm, ResourcePattern(rtype, name, pattern))
    res = a.create_acls([acl])
    assert res["failed"] == [] and len(res["succeeded"]) == 1, res
    return acl


def create_topic(s, name):
    a = kp_admin(s)
    a.create_topics([NewTopic(name, 1, 1)])
    a.close()


def produce(s, user, topic, n=1):
    """Delivery results of n messages: the error codes (0 for delivered)."""
    errs = []
    p = Producer(dict(ck_conf(s, user), **{"acks": "all", "message.timeout.ms": 20000}))
    for i in range(n):
        p.produce(topic, value=b"m%d" % i,
                  on_delivery=lambda e, m: errs.append(e.code() if e else 0))
    p.flush(60)
    return errs


def kcat(s, user, args, data=None):
    base = ["kcat", "-b", boot(s), "-X", "security.protocol=SASL_PLAINTEXT",
            "-X", "sasl.mechanism=SCRAM-SHA-512", "-X", "sasl.username=" + user,
            "-X", "sasl.password=" + USERS[user]]
    return subprocess.run(base + args, input=data, capture_output=True, timeout=90)


def test_kafka_python_create_describe_delete(srv):
    a = kp_admin(srv)
    acl1 = allow(a, "alice", ResourceType.TOPIC, "orders", ACLOperation.READ)
    acl2 = allow(a, "alice", ResourceType.TOPIC, "app.", ACLOperation.WRITE,
                 pattern=ACLResourcePatternType.PREFIXED)
    allow(a, "bob", ResourceType.GROUP, "g1", ACLOperation.READ)
    # Alice's ACLs of any kind.
    f = ACLFilter("User:alice", None, ACLOperation.ANY, ACLPermissionType.ANY,
                  ResourcePatternFilter(ResourceType.ANY, None, ACLResourcePatternType.ANY))
    acls, err = a.describe_acls(f)
    assert err.errno == 0
    got = sorted((x.resource_pattern.resource_name, x.resource_pattern.pattern_type,
                  x.operation) for x in acls)
    assert got == sorted([("orders", ACLResourcePatternType.LITERAL, ACLOperation.READ),
                          ("app.", ACLResourcePatternType.PREFIXED, ACLOperation.WRITE)])
    # MATCH: the bindings that apply to the topic "app.x".
    m = ACLFilter(None, None, ACLOperation.ANY, ACLPermissionType.ANY,
                  ResourcePatternFilter(ResourceType.TOPIC, "app.x", ACLResourcePatternType.MATCH))
    acls, err = a.describe_acls(m)
    assert [(x.principal, x.resource_pattern.resource_name) for x in acls] == \
        [("User:alice", "app.")]
    # Delete by filter: both of alice's; bob's stays.
    res = a.delete_acls([f])
    assert len(res) == 1 and res[0][2].errno == 0
    assert sorted(x[0].resource_pattern.resource_name for x in res[0][1]) == ["app.", "orders"]
    acls, err = a.describe_acls(f)
    assert acls == []
    everything = ACLFilter(None, None, ACLOperation.ANY, ACLPermissionType.ANY,
                           ResourcePatternFilter(ResourceType.ANY, None,
                                                 ACLResourcePatternType.ANY))
    acls, err = a.describe_acls(everything)
    assert [(x.principal, x.resource_pattern.resource_type) for x in acls] == \
        [("User:bob", ResourceType.GROUP)]
    assert acl1 and acl2
    a.close()


def test_only_cluster_alter_may_manage_acls(srv):
    # Alice (no ACLs) gets CLUSTER_AUTHORIZATION_FAILED for each creation
    # and for describing; once granted Alter/Describe on the cluster, works.
    u = kp_admin(srv, "alice", USERS["alice"])
    acl = ACL("User:bob", "*", ACLOperation.READ, ACLPermissionType.ALLOW,
              ResourcePattern(ResourceType.TOPIC, "t", ACLResourcePatternType.LITERAL))
    res = u.create_acls([acl])
    assert res["succeeded"] == [] and len(res["failed"]) == 1
    assert res["failed"][0][1].__name__ == "ClusterAuthorizationFailedError"
    a = kp_admin(srv)
    allow(a, "alice", ResourceType.CLUSTER, "kafka-cluster", ACLOperation.ALTER)
    res = u.create_acls([acl])
    assert len(res["succeeded"]) == 1, res
    # Alter implies Describe.
    acls, err = u.describe_acls(ACLFilter(
        "User:bob", None, ACLOperation.ANY, ACLPermissionType.ANY,
        ResourcePatternFilter(ResourceType.TOPIC, None, ACLResourcePatternType.ANY)))
    assert err.errno == 0 and len(acls) == 1
    u.close()
    a.close()


def test_kcat_without_and_with_acls(srv):
    create_topic(srv, "kc-orders")
    r = kcat(srv, "alice", ["-P", "-t", "kc-orders"], b"a\nb\n")
    assert b"authorization failed" in r.stderr.lower(), r.stderr
    a = kp_admin(srv)
    allow(a, "alice", ResourceType.TOPIC, "kc-orders", ACLOperation.WRITE)
    r = kcat(srv, "alice", ["-P", "-t", "kc-orders"], b"a\nb\n")
    assert r.returncode == 0 and b"authorization" not in r.stderr.lower(), r.stderr
    # Bob may not read it until he has Read.
    r = kcat(srv, "bob", ["-C", "-t", "kc-orders", "-o", "beginning", "-e"])
    assert r.returncode != 0 and b"authorization failed" in r.stderr.lower(), r.stderr
    allow(a, "bob", ResourceType.TOPIC, "kc-orders", ACLOperation.READ)
    r = kcat(srv, "bob", ["-C", "-t", "kc-orders", "-o", "beginning", "-e"])
    assert r.returncode == 0, r.stderr
    assert r.stdout.split() == [b"a", b"b"]
    a.close()


def test_prefixed_allow_and_deny_wins(srv):
    for t in ("app.ok", "app.secret", "other"):
        create_topic(srv, t)
    a = kp_admin(srv)
    allow(a, "alice", ResourceType.TOPIC, "app.", ACLOperation.ALL,
          pattern=ACLResourcePatternType.PREFIXED)
    allow(a, "alice", ResourceType.TOPIC, "app.secret", ACLOperation.WRITE,
          perm=ACLPermissionType.DENY)
    assert produce(srv, "alice", "app.ok", 2) == [0, 0]
    assert produce(srv, "alice", "app.secret") == [KafkaError.TOPIC_AUTHORIZATION_FAILED]
    assert produce(srv, "alice", "other") == [KafkaError.TOPIC_AUTHORIZATION_FAILED]
    a.close()


def test_group_acl_needed_to_consume(srv):
    create_topic(srv, "grp-t")
    assert produce(srv, "root", "grp-t", 3) == [0, 0, 0]
    a = kp_admin(srv)
    allow(a, "bob", ResourceType.TOPIC, "grp-t", ACLOperation.READ)

    def consume(n):
        c = Consumer(dict(ck_conf(srv, "bob"), **{"group.id": "bob-g",
                                                   "auto.offset.reset": "earliest"}))
        c.subscribe(["grp-t"])
        got, errs = [], []
        deadline = time.monotonic() + 60
        while len(got) < n and not errs and time.monotonic() < deadline:
            m = c.poll(1.0)
            if m is None:
                continue
            if m.error():
                errs.append(m.error().code())
            else:
                got.append(m.value())
        c.close()
        return got, errs

    got, errs = consume(3)
    assert got == [] and errs == [KafkaError.GROUP_AUTHORIZATION_FAILED], errs
    allow(a, "bob", ResourceType.GROUP, "bob-g", ACLOperation.READ)
    got, errs = consume(3)
    assert errs == [] and got == [b"m0", b"m1", b"m2"]
    a.close()


def test_metadata_hides_topics(srv):
    for t in ("seen", "unseen"):
        create_topic(srv, t)
    a = kp_admin(srv)
    allow(a, "alice", ResourceType.TOPIC, "seen", ACLOperation.DESCRIBE)
    ca = AdminClient(ck_conf(srv, "alice"))
    md = ca.list_topics(timeout=20)
    assert sorted(md.topics) == ["seen"]
    md = ca.list_topics("unseen", timeout=20)
    assert md.topics["unseen"].error.code() == KafkaError.TOPIC_AUTHORIZATION_FAILED
    # The admin (a super user) sees both.
    md = AdminClient(ck_conf(srv, ADMIN)).list_topics(timeout=20)
    assert {"seen", "unseen"} <= set(md.topics)
    # Auto-creation needs Create: Describe alone gets an authorization error.
    allow(a, "alice", ResourceType.TOPIC, "auto.", ACLOperation.DESCRIBE,
          pattern=ACLResourcePatternType.PREFIXED)
    md = ca.list_topics("auto.x", timeout=20)
    assert md.topics["auto.x"].error.code() == KafkaError.TOPIC_AUTHORIZATION_FAILED
    a.close()


def test_super_user_needs_no_acls(srv):
    create_topic(srv, "r-t")
    assert produce(srv, "root", "r-t", 2) == [0, 0]
    # The same produce as alice, with no ACL, is refused.
    assert produce(srv, "alice", "r-t") == [KafkaError.TOPIC_AUTHORIZATION_FAILED]


def test_acls_survive_restart(tmp_path):
    s = start(tmp_path / "d")
    add_users(s)
    create_topic(s, "keep")
    a = kp_admin(s)
    allow(a, "alice", ResourceType.TOPIC, "keep", ACLOperation.WRITE)
    a.close()
    s.stop()
    s = start(tmp_path / "d")
    try:
        a = kp_admin(s)
        acls, err = a.describe_acls(ACLFilter(
            None, None, ACLOperation.ANY, ACLPermissionType.ANY,
            ResourcePatternFilter(ResourceType.ANY, None, ACLResourcePatternType.ANY)))
        assert [(x.principal, x.resource_pattern.resource_name, x.operation) for x in acls] == \
            [("User:alice", "keep", ACLOperation.WRITE)]
        assert produce(s, "alice", "keep") == [0]
        assert produce(s, "bob", "keep") == [KafkaError.TOPIC_AUTHORIZATION_FAILED]
        a.close()
        assert os.path.exists(str(tmp_path / "d" / "users" / "acls.journal"))
    finally:
        s.stop()


KJS = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "clients", "kafka-node",
                   "kafkajs_acls.js")


def test_kafkajs_admin_acls(srv):
    r = subprocess.run(["node", KJS, boot(srv), ADMIN, ADMIN_PW, "bob", USERS["bob"], "kjs-acl"],
                       capture_output=True, timeout=120)
    assert r.returncode == 0, r.stderr.decode(errors="replace")
    out = json.loads(r.stdout)
    assert out["before"] == "TOPIC_AUTHORIZATION_FAILED"
    assert out["create"] is True  # kafkajs resolves true when every creation succeeded
    assert out["describe"] == [{"resourceType": 2, "resourceName": "kjs-acl",
                                "resourcePatternType": 3,
                                "acls": [{"principal": "User:bob", "host": "*",
                                          "operation": 4, "permissionType": 3}]}]
    assert out["allowed"] == "ok"
    assert out["deleted"] == [1] and out["after"] == 0
    assert out["denied_again"] == "TOPIC_AUTHORIZATION_FAILED"
    assert out["user_create"] == "CLUSTER_AUTHORIZATION_FAILED"


# --- raw flexible versions (v3) and bad filters ---------------------------------------------

def binding_v3(rtype, name, ptype, principal, host, op, perm):
    return (struct.pack(">b", rtype) + cstr(name) + struct.pack(">b", ptype) + cstr(principal) +
            cstr(host) + struct.pack(">bb", op, perm) + b"\0")


def nstr(s):
    return uvarint(0) if s is None else cstr(s)


def describe_v3(c, rtype, name, ptype, principal, host, op, perm):
    body = (struct.pack(">b", rtype) + nstr(name) + struct.pack(">b", ptype) + nstr(principal) +
            nstr(host) + struct.pack(">bb", op, perm) + b"\0")
    r = c.call(29, 3, body, True)
    err = struct.unpack(">h", r[4:6])[0]
    _, off = read_cstr(r, 6)
    n, off = read_uvarint(r, off)
    out = []
    for _ in range(n - 1):
        rt, = struct.unpack(">b", r[off:off + 1])
        rname, off = read_cstr(r, off + 1)
        pt, = struct.unpack(">b", r[off:off + 1])
        k, off = read_uvarint(r, off + 1)
        for _ in range(k - 1):
            p, off = read_cstr(r, off)
            h, off = read_cstr(r, off)
            o, pm = struct.unpack(">bb", r[off:off + 2])
            off += 3
            out.append((rt, rname, pt, p, h, o, pm))
        off += 1
    return err, out


def test_raw_v3_create_describe_delete_and_bad_filter(srv):
    c = Conn(srv.port("kafka"))
    c.login(ADMIN, ADMIN_PW)
    body = uvarint(3) + binding_v3(2, "raw", 4, "User:alice", "*", 3, 3) + \
        binding_v3(2, "raw", 5, "User:alice", "*", 3, 3) + b"\0"
    r = c.call(30, 3, body, True)
    n, off = read_uvarint(r, 4)
    assert n - 1 == 2
    e1 = struct.unpack(">h", r[off:off + 2])[0]
    _, off = read_cstr(r, off + 2)
    e2 = struct.unpack(">h", r[off + 1:off + 3])[0]
    msg, _ = read_cstr(r, off + 3)
    # The second has pattern type 5 (no such type): INVALID_REQUEST.
    assert (e1, e2) == (0, 42) and msg == "Invalid pattern type"
    err, acls = describe_v3(c, 1, None, 1, None, None, 1, 1)
    assert err == 0 and acls == [(2, "raw", 4, "User:alice", "*", 3, 3)]
    # A filter with an UNKNOWN pattern type is refused as a whole.
    err, acls = describe_v3(c, 1, None, 0, None, None, 1, 1)
    assert err == 42 and acls == []
    body = uvarint(2) + struct.pack(">b", 2) + nstr("raw") + struct.pack(">b", 1) + \
        nstr(None) + nstr(None) + struct.pack(">bb", 1, 1) + b"\0" + b"\0"
    r = c.call(31, 3, body, True)
    n, off = read_uvarint(r, 4)
    assert n - 1 == 1 and struct.unpack(">h", r[off:off + 2])[0] == 0
    _, off = read_cstr(r, off + 2)
    k, off = read_uvarint(r, off)
    assert k - 1 == 1
    assert describe_v3(c, 1, None, 1, None, None, 1, 1) == (0, [])


def test_plaintext_listener_is_anonymous(tmp_path):
    # Users exist: a PLAINTEXT client is User:ANONYMOUS and needs ACLs
    # like anyone (allow.everyone.if.no.acl.found is false by default).
    s = sluice.Sluiced(data_dir=str(tmp_path / "d"), listeners=("kafka",),
                       extra=["--kafka.listeners=SASL_PLAINTEXT://127.0.0.1:0,"
                              "PLAINTEXT://127.0.0.1:0",
                              "--auth.admin.user=" + ADMIN, "--auth.admin.password=" + ADMIN_PW])
    try:
        sasl = "127.0.0.1:%d" % s.port("kafka.SASL_PLAINTEXT")
        plain = {"bootstrap.servers": "127.0.0.1:%d" % s.port("kafka")}
        a = KafkaAdminClient(bootstrap_servers=sasl, security_protocol="SASL_PLAINTEXT",
                             sasl_mechanism="PLAIN", sasl_plain_username=ADMIN,
                             sasl_plain_password=ADMIN_PW, request_timeout_ms=20000)
        a.create_topics([NewTopic("anon", 1, 1)])

        def send():
            errs = []
            p = Producer(dict(plain, **{"acks": "all", "message.timeout.ms": 20000}))
            p.produce("anon", value=b"x", on_delivery=lambda e, m: errs.append(
                e.code() if e else 0))
            p.flush(60)
            return errs

        assert send() == [KafkaError.TOPIC_AUTHORIZATION_FAILED]
        allow(a, "ANONYMOUS", ResourceType.TOPIC, "anon", ACLOperation.WRITE)
        assert send() == [0]
        a.close()
    finally:
        s.stop()


def test_no_users_means_no_authorization(tmp_path):
    # With an empty user database authentication is off, and so are ACLs:
    # a Deny for everyone changes nothing until the first user exists.
    s = sluice.Sluiced(data_dir=str(tmp_path / "d"), listeners=("kafka",))
    try:
        a = KafkaAdminClient(bootstrap_servers=boot(s), request_timeout_ms=20000)
        a.create_topics([NewTopic("open", 1, 1)])
        allow(a, "*", ResourceType.TOPIC, "open", ACLOperation.ALL, perm=ACLPermissionType.DENY)
        errs = []
        p = Producer({"bootstrap.servers": boot(s), "acks": "all"})
        p.produce("open", value=b"x", on_delivery=lambda e, m: errs.append(e.code() if e else 0))
        p.flush(60)
        assert errs == [0]
        a.close()
    finally:
        s.stop()


def test_transactional_id_acl(srv):
    from confluent_kafka import KafkaException
    create_topic(srv, "tx-t")
    a = kp_admin(srv)
    allow(a, "alice", ResourceType.TOPIC, "tx-t", ACLOperation.WRITE)
    conf = dict(ck_conf(srv, "alice"), **{"transactional.id": "tx-alice"})
    p = Producer(conf)
    with pytest.raises(KafkaException) as ei:
        p.init_transactions(30)
    assert ei.value.args[0].code() == KafkaError.TRANSACTIONAL_ID_AUTHORIZATION_FAILED
    allow(a, "alice", ResourceType.TRANSACTIONAL_ID, "tx-", ACLOperation.WRITE,
          pattern=ACLResourcePatternType.PREFIXED)
    p = Producer(conf)
    p.init_transactions(30)
    p.begin_transaction()
    p.produce("tx-t", value=b"in-txn")
    p.commit_transaction(30)
    r = kcat(srv, "root", ["-C", "-t", "tx-t", "-o", "beginning", "-e",
                           "-X", "isolation.level=read_committed"])
    assert r.returncode == 0 and r.stdout.split() == [b"in-txn"], r.stderr
    a.close()


def test_idempotent_producer_needs_write_somewhere(srv):
    create_topic(srv, "idem-t")
    a = kp_admin(srv)
    allow(a, "bob", ResourceType.TOPIC, "idem-t", ACLOperation.WRITE)
    errs = []
    p = Producer(dict(ck_conf(srv, "bob"), **{"enable.idempotence": True,
                                              "message.timeout.ms": 20000}))
    for i in range(3):
        p.produce("idem-t", value=b"i%d" % i,
                  on_delivery=lambda e, m: errs.append(e.code() if e else 0))
    p.flush(60)
    assert errs == [0, 0, 0]
    a.close()


def test_offset_delete_checks_group_and_topics(srv):
    from confluent_kafka import TopicPartition
    for t in ("od-a", "od-b"):
        create_topic(srv, t)
    # Root (a super user) commits offsets of both topics for group od-g.
    c = Consumer(dict(ck_conf(srv, "root"), **{"group.id": "od-g", "enable.auto.commit": False}))
    c.commit(offsets=[TopicPartition("od-a", 0, 0), TopicPartition("od-b", 0, 0)],
             asynchronous=False)
    c.close()
    a = kp_admin(srv)
    raw = Conn(srv.port("kafka"))
    raw.login("bob", USERS["bob"])

    def offset_delete():
        s16 = lambda s: struct.pack(">h", len(s)) + s.encode()  # noqa: E731
        body = s16("od-g") + struct.pack(">i", 2) + \
            s16("od-a") + struct.pack(">ii", 1, 0) + s16("od-b") + struct.pack(">ii", 1, 0)
        r = raw.call(47, 0, body, False)
        top, _, nt = struct.unpack(">hii", r[:10])
        off, out = 10, {}
        for _ in range(nt):
            n, = struct.unpack(">h", r[off:off + 2])
            name = r[off + 2:off + 2 + n].decode()
            off += 2 + n
            k, = struct.unpack(">i", r[off:off + 4])
            off += 4
            for _ in range(k):
                _, err = struct.unpack(">ih", r[off:off + 6])
                off += 6
                out[name] = err
        return top, out

    assert offset_delete() == (30, {})  # no Delete on the group
    allow(a, "bob", ResourceType.GROUP, "od-g", ACLOperation.DELETE)
    allow(a, "bob", ResourceType.TOPIC, "od-a", ACLOperation.READ)
    assert offset_delete() == (0, {"od-a": 0, "od-b": 29})
    # od-b's offset is still there; od-a's is gone.
    c = Consumer(dict(ck_conf(srv, "root"), **{"group.id": "od-g"}))
    got = c.committed([TopicPartition("od-a", 0), TopicPartition("od-b", 0)], timeout=20)
    c.close()
    assert [tp.offset for tp in got] == [-1001, 0]
    a.close()


def test_txn_offset_commit_checks_topics(srv):
    from confluent_kafka import KafkaException, TopicPartition
    for t in ("txo-out", "txo-a", "txo-b"):
        create_topic(srv, t)
    a = kp_admin(srv)
    allow(a, "alice", ResourceType.TRANSACTIONAL_ID, "txo", ACLOperation.WRITE)
    allow(a, "alice", ResourceType.TOPIC, "txo-out", ACLOperation.WRITE)
    allow(a, "alice", ResourceType.GROUP, "txo-g", ACLOperation.READ)
    allow(a, "alice", ResourceType.TOPIC, "txo-a", ACLOperation.READ)
    c = Consumer(dict(ck_conf(srv, "alice"), **{"group.id": "txo-g"}))
    meta = c.consumer_group_metadata()
    p = Producer(dict(ck_conf(srv, "alice"), **{"transactional.id": "txo"}))
    p.init_transactions(30)
    p.begin_transaction()
    p.produce("txo-out", value=b"o")
    with pytest.raises(KafkaException) as ei:
        p.send_offsets_to_transaction([TopicPartition("txo-b", 0, 5)], meta, 30)
    assert ei.value.args[0].code() == KafkaError.TOPIC_AUTHORIZATION_FAILED
    p.abort_transaction(30)
    p.begin_transaction()
    p.produce("txo-out", value=b"o2")
    p.send_offsets_to_transaction([TopicPartition("txo-a", 0, 7)], meta, 30)
    p.commit_transaction(30)
    got = c.committed([TopicPartition("txo-a", 0)], timeout=20)
    assert got[0].offset == 7
    c.close()
    a.close()


def test_fetch_session_partitions_are_checked_at_every_fetch(srv):
    """A fetch session (KIP-227) remembers the partitions a full fetch
    named, including one the principal may not Read: an incremental fetch
    that re-reads the session's partitions must refuse it again, not serve
    its records."""
    from test_kafka_fetch_session import fetch_v12, parse_fetch_v12
    for t in ("open", "secret"):
        create_topic(srv, t)
        assert produce(srv, ADMIN, t, 3) == [0, 0, 0]
    a = kp_admin(srv)
    allow(a, "alice", ResourceType.TOPIC, "open", ACLOperation.READ)
    a.close()
    c = Conn(srv.port("kafka"))
    c.login("alice", USERS["alice"])

    def fetch(sid, epoch, parts):
        body = fetch_v12(0, sid, epoch, parts)[4 + 14:]  # after size and header v2
        return parse_fetch_v12(struct.pack(">i", 0) + b"\0" + c.call(1, 12, body, True))

    err, sid, parts = fetch(0, 0, [("open", 0, 0), ("secret", 0, 0)])
    assert err == 0 and sid != 0
    assert parts[("open", 0)] == (0, 3, 3)
    assert parts[("secret", 0)][0] == 29 and parts[("secret", 0)][2] == 0
    # Incremental, nothing named: the session's partitions are fetched.
    for epoch in (1, 2):
        err, sid2, parts = fetch(sid, epoch, [])
        assert (err, sid2) == (0, sid)
        assert parts.get(("secret", 0), (29, -1, 0))[0] == 29, parts
        assert parts.get(("secret", 0), (29, -1, 0))[2] == 0, parts


def test_describe_and_list_transactions_need_describe_on_the_id(srv):
    """DescribeTransactions answers TRANSACTIONAL_ID_AUTHORIZATION_FAILED
    for an id the principal may not Describe (before looking it up, as
    Kafka); ListTransactions leaves such ids out."""
    create_topic(srv, "tx-topic")
    p = Producer(dict(ck_conf(srv, ADMIN), **{"transactional.id": "tx-secret"}))
    p.init_transactions(30)
    p.begin_transaction()
    p.produce("tx-topic", value=b"x")
    p.flush(30)
    c = Conn(srv.port("kafka"))
    c.login("alice", USERS["alice"])
    # DescribeTransactions v0: [ids], tags -> throttle, [error ...].
    r = c.call(65, 0, uvarint(2) + cstr("tx-secret") + b"\0", True)
    n, off = read_uvarint(r, 4)
    assert n - 1 == 1 and struct.unpack_from(">h", r, off)[0] == 53
    # ListTransactions v0: no filters -> throttle, error, unknown filters, [states].
    r = c.call(66, 0, uvarint(1) + uvarint(1) + b"\0", True)
    assert struct.unpack_from(">h", r, 4)[0] == 0
    _, off = read_uvarint(r, 6)
    n, off = read_uvarint(r, off)
    assert n - 1 == 0
    # The admin (a super user) sees it listed.
    c2 = Conn(srv.port("kafka"))
    c2.login(ADMIN, ADMIN_PW)
    r = c2.call(66, 0, uvarint(1) + uvarint(1) + b"\0", True)
    _, off = read_uvarint(r, 6)
    n, off = read_uvarint(r, off)
    assert n - 1 == 1 and b"tx-secret" in r
    p.abort_transaction(30)
