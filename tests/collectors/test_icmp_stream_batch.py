"""The echo stream's batched path (collectors/icmp/batch.py, reader.py) with real packets in
namespaces the tests make: replies matched to the right device and echo, forged replies
refused, a full send queue and an unroutable device mid-batch, RTTs against ping(8) behind a
reply delay, and a wake-up's replies kept within a 256 KiB receive buffer."""

from __future__ import annotations

import asyncio
import socket
import statistics
import struct
import sys
import time

import pytest

from netwatch.collectors.icmp import batch
from netwatch.collectors.icmp.stream import EchoStream
from netwatch.collectors.icmp_wire import sockets
from netwatch.core.model import PingSettings
from tests.collectors.test_icmp_stream import Reports, run_in
from tests.helpers import regency
from tests.helpers.icmp_forge import forge_reply, silent_host_namespace
from tests.helpers.netns import Namespace, Netlab, requires_root

pytestmark = [pytest.mark.root, requires_root]

# A steady echo every 2 s, so that a stalled loop (2.2 s) makes every device due in one wake-up.
SLOW = PingSettings(interval=4.0, count=2, spacing=0.1, timeout=1.0, down_echoes=5)
DELAY_MS = 25.0  # the far side's replies held this long: the independent RTT reference


def batched(stream: EchoStream) -> bool:
    """The premise of every test here: the stream sent and read through the batched path."""
    fam = stream.pinger.family(socket.AF_INET)
    return bool(stream._batcher and fam is not None and fam.inbox is not None)


async def stall(seconds: float) -> float:
    """Block the event loop for seconds (every device's echo falls due meanwhile); returns the
    wall-clock time the stall ended."""
    loop = asyncio.get_running_loop()
    ended = loop.create_future()

    def block() -> None:
        time.sleep(seconds)
        ended.set_result(time.time())

    loop.call_soon(block)
    return await ended


def local_range(ns: Namespace, prefix: str) -> None:
    """Every address of prefix answers in ns (a local route on lo)."""
    ns.run("ip", "route", "add", "local", prefix, "dev", "lo", "table", "local")


def two_far_sides(lab: Netlab) -> Namespace:
    """core -- near (127.121.0.0/24, the kernel answers) and core -- slow (127.123.0.0/24,
    answered DELAY_MS late by tests/helpers/echo_delayer.py: this kernel has no netem)."""
    core = lab.add("ebcore")
    near, slow = lab.add("ebnear"), lab.add("ebslow")
    lab.link(core, "127.120.0.1", near, "127.120.0.2")
    lab.link(core, "127.122.0.1", slow, "127.122.0.2")
    slow.sysctl("net.ipv4.icmp_echo_ignore_all", "1")
    slow.popen(sys.executable, "-m", "tests.helpers.echo_delayer", str(DELAY_MS / 1000), "120")
    lab.route(core, "127.121.0.0/24", via="127.120.0.2")
    lab.route(core, "127.123.0.0/24", via="127.122.0.2")
    local_range(near, "127.121.0.0/24")
    local_range(slow, "127.123.0.0/24")
    return core


def mixed_address(n: int) -> str:
    """Odd devices on the near side, even ones behind the delay: every batch mixes them."""
    return f"127.121.0.{n}" if n % 2 else f"127.123.0.{n}"


def test_replies_reach_their_device_and_rtts_agree_with_ping(netlab: Netlab):
    core = two_far_sides(netlab)
    fast = PingSettings(interval=1.0, count=5, spacing=0.05, timeout=0.5, down_echoes=8)
    inv = regency.build(districts=1, villages=30, aps=1, ping=fast, address_of=mixed_address)

    async def body(stream: EchoStream, reports: Reports):
        stream.follow(inv, reports)
        await reports.until(lambda: reports.up(stream), 10, "every device up")
        t0, wall0 = time.monotonic(), time.time()

        def after() -> list:
            return [o for t, o in reports.got if o.result is not None and o.time >= wall0]

        def two_each() -> bool:  # two rounds of five echoes each begin and end after t0
            n: dict[str, int] = {}
            for o in after():
                n[o.device] = n.get(o.device, 0) + 1
            return len(n) == len(inv.devices) and min(n.values()) >= 2

        await asyncio.sleep(3.5)  # ~3 rounds; under load, wait on (bounded) for the second
        await reports.until(two_each, 10, "two rounds from every device after t0")
        rounds = after()
        bad = [o for t, o in reports.got if t >= t0 and o.event in ("lost", "down", "losing")]
        fam = stream.pinger.family(socket.AF_INET)
        return rounds, bad, batched(stream), fam.unmatched if fam else -1

    rounds, bad, was_batched, unmatched = run_in(core, body)
    assert was_batched
    assert bad == [] and unmatched == 0
    by_device: dict[str, list[float]] = {}
    for o in rounds:
        assert o.result.received == o.result.sent > 0, o
        by_device.setdefault(o.device, []).extend(o.result.rtts)
    assert set(by_device) == set(inv.devices)
    assert all(len(rtts) >= 10 for rtts in by_device.values())
    delay = DELAY_MS / 1000
    for name, rtts in by_device.items():
        slow = inv.devices[name].address.startswith("127.123.")
        if slow:  # each reply credited to the echo it answers: the delay, not ~0
            assert all(delay <= r < delay + 0.050 for r in rtts), (name, rtts)
        else:
            assert all(0.0 <= r < 0.010 for r in rtts), (name, rtts)
    # ping(8), after the stream, in the same namespace to hosts behind the delay. (fping
    # refuses the delayer's replies: it checks more than the kernel's echo code fills in.)
    slow_names = sorted(n for n, d in inv.devices.items() if d.address.startswith("127.123."))
    peer = []
    for name in slow_names[:6]:
        out = core.run("ping", "-n", "-q", "-c", "5", "-i", "0.05", inv.devices[name].address)
        summary = out.stdout.rpartition("=")[2].split("/")  # rtt min/avg/max/mdev = a/b/c/d ms
        peer.append(float(summary[1]) / 1000)
    ours = [r for n in slow_names[:6] for r in by_device[n]]
    # Stated tolerance: the medians within 1 ms of each other (the delay is 25 ms).
    assert abs(statistics.median(ours) - statistics.median(peer)) < 0.001, (ours, peer)


def test_forged_replies_are_refused_and_the_true_one_counted_once(netlab: Netlab):
    ns = silent_host_namespace(netlab, "ebforge")
    quiet = PingSettings(interval=30.0, count=1, spacing=1.0, timeout=3.0, down_echoes=3)
    addrs = {1: "127.0.0.3", 2: "127.0.0.2"}  # pop answers; rtr-1-1 only through forgeries
    inv = regency.build(districts=1, villages=1, aps=0, ping=quiet, address_of=addrs.__getitem__)

    async def body(stream: EchoStream, reports: Reports):
        stream.follow(inv, reports)
        fam = stream.pinger.family(socket.AF_INET)
        assert fam is not None
        p = stream.probes["rtr-1-1"]
        await reports.until(
            lambda: any(e[0] is p for e in fam.pending.values()), 40, "rtr-1-1's echo sent"
        )
        seq, entry = next((s, e) for s, e in fam.pending.items() if e[0] is p)
        serial, sent_wall = entry[3], entry[4]
        good = struct.pack("!Q", serial) + bytes(48)
        bad = struct.pack("!Q", serial ^ 1) + bytes(48)
        forger = socket.socket(socket.AF_INET, socket.SOCK_RAW, socket.IPPROTO_RAW)
        try:
            for packet in (
                forge_reply("127.0.0.3", "127.0.0.1", fam.ident, seq, good),  # wrong host
                forge_reply("127.0.0.2", "127.0.0.1", fam.ident, seq, bad),  # wrong serial
                forge_reply("127.0.0.2", "127.0.0.1", fam.ident ^ 0xFFFF, seq, good),  # not ours
            ):
                forger.sendto(packet, ("127.0.0.1", 0))
            await reports.until(lambda: fam.unmatched >= 2, 2, "two forgeries refused")
            await asyncio.sleep(0.1)
            before = (p.ok_sent, seq in fam.pending, fam.unmatched)
            right = forge_reply("127.0.0.2", "127.0.0.1", fam.ident, seq, good)
            forger.sendto(right, ("127.0.0.1", 0))
            forger.sendto(right, ("127.0.0.1", 0))  # a duplicate
            await reports.until(lambda: fam.unmatched >= 3, 2, "the duplicate refused")
            return (
                before,
                (p.ok_sent, seq in fam.pending, fam.unmatched),
                sent_wall,
                batched(stream),
            )
        finally:
            forger.close()

    before, after, sent_wall, was_batched = run_in(ns, body)
    assert was_batched
    assert before == (0.0, True, 2)  # wrong host, wrong serial; another identifier is not ours
    assert after == (sent_wall, False, 3)  # answered, once; the duplicate unmatched


@pytest.mark.parametrize("batching", [True, False], ids=["sendmmsg", "sendto"])
def test_a_full_send_queue_retries_the_rest_of_the_wake_up(
    netlab: Netlab, monkeypatch, batching: bool
):
    # A slow link (tbf, ~200 packets a second) and a small send buffer (~10 echoes): a wake-up
    # with every device's echo finds the queue full (EAGAIN) part-way through a sendmmsg, or
    # at one sendto of many on the one-at-a-time path (datagram sockets, IPv6).
    monkeypatch.setattr(sockets, "SNDBUF_BYTES", 4096)
    core, village = netlab.add("ebq"), netlab.add("ebqv")
    link = netlab.link(core, "127.130.0.1", village, "127.130.0.2")
    core.run("tc", "qdisc", "add", "dev", link.dev_a, "root", "tbf", "rate", "160kbit",
             "burst", "1600", "latency", "5s")  # fmt: skip
    netlab.route(core, "127.131.0.0/24", via="127.130.0.2")
    local_range(village, "127.131.0.0/24")
    inv = regency.build(districts=1, villages=25, aps=1, ping=SLOW,
                        address_of=lambda n: f"127.131.0.{n}")  # fmt: skip

    async def body(stream: EchoStream, reports: Reports):
        stream.batching = batching
        stream.follow(inv, reports)
        await reports.until(lambda: reports.up(stream), 15, "every device up")
        t0 = time.monotonic()
        ended = await stall(2.2)  # every device's steady echo falls due meanwhile
        # Each is sent within a second of the stall, not skipped to its next steady time (2 s).
        await reports.until(
            lambda: all(p.last_sent >= ended for p in stream.probes.values()),
            1.0,
            "every device's echo sent after the stall",
        )
        await asyncio.sleep(1.5)
        bad = [o for t, o in reports.got if t >= t0 and o.event in ("lost", "down", "losing")]
        return stream.send_retries, bad, reports.up(stream), batched(stream)

    retries, bad, up, was_batched = run_in(core, body)
    assert was_batched == batching
    assert retries > 0  # the premise: the queue was full
    assert bad == [] and up


def test_an_unroutable_device_mid_batch_fails_alone(netlab: Netlab):
    # In a namespace with only lo, 10.9.9.9 has no route: its send fails with ENETUNREACH in
    # the middle of the wake-up's batch; the packet never leaves the namespace.
    ns = netlab.add("ebunreach")
    local_range(ns, "127.141.0.0/24")
    inv = regency.build(
        districts=1, villages=8, aps=1, ping=SLOW,
        address_of=lambda n: "10.9.9.9" if n == 8 else f"127.141.0.{n}",
    )  # fmt: skip
    lost = next(n for n, d in inv.devices.items() if d.address == "10.9.9.9")

    async def body(stream: EchoStream, reports: Reports):
        stream.follow(inv, reports)
        others = [p for n, p in stream.probes.items() if n != lost]
        await reports.until(
            lambda: all(p.up for p in others) and stream.probes[lost].up is False,
            15,
            "verdicts",
        )
        t0 = time.monotonic()
        ended = await stall(2.2)
        # Every other device's echo of that wake-up went, and was answered.
        await reports.until(
            lambda: all(p.ok_sent >= ended for p in others), 1.0, "the others answered"
        )
        await asyncio.sleep(1.0)
        bad = [
            o
            for t, o in reports.got
            if t >= t0 and o.device != lost and o.event in ("lost", "down", "losing")
        ]
        reference = await stream.pinger.ping("10.9.9.9", count=1)
        return stream.probes[lost].reason, reference.error, bad, batched(stream)

    reason, reference, bad, was_batched = run_in(ns, body)
    assert was_batched
    assert reference and "Network is unreachable" in reference
    assert reason == reference  # the same error text as the Pinger's own send
    assert bad == []


def test_a_wake_ups_replies_fit_a_256_kib_receive_buffer(netlab: Netlab, monkeypatch):
    # 2,000 echoes due in one wake-up (a stalled loop) queue ~2,000 replies; the buffer holds a
    # few hundred. Read only after the whole batch (the premise), many are dropped; read
    # between chunks of batch.CHUNK echoes, none.
    monkeypatch.setattr(sockets, "RCVBUF_BYTES", 256 << 10)
    ns = netlab.add("ebrcv")
    local_range(ns, "127.77.0.0/16")
    inv = regency.build(districts=4, villages=250, aps=1, ping=SLOW)  # 2,004 devices

    def lost_after_stall(chunk: int) -> tuple[int, int, bool]:
        monkeypatch.setattr(batch, "CHUNK", chunk)

        async def body(stream: EchoStream, reports: Reports):
            stream.follow(inv, reports)
            await reports.until(lambda: reports.up(stream), 30, "every device up")
            t0 = time.monotonic()
            await stall(2.2)
            await asyncio.sleep(SLOW.timeout + 0.5)
            lost = sum(1 for t, o in reports.got if t >= t0 and o.event == "lost")
            return lost, len(stream.probes), batched(stream)

        return run_in(ns, body)

    unread, devices, was_batched = lost_after_stall(10**5)
    assert was_batched and devices == 2004
    assert unread > 200  # the premise: one batch's replies overflow the buffer
    lost, _, _ = lost_after_stall(256)
    assert lost == 0
