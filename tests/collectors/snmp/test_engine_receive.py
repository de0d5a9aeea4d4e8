"""How the engine sorts answers from a real snmpd before decoding them: late ones and strays
are shed and counted. A stopped snmpd (SIGSTOP) makes answers late for certain; the kernel's
drop counter (/proc/net/udp, by inode) checks the engine's own."""

from __future__ import annotations

import asyncio
import os
import signal
import socket
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from netwatch.collectors.snmp import ber
from netwatch.collectors.snmp.engine import SnmpEngine
from netwatch.collectors.snmp.types import Kind, Target, parse_oid
from tests.helpers.snmpd import Snmpd, running_snmpd

SYS_UPTIME = parse_oid("1.3.6.1.2.1.1.3.0")


@pytest.fixture
def own_snmpd() -> Iterator[Snmpd]:
    """An snmpd of this test's own: these tests stop and continue it."""
    with running_snmpd() as agent:
        yield agent


def kernel_drops(engine: SnmpEngine) -> int:
    """The kernel's drop counter of the engine's one socket (/proc/net/udp, by inode)."""
    (transport,) = engine._transports.values()
    sock = transport.get_extra_info("socket")
    assert sock is not None
    inode = str(os.fstat(sock.fileno()).st_ino)
    for line in Path("/proc/net/udp").read_text().splitlines()[1:]:
        fields = line.split()
        if fields[9] == inode:
            return int(fields[-1])
    raise AssertionError("the engine's socket is not in /proc/net/udp")


async def test_socket_drops_are_the_kernels_count(own_snmpd: Snmpd) -> None:
    """netwatch_snmp_socket_drops_total reads the kernel's counter: answers to 2,000 GETs sent
    while the loop does not read (a blocking sleep) overflow the queue; the two counts agree."""
    from netwatch.collectors.snmp.engine import stats_totals

    target = Target(own_snmpd.host, own_snmpd.port, timeout=10.0, retries=0)
    # receive_queue=0: the kernel's default queue (net.core.rmem_default), which overflows.
    async with SnmpEngine(max_in_flight=2000, receive_queue=0) as engine:
        before = stats_totals()["socket_drops"]
        drops = await held_burst(engine, target)
        assert drops > 0  # the queue did overflow
        assert stats_totals()["socket_drops"] - before == drops


async def held_burst(engine: SnmpEngine, target: Target) -> int:
    """2,000 GETs answered while the loop reads nothing for 1 s; the kernel's drops then."""
    await engine.get(target, [SYS_UPTIME])
    tasks = [asyncio.ensure_future(engine.get(target, [SYS_UPTIME])) for _ in range(2000)]
    await asyncio.sleep(0)  # every request is sent
    await until(lambda: engine.stats.sent >= 2001)
    time.sleep(1.0)  # the loop reads nothing while snmpd answers
    await asyncio.sleep(0.2)  # what the queue held is read
    for task in tasks:
        task.cancel()
    await asyncio.gather(*tasks, return_exceptions=True)
    return kernel_drops(engine)


async def test_the_engine_socket_holds_the_answers_of_a_held_loop(own_snmpd: Snmpd) -> None:
    """The engine asks for a 4 MiB receive queue (the kernel's SO_RCVBUF reads back twice the
    size, socket(7)): the burst that overflows the default queue above is held whole."""
    target = Target(own_snmpd.host, own_snmpd.port, timeout=10.0, retries=0)
    async with SnmpEngine(max_in_flight=2000, receive_queue=0) as small:
        assert await held_burst(small, target) > 0
    async with SnmpEngine(max_in_flight=2000) as engine:
        assert await held_burst(engine, target) == 0
        (transport,) = engine._transports.values()
        sock = transport.get_extra_info("socket")
        rmem_max = int(Path("/proc/sys/net/core/rmem_max").read_text())
        asked = 4 << 20 if os.geteuid() == 0 else min(4 << 20, rmem_max)  # root may force
        assert sock.getsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF) == 2 * asked
        assert engine.receive_queue_bytes == 2 * asked


async def until(check: object, seconds: float = 10.0) -> None:
    deadline = time.monotonic() + seconds
    while not check():  # type: ignore[operator]
        assert time.monotonic() < deadline, "condition not met in time"
        await asyncio.sleep(0.01)


async def test_late_answer_is_shed_undecoded(own_snmpd: Snmpd) -> None:
    """snmpd stopped: the GET times out; continued, it answers the queued request: late."""
    target = Target(own_snmpd.host, own_snmpd.port, timeout=0.3, retries=1)
    async with SnmpEngine() as engine:
        await engine.get(target, [SYS_UPTIME])
        decoded = engine.stats.decoded
        os.kill(own_snmpd.proc.pid, signal.SIGSTOP)
        try:
            with pytest.raises(Exception, match="no response after 2 tries"):
                await engine.get(target, [SYS_UPTIME])
        finally:
            os.kill(own_snmpd.proc.pid, signal.SIGCONT)
        # Both datagrams (the first try and the re-send, same request-id) are answered now.
        await until(lambda: engine.stats.late_answers == 2)
        assert engine.stats.decoded == decoded  # shed before decoding
        assert engine.stats.unknown_request_id == engine.stats.wrong_source == 0
        assert engine.stats.timeouts == 1 and engine.stats.retries == 1
        assert (await engine.get(target, [SYS_UPTIME]))[SYS_UPTIME].kind is Kind.TIMETICKS


async def test_answer_to_an_unknown_request_id_is_counted_and_dropped(own_snmpd: Snmpd) -> None:
    """A GET with a request-id the engine never handed out, sent from the engine's socket while
    one of its own GETs waits on the same agent: snmpd answers both, ours alone is applied."""
    target = Target(own_snmpd.host, own_snmpd.port, timeout=5.0, retries=0)
    async with SnmpEngine() as engine:
        await engine.get(target, [SYS_UPTIME])
        (transport,) = engine._transports.values()
        foreign_id = (engine._next_id + (1 << 30)) % 0x7FFFFFFF or 1  # far from any of ours
        decoded = engine.stats.decoded
        os.kill(own_snmpd.proc.pid, signal.SIGSTOP)  # both requests queue in snmpd, in order
        try:
            stray = ber.encode_request(ber.VERSION_2C, b"public", ber.GET, foreign_id, [SYS_UPTIME])
            transport.sendto(stray, (own_snmpd.host, own_snmpd.port))
            task = asyncio.ensure_future(engine.get(target, [SYS_UPTIME]))
            await until(lambda: engine.in_flight == 1)
        finally:
            os.kill(own_snmpd.proc.pid, signal.SIGCONT)
        assert (await task)[SYS_UPTIME].kind is Kind.TIMETICKS
        await until(lambda: engine.stats.unknown_request_id == 1)
        assert engine.stats.decoded == decoded + 1  # our answer only
        assert engine.stats.late_answers == engine.stats.wrong_source == 0
