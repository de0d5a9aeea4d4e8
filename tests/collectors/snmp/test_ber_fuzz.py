"""Fuzz the decoder with mutations of real responses captured from snmpd and snmpsim."""

from __future__ import annotations

import random
import socket

import pytest

from netwatch.collectors.snmp import ber
from netwatch.collectors.snmp.types import SnmpError, parse_oid
from tests.collectors.snmp.pyasn1_oracle import pyasn1_decode
from tests.helpers.snmpd import Snmpd

MUTATIONS_PER_DATAGRAM = 600


def capture(host: str, port: int, community: str, pdu: int, oid: str, reps: int = 25) -> bytes:
    req = ber.encode_request(1, community.encode(), pdu, 4242, [parse_oid(oid)],
                             max_repetitions=reps)  # fmt: skip
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        sock.settimeout(3)
        for _ in range(3):
            sock.sendto(req, (host, port))
            try:
                return sock.recv(65535)
            except TimeoutError:
                continue
    raise AssertionError(f"no answer from {host}:{port} ({community})")


@pytest.fixture(scope="module")
def datagrams(snmpd: Snmpd, snmpsim: tuple[str, int]) -> list[bytes]:
    captured = [
        capture(snmpd.host, snmpd.port, "public", ber.GETBULK, "1.3.6.1.2.1.2.2"),
        capture(snmpd.host, snmpd.port, "public", ber.GETBULK, "1.3.6.1.2.1.1"),
    ]
    host, port = snmpsim
    recorded = [
        capture(host, port, "routeros", ber.GETBULK, "1.3.6.1.2.1.31.1.1.1.6"),
        capture(host, port, "smartax", ber.GETBULK, "1.3.6.1.2.1.2.2.1.2"),
        capture(host, port, "zxa10_c320", ber.GETBULK, "1.0.8802.1.1.2.1.3"),
        capture(host, port, "vsolution_v1600d", ber.GETBULK, "1.3.6.1.4.1.37950.1.1.5.12.2.1.8"),
        capture(host, port, "routeros", ber.GET, "1.3.6.1.2.1.1.3.0"),
    ]
    return [*captured, *recorded]


def mutate(rng: random.Random, data: bytes) -> bytes:
    buf = bytearray(data)
    for _ in range(rng.randint(1, 3)):
        op = rng.randrange(6)
        i = rng.randrange(len(buf)) if buf else 0
        if op == 0 and buf:
            buf[i] ^= 1 << rng.randrange(8)
        elif op == 1 and buf:
            buf[i] = rng.choice((0x00, 0x7F, 0x80, 0x81, 0x82, 0xFF, rng.randrange(256)))
        elif op == 2:
            del buf[rng.randrange(len(buf) + 1) :]
        elif op == 3:
            buf.insert(i, rng.randrange(256))
        elif op == 4 and buf:
            del buf[i]
        else:
            j = rng.randrange(len(buf) + 1)
            buf[j:j] = buf[i : i + rng.randint(1, 8)]
    return bytes(buf)


def as_plain(msg: ber.Message) -> tuple:
    vbs = [(oid, v.kind, v.value) for oid, v in msg.varbinds]
    return (msg.version, msg.community, msg.pdu_type, msg.request_id, msg.error_status,
            msg.error_index, vbs)  # fmt: skip


def test_captured_datagrams_decode_as_pyasn1_does(datagrams: list[bytes]) -> None:
    for data in datagrams:
        msg = ber.decode_message(data)
        assert msg.varbinds
        assert as_plain(msg) == pyasn1_decode(data)


def test_mutations_decode_correctly_or_fail_cleanly(datagrams: list[bytes]) -> None:
    rng = random.Random(20261128)
    outcomes = {"decoded": 0, "rejected": 0, "agreed": 0}
    for data in datagrams:
        for _ in range(MUTATIONS_PER_DATAGRAM):
            mutated = mutate(rng, data)
            try:
                msg = ber.decode_message(mutated)
            except SnmpError as exc:
                assert exc.reason == "decode"
                outcomes["rejected"] += 1
                continue
            outcomes["decoded"] += 1
            oracle = pyasn1_decode(mutated)
            if oracle is not None:
                assert as_plain(msg) == oracle, mutated.hex()
                outcomes["agreed"] += 1
    # The mutations must exercise both paths, or this test proves little.
    assert outcomes["rejected"] > 100 and outcomes["agreed"] > 20, outcomes
