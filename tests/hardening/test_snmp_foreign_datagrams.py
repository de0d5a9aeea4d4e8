"""Defect 3: the SNMP poller's socket listened on 0.0.0.0 and decoded every datagram before
checking its source and request-id; one 60 KB datagram with a long OID sub-identifier cost
~0.5 s of CPU. Now the socket is bound to the source address toward the device, foreign
datagrams are dropped from a few header bytes, and the codec refuses an over-long
sub-identifier at its fifth byte.
"""

from __future__ import annotations

import asyncio
import socket
import time

import pytest

from netwatch.collectors.snmp import ber
from netwatch.collectors.snmp.engine import SnmpEngine
from netwatch.collectors.snmp.types import SnmpError, Target, parse_oid
from tests.helpers.snmpd import running_snmpd

SYS_DESCR = parse_oid("1.3.6.1.2.1.1.1.0")


def long_subid_message(request_id: int) -> bytes:
    """A v2c Response whose one varbind OID has a 60,000-byte sub-identifier (X.690 8.19)."""
    oid_body = b"\x2b" + b"\xff" * 60_000 + b"\x01"
    varbind = ber._tlv(0x30, ber._tlv(0x06, oid_body) + b"\x05\x00")
    pdu = (
        ber._tlv(0x02, ber._int_body(request_id))
        + b"\x02\x01\x00\x02\x01\x00"
        + ber._tlv(0x30, varbind)
    )
    return ber._tlv(0x30, b"\x02\x01\x01" + ber._tlv(0x04, b"public") + ber._tlv(0xA2, pdu))


def test_long_sub_identifier_is_refused_at_once() -> None:
    data = long_subid_message(7)
    started = time.process_time()
    for _ in range(20):
        with pytest.raises(SnmpError, match="above 2\\^32-1"):
            ber.decode_message(data)
    # Before: ~0.5 s each. Now a few bytes are read: 20 in far less than one old one.
    assert time.process_time() - started < 0.1


async def test_poller_socket_bound_to_loopback_drops_foreign_datagrams() -> None:
    with running_snmpd() as agent:
        target = Target("127.0.0.1", agent.port, community="public", timeout=2)
        async with SnmpEngine() as engine:
            assert SYS_DESCR in await engine.get(target, [SYS_DESCR])
            (((family, local), transport),) = engine._transports.items()
            sockname = transport.get_extra_info("sockname")
            assert (family, local, sockname[0]) == (socket.AF_INET, "127.0.0.1", "127.0.0.1")
            # An outsider (another address, another port) floods the poller's port.
            with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as outsider:
                outsider.bind(("127.0.0.3", 0))
                data = long_subid_message(12345)
                started = time.process_time()
                for _ in range(20):
                    # One at a time: 60 KB datagrams would overflow the receive buffer.
                    seen = engine.stats.received
                    outsider.sendto(data, ("127.0.0.1", sockname[1]))
                    deadline = time.monotonic() + 5
                    while engine.stats.received == seen and time.monotonic() < deadline:
                        await asyncio.sleep(0.001)
                spent = time.process_time() - started
                assert SYS_DESCR in await engine.get(target, [SYS_DESCR])
            assert engine.stats.wrong_source == 20
            assert engine.stats.decode_errors == 0
            assert spent < 0.5  # before: ~10 s of CPU for these 20 datagrams
