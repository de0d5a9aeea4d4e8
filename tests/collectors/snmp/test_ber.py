"""The BER codec: round trips, pyasn1 as the oracle both ways, strictness cases."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from netwatch.collectors.snmp import ber
from netwatch.collectors.snmp.types import Kind, SnmpError, Value
from tests.collectors.snmp.pyasn1_oracle import pyasn1_decode, pyasn1_encode_response

U32 = st.integers(0, 2**32 - 1)
oids = st.one_of(
    st.tuples(st.integers(0, 1), st.integers(0, 39)),
    st.tuples(st.just(2), st.integers(0, 2**32 - 81)),
).flatmap(lambda head: st.lists(U32, max_size=20).map(lambda rest: head + tuple(rest)))
values = st.one_of(
    st.builds(Value, st.just(Kind.INTEGER), st.integers(-(2**31), 2**31 - 1)),
    st.builds(Value, st.just(Kind.OCTET_STRING), st.binary(max_size=300)),
    st.just(Value(Kind.NULL, None)),
    st.builds(Value, st.just(Kind.OBJECT_IDENTIFIER), oids),
    st.builds(Value, st.just(Kind.IP_ADDRESS), st.binary(min_size=4, max_size=4)),
    st.builds(Value, st.sampled_from([Kind.COUNTER32, Kind.GAUGE32, Kind.TIMETICKS]), U32),
    st.builds(Value, st.just(Kind.OPAQUE), st.binary(max_size=40)),
    st.builds(Value, st.just(Kind.COUNTER64), st.integers(0, 2**64 - 1)),
    st.builds(
        Value,
        st.sampled_from([Kind.NO_SUCH_OBJECT, Kind.NO_SUCH_INSTANCE, Kind.END_OF_MIB_VIEW]),
        st.none(),
    ),
)
varbinds = st.lists(st.tuples(oids, values), max_size=30)
request_ids = st.integers(-(2**31), 2**31 - 1)


@settings(max_examples=200, deadline=None)
@given(varbinds, request_ids, st.binary(max_size=40), st.integers(0, 18), st.integers(0, 30))
def test_round_trip(vbs, rid, community, status, index) -> None:
    data = ber.encode_message(1, community, ber.RESPONSE, rid, vbs, status, index)
    msg = ber.decode_message(data)
    assert msg == ber.Message(1, community, ber.RESPONSE, rid, status, index, vbs)


@settings(max_examples=200, deadline=None)
@given(varbinds, request_ids, st.binary(max_size=20))
def test_decodes_pyasn1_encoding_as_pyasn1_does(vbs, rid, community) -> None:
    plain = [(oid, v.kind, v.value) for oid, v in vbs]
    data = pyasn1_encode_response(community, rid, plain)
    oracle = pyasn1_decode(data)
    assert oracle is not None
    msg = ber.decode_message(data)
    assert (msg.version, msg.community, msg.pdu_type, msg.request_id) == oracle[:4]
    assert [(oid, v.kind, v.value) for oid, v in msg.varbinds] == oracle[6]


@settings(max_examples=200, deadline=None)
@given(varbinds, request_ids, st.binary(max_size=20))
def test_our_encoding_decodes_in_pyasn1(vbs, rid, community) -> None:
    data = ber.encode_message(1, community, ber.RESPONSE, rid, vbs)
    oracle = pyasn1_decode(data)
    assert oracle is not None
    assert oracle[6] == [(oid, v.kind, v.value) for oid, v in vbs]
    assert oracle[3] == rid


@settings(max_examples=100, deadline=None)
@given(st.lists(oids, min_size=1, max_size=10), request_ids, st.integers(0, 100))
def test_requests_decode_in_pyasn1(req_oids, rid, reps) -> None:
    for pdu in (ber.GET, ber.GETNEXT, ber.GETBULK):
        data = ber.encode_request(1, b"public", pdu, rid, req_oids, max_repetitions=reps)
        oracle = pyasn1_decode(data)
        assert oracle is not None
        assert oracle[2] == pdu and oracle[3] == rid
        assert [o for o, *_ in oracle[6]] == req_oids
        if pdu == ber.GETBULK:
            assert oracle[5] == reps


def response_with_value(tlv: bytes) -> bytes:
    """A v2c Response holding one varbind 1.3.6.1.2.1.1.3.0 with the raw value TLV."""
    vb = b"\x06\x08\x2b\x06\x01\x02\x01\x01\x03\x00" + tlv
    vb = bytes((0x30, len(vb))) + vb
    pdu = b"\x02\x01\x07\x02\x01\x00\x02\x01\x00" + bytes((0x30, len(vb))) + vb
    body = b"\x02\x01\x01\x04\x06public" + bytes((0xA2, len(pdu))) + pdu
    return bytes((0x30, len(body))) + body


def test_hand_built_message_decodes() -> None:
    msg = ber.decode_message(response_with_value(b"\x43\x03\x1e\xd4\x30"))  # 2020400 ticks
    assert msg.varbinds == [((1, 3, 6, 1, 2, 1, 1, 3, 0), Value(Kind.TIMETICKS, 2020400))]
    assert (msg.community, msg.request_id) == (b"public", 7)


@pytest.mark.parametrize(
    ("tlv", "why"),
    [
        (b"\x46\x09\x01" + b"\x00" * 8, "Counter64 = 2^64"),
        (b"\x41\x05\x01\x00\x00\x00\x00", "Counter32 = 2^32"),
        (b"\x42\x01\xff", "negative Gauge32"),
        (b"\x02\x05\x00\x80\x00\x00\x00", "INTEGER = 2^31"),
        (b"\x02\x05\xff\x7f\xff\xff\xff", "INTEGER below -2^31"),
        (b"\x02\x00", "empty INTEGER"),
        (b"\x02\x09" + b"\x00" * 8 + b"\x01", "INTEGER of 9 bytes"),
        (b"\x40\x03\x7f\x00\x01", "3-byte IpAddress"),
        (b"\x05\x01\x00", "non-empty NULL"),
        (b"\x80\x01\x00", "non-empty noSuchObject"),
        (b"\x06\x02\x2b\x86", "truncated OID arc"),
        (b"\x06\x03\x2b\x80\x01", "non-minimal OID arc"),
        (b"\x06\x00", "empty OID"),
        (b"\x24\x03\x04\x01\x41", "constructed OCTET STRING"),
        (b"\x47\x01\x00", "unknown tag"),
        (b"\x04\x81\x05hello", "non-minimal length"),
    ],
)
def test_rejects_malformed_values(tlv: bytes, why: str) -> None:
    with pytest.raises(SnmpError) as err:
        ber.decode_message(response_with_value(tlv))
    assert err.value.reason == "decode", why


def test_accepts_range_limits() -> None:
    cases = [
        (b"\x46\x09\x00" + b"\xff" * 8, Value(Kind.COUNTER64, 2**64 - 1)),
        (b"\x41\x05\x00\xff\xff\xff\xff", Value(Kind.COUNTER32, 2**32 - 1)),
        (b"\x02\x04\x80\x00\x00\x00", Value(Kind.INTEGER, -(2**31))),
        (b"\x02\x04\x7f\xff\xff\xff", Value(Kind.INTEGER, 2**31 - 1)),
        (b"\x06\x04\x2b\x8f\xff\x7f", Value(Kind.OBJECT_IDENTIFIER, (1, 3, 262143))),
        # Padded integers (pyasn1 writes -128 as ff 80): same value as pyasn1 reads.
        (b"\x02\x02\xff\x80", Value(Kind.INTEGER, -128)),
        (b"\x02\x02\x00\x05", Value(Kind.INTEGER, 5)),
        (b"\x42\x03\x00\x00\x07", Value(Kind.GAUGE32, 7)),
    ]
    for tlv, expected in cases:
        data = response_with_value(tlv)
        assert ber.decode_message(data).varbinds[0][1] == expected
        assert pyasn1_decode(data)[6][0][1:] == (expected.kind, expected.value)


def test_rejects_framing_errors() -> None:
    good = response_with_value(b"\x02\x01\x05")
    bad = {
        "trailing garbage": good + b"\x00",
        "truncated": good[:-1],
        "indefinite length": b"\x30\x80" + good[2:] + b"\x00\x00",
        "non-minimal outer length": b"\x30\x81" + good[1:],
        "wrong outer tag": b"\x31" + good[1:],
        "version 3": good[:4] + b"\x03" + good[5:],
        "empty": b"",
        "long-form length of 5 bytes": b"\x30\x85\x00\x00\x00\x00\x05",
    }
    for why, data in bad.items():
        with pytest.raises(SnmpError) as err:
            ber.decode_message(data)
        assert err.value.reason == "decode", why


def test_v1_trap_from_net_snmp_snmptrap() -> None:
    import socket
    import subprocess

    from tests.collectors.snmp.pyasn1_oracle import V1

    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        sock.bind(("127.0.0.1", 0))
        sock.settimeout(5)
        port = sock.getsockname()[1]
        subprocess.run(
            ["snmptrap", "-v1", "-c", "village", "-m", "", f"127.0.0.1:{port}",
             ".1.3.6.1.4.1.8072.4", "127.0.0.9", "6", "17", "12345",
             ".1.3.6.1.2.1.1.5.0", "s", "desa-ap-01", ".1.3.6.1.2.1.2.2.1.8.3", "i", "2"],
            check=True, capture_output=True, timeout=10,
            env={"SNMP_PERSISTENT_DIR": "/tmp", "PATH": "/usr/bin:/bin"},
        )  # fmt: skip
        data = sock.recv(65535)
    trap = ber.decode_trap_v1(data)
    # Values as given on the snmptrap command line.
    assert trap.community == b"village"
    assert trap.enterprise == (1, 3, 6, 1, 4, 1, 8072, 4)
    assert trap.agent_addr == bytes([127, 0, 0, 9])
    assert (trap.generic_trap, trap.specific_trap, trap.time_stamp) == (6, 17, 12345)
    assert trap.varbinds == [
        ((1, 3, 6, 1, 2, 1, 1, 5, 0), Value(Kind.OCTET_STRING, b"desa-ap-01")),
        ((1, 3, 6, 1, 2, 1, 2, 2, 1, 8, 3), Value(Kind.INTEGER, 2)),
    ]
    # pyasn1 reads the same varbinds
    from pyasn1.codec.ber import decoder

    msg, _ = decoder.decode(data, asn1Spec=V1.Message())
    pdu = V1.apiMessage.get_pdu(msg)
    assert [tuple(o) for o, _ in V1.apiTrapPDU.get_varbinds(pdu)] == [o for o, _ in trap.varbinds]
    with pytest.raises(SnmpError, match="decode_trap_v1"):
        ber.decode_message(data)
    for cut in range(len(data)):
        with pytest.raises(SnmpError):
            ber.decode_trap_v1(data[:cut])


def test_small_values_decoded_again_are_what_pyasn1_reads() -> None:
    # Small values (a status, a type, a zero counter, a short string) are kept by their bytes
    # between decodes: a second decode of each, and the same content under another tag, must
    # still read as pyasn1 reads them.
    cases = [
        (b"\x02\x01\x07", Value(Kind.INTEGER, 7)),
        (b"\x42\x01\x07", Value(Kind.GAUGE32, 7)),
        (b"\x41\x01\x07", Value(Kind.COUNTER32, 7)),
        (b"\x43\x01\x00", Value(Kind.TIMETICKS, 0)),
        (b"\x46\x01\x00", Value(Kind.COUNTER64, 0)),
        (b"\x02\x01\xff", Value(Kind.INTEGER, -1)),
        (b"\x02\x02\x00\x80", Value(Kind.INTEGER, 128)),
        (b"\x42\x04\x3b\x9a\xca\x00", Value(Kind.GAUGE32, 1_000_000_000)),
        (b"\x41\x02\x01\x00", Value(Kind.COUNTER32, 256)),
        (b"\x41\x03\x01\x00\x00", Value(Kind.COUNTER32, 65536)),  # not kept, still right
        (b"\x02\x04\x00\x98\x96\x80", Value(Kind.INTEGER, 10_000_000)),  # not kept either
        (
            b"\x06\x09\x2b\x06\x01\x02\x01\x19\x02\x01\x02",
            Value(Kind.OBJECT_IDENTIFIER, (1, 3, 6, 1, 2, 1, 25, 2, 1, 2)),
        ),
        (b"\x04\x02lo", Value(Kind.OCTET_STRING, b"lo")),
        (b"\x04\x00", Value(Kind.OCTET_STRING, b"")),
        (b"\x40\x04\x7f\x00\x00\x01", Value(Kind.IP_ADDRESS, b"\x7f\x00\x00\x01")),
        (b"\x06\x01\x2b", Value(Kind.OBJECT_IDENTIFIER, (1, 3))),
    ]
    for _ in range(2):
        for tlv, expected in cases:
            data = response_with_value(tlv)
            assert ber.decode_message(data).varbinds[0][1] == expected, tlv
            assert pyasn1_decode(data)[6][0][1:] == (expected.kind, expected.value)


def test_small_malformed_values_fail_every_time(monkeypatch: pytest.MonkeyPatch) -> None:
    for _ in range(2):
        for tlv in (b"\x42\x01\xff", b"\x05\x01\x00", b"\x40\x03\x7f\x00\x01", b"\x02\x00"):
            with pytest.raises(SnmpError):
                ber.decode_message(response_with_value(tlv))
    # The kept values stay bounded: a full store is emptied, and decodes stay right.
    monkeypatch.setattr(ber, "_VALUE_CACHE", {})
    monkeypatch.setattr(ber, "_VALUE_CACHE_MAX", 3)
    for n in range(10):
        data = response_with_value(bytes((0x02, 0x01, n)))
        assert ber.decode_message(data).varbinds[0][1] == Value(Kind.INTEGER, n)
        assert len(ber._VALUE_CACHE) <= 3
