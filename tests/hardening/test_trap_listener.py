"""Defects 7, 8 and 11: the SNMP trap listener against floods, storms and bad reloads.

7: a 51 KB trap with a wrong community cost 100-130 ms of CPU (pysnmp decoded it whole) and
   ~21 % of random datagrams raised a logged traceback.
8: 4,000 valid traps from one device caused 2,309 extra polls.
11: a reload to a trap port that cannot be bound closed the working listener and still
   reported success.
"""

from __future__ import annotations

import asyncio
import logging
import os
import random
import shutil
import socket
import subprocess
import time
from pathlib import Path

import pytest

from netwatch.collectors.snmp import ber
from netwatch.collectors.snmp.traps import TrapListener
from netwatch.collectors.snmp.types import Kind, Value
from netwatch.core.model import Inventory, SecretRef, Settings, SnmpCredential, SnmpTrapSettings
from netwatch.core.telemetry import REGISTRY
from tests.collectors.snmp.support import device
from tests.collectors.snmp.test_traps import wait_for as eventually
from tests.helpers.netwatch_proc import config, running
from tests.helpers.procs import http_get, http_post, wait_for
from tests.helpers.snmpd import free_udp_port

SNMPINFORM = shutil.which("snmpinform") or "/usr/bin/snmpinform"
LINK_DOWN = (1, 3, 6, 1, 6, 3, 1, 1, 5, 3)
SYS_UPTIME = (1, 3, 6, 1, 2, 1, 1, 3, 0)
TRAP_OID = (1, 3, 6, 1, 6, 3, 1, 1, 4, 1, 0)


def count(trap: str, result: str) -> float:
    labels = {"trap": trap, "result": result}
    return REGISTRY.get_sample_value("netwatch_snmp_traps_received_total", labels) or 0.0


def trap_v2c(community: bytes, padding: int = 0) -> bytes:
    varbinds = [
        (SYS_UPTIME, Value(Kind.TIMETICKS, 12345)),
        (TRAP_OID, Value(Kind.OBJECT_IDENTIFIER, LINK_DOWN)),
    ]
    if padding:
        varbinds.append(((1, 3, 6, 1, 4, 1, 99999, 1), Value(Kind.OCTET_STRING, b"x" * padding)))
    rid = random.randrange(1, 1 << 30)
    return ber.encode_message(ber.VERSION_2C, community, ber.TRAP_V2, rid, varbinds)


@pytest.fixture
async def listener():
    os.environ["NW_HARDEN_TRAP_COMMUNITY"] = "village-secret"
    cred = SnmpCredential(
        name="v2", version="2c", community=SecretRef(env="NW_HARDEN_TRAP_COMMUNITY")
    )
    dev = device("ap-1", address="127.0.0.1", snmp="v2")
    inv = Inventory("35.10", "Banyuwangi", Settings(), {}, {}, {dev.name: dev}, {"v2": cred})
    polls: list[tuple[str, str, str]] = []
    settings = SnmpTrapSettings(
        enabled=True, address="127.0.0.1", port=free_udp_port(), min_repoll_interval=1.0
    )
    lst = TrapListener(lambda: inv, lambda *a: polls.append(a), settings)
    addr = await lst.start()
    try:
        yield addr, polls
    finally:
        await lst.stop()


async def _send_paced(addr: tuple[str, int], datagrams: list[bytes], counted) -> None:
    """Send from the device's address, one at a time, waiting for each to be counted."""
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        s.bind(("127.0.0.1", 0))
        for data in datagrams:
            seen = counted()
            s.sendto(data, addr)
            deadline = time.monotonic() + 2
            while counted() == seen and time.monotonic() < deadline:
                await asyncio.sleep(0.0005)


async def test_big_trap_with_a_wrong_community_costs_no_decode(listener) -> None:
    addr, polls = listener
    big = trap_v2c(b"wrong", padding=51_000)
    before = count("unknown", "too_big") + count("unknown", "bad_credentials")
    started = time.process_time()
    await _send_paced(
        addr, [big] * 30, lambda: count("unknown", "too_big") + count("unknown", "bad_credentials")
    )
    spent = time.process_time() - started
    assert count("unknown", "too_big") + count("unknown", "bad_credentials") == before + 30
    assert spent < 0.5  # before: 100-130 ms each, 3-4 s for these 30
    # Small, wrong community: dropped from the header too.
    before = count("unknown", "bad_credentials")
    await _send_paced(addr, [trap_v2c(b"wrong")] * 10, lambda: count("unknown", "bad_credentials"))
    assert count("unknown", "bad_credentials") == before + 10
    assert polls == []


async def test_random_datagrams_raise_no_traceback(listener, caplog) -> None:
    addr, polls = listener
    rng = random.Random(14)
    noise = [bytes(rng.randrange(256) for _ in range(rng.randrange(1, 300))) for _ in range(300)]
    caplog.set_level(logging.DEBUG)

    def dropped() -> float:
        return sum(count("unknown", r) for r in ("malformed", "bad_credentials", "too_big"))

    before = dropped()
    await _send_paced(addr, noise, dropped)
    assert dropped() - before == 300  # every one dropped from its header
    # Header-valid with the right community but a broken PDU: reaches pysnmp, must not crash.
    good = trap_v2c(b"village-secret")
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        s.bind(("127.0.0.1", 0))
        for _ in range(20):
            s.sendto(good[: len(good) // 2] + bytes(rng.randrange(256) for _ in range(40)), addr)
            await asyncio.sleep(0.01)
    await asyncio.sleep(0.2)
    tracebacks = [r for r in caplog.records if r.exc_info]
    assert tracebacks == []
    assert polls == []


async def test_a_trap_storm_costs_one_poll_now_and_one_trailing(listener) -> None:
    addr, polls = listener
    before = count("linkDown", "rate_limited")
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        s.bind(("127.0.0.1", 0))
        for _ in range(400):
            s.sendto(trap_v2c(b"village-secret"), addr)
            await asyncio.sleep(0)  # let the listener read: nothing lost to the buffer
    assert await eventually(lambda: count("linkDown", "rate_limited") - before >= 350)
    assert polls == [("ap-1", "snmp", "trap linkDown")]
    # One trailing poll at the end of the 1 s interval, so the last change is seen soon.
    assert await eventually(lambda: len(polls) == 2, 3)
    await asyncio.sleep(1.5)
    assert len(polls) == 2


CREDENTIALS = """credentials:
  snmp:
    v2: {version: 2c, community: {env: NW_HARDEN_COMMUNITY}}
"""
TRAP_DEVICE = (
    "            - {name: trap-src, role: ap, address: 127.0.0.1, parent: purwodadi-router,"
    " snmp: v2}\n"
)


def _config(port: int) -> str:
    traps = f"  snmp_traps: {{enabled: true, address: 127.0.0.1, port: {port}}}\n"
    text = config(settings=traps).replace("regency:", CREDENTIALS + "regency:", 1)
    return text + TRAP_DEVICE


def _inform(port: int) -> int:
    return subprocess.run(
        [SNMPINFORM, "-v2c", "-c", "village-secret", "-m", "", "-t", "1", "-r", "1",
         f"127.0.0.1:{port}", "", ".1.3.6.1.6.3.1.1.5.3"],
        capture_output=True,
        timeout=30,
    ).returncode  # fmt: skip


def test_reload_to_an_unbindable_trap_port_keeps_the_working_listener(tmp_path: Path) -> None:
    env = {**os.environ, "NW_HARDEN_COMMUNITY": "village-secret"}
    first = free_udp_port()
    with running(tmp_path, _config(first), env=env) as nw:
        assert _inform(first) == 0
        taken = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        taken.bind(("127.0.0.1", 0))
        try:
            nw.config.write_text(_config(taken.getsockname()[1]))
            status, body = http_post(nw.url + "/-/reload")
            assert status == 500 and "settings.snmp_traps: cannot bind" in body, body
            assert nw.value("netwatch_config_last_reload_successful") == 0
            assert _inform(first) == 0  # the old listener still answers
        finally:
            taken.close()
        second = free_udp_port()
        nw.config.write_text(_config(second))
        status, body = http_post(nw.url + "/-/reload")
        assert status == 200, body
        assert _inform(second) == 0
        assert _inform(first) != 0  # moved: the old port is released


def test_trap_port_taken_at_start_is_loud_and_retried(tmp_path: Path) -> None:
    env = {**os.environ, "NW_HARDEN_COMMUNITY": "village-secret"}
    taken = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    taken.bind(("127.0.0.1", 0))
    port = taken.getsockname()[1]
    try:
        with running(tmp_path, _config(port), env=env, ready=False) as nw:
            body = nw.not_ready("trap_listener")
            assert f"cannot bind 127.0.0.1:{port}" in body
            assert nw.value('netwatch_component_up{component="trap_listener"}') == 0
            taken.close()
            wait_for(lambda: http_get(nw.url + "/readyz")[0] == 200, 90, "listener bound")
            assert _inform(port) == 0
    finally:
        taken.close()
