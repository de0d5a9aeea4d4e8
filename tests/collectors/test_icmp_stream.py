"""The echo stream against real packets: a far namespace holds the devices' addresses.

    core ──veth── far (pop, routers, APs as addresses on lo; nftables drops and counts)

The stream runs in `core`. What the far side received is read from nftables counters (the
kernel's, not ours); faults are nftables drops of one address or a share of packets.
"""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Callable
from dataclasses import replace

import pytest

from netwatch.collectors.icmp import Pinger
from netwatch.collectors.icmp.observation import PingObservation
from netwatch.collectors.icmp.probe_state import phase
from netwatch.collectors.icmp.stream import EchoStream
from netwatch.core.model import Inventory, PingSettings
from tests.helpers import regency
from tests.helpers.netns import Namespace, Netlab, requires_root

pytestmark = [pytest.mark.root, requires_root]

# An echo every 0.2 s per device, bursts 50 ms apart, 0.2 s timeout, down after 8 in a row.
FAST = PingSettings(interval=1.0, count=5, spacing=0.05, timeout=0.2, down_echoes=8)
NAMES = ["pop-1", "rtr-1-1", "ap-1-1-1", "rtr-1-2", "ap-1-2-1"]


def address(n: int) -> str:
    return f"127.111.0.{n + 1}"


ADDR = {name: address(i + 1) for i, name in enumerate(NAMES)}

NFT = """table inet nwstream {
 set down { type ipv4_addr; }
 chain inp {
  type filter hook input priority 0;
  icmp type echo-request ip daddr @down drop
 }
}
"""


class Far:
    """The far namespace: the devices' addresses, drops and per-address request counters."""

    def __init__(self, lab: Netlab) -> None:
        self.core = lab.add("core")
        self.ns = lab.add("far")
        lab.link(self.core, "127.110.0.1", self.ns, "127.110.0.2")
        self.core.run("ip", "route", "add", "127.111.0.0/24", "via", "127.110.0.2")
        for a in ADDR.values():
            self.ns.run("ip", "addr", "add", f"{a}/32", "dev", "lo", "scope", "global")
        self.ns.nft(NFT)
        # Counters come first in their own chain: every echo request that reaches `far`.
        rules = "".join(f"  icmp type echo-request ip daddr {a} counter\n" for a in ADDR.values())
        self.ns.nft(
            "table inet nwcount {\n chain inp {\n  type filter hook input priority -10;\n"
            f"{rules} }}\n}}\n"
        )

    def down(self, name: str, down: bool = True) -> None:
        verb = "add" if down else "delete"
        self.ns.run("nft", verb, "element", "inet", "nwstream", "down", f"{{ {ADDR[name]} }}")

    def requests(self) -> dict[str, int]:
        """Echo requests that reached each device's address so far (nftables counters)."""
        out = json.loads(self.ns.run("nft", "-j", "list", "table", "inet", "nwcount").stdout)
        by_addr: dict[str, int] = {}
        for item in out["nftables"]:
            rule = item.get("rule")
            if not rule:
                continue
            addr = counter = None
            for expr in rule["expr"]:
                match = expr.get("match")
                if match and match["left"].get("payload", {}).get("field") == "daddr":
                    addr = match["right"]
                if "counter" in expr:
                    counter = expr["counter"]["packets"]
            if addr is not None and counter is not None:
                by_addr[addr] = counter
        return {name: by_addr[a] for name, a in ADDR.items()}


def inventory(ping: PingSettings = FAST, **devices: str) -> Inventory:
    """pop-1 ← rtr-1-V ← ap-1-V-1 (two villages) at ADDR, devices= overriding addresses."""
    addrs = dict(ADDR, **{k.replace("_", "-"): v for k, v in devices.items()})
    return regency.build(
        districts=1, villages=2, aps=1, ping=ping, address_of=lambda n: addrs[NAMES[n - 1]]
    )


class Reports:
    """The stream's sink: every observation, and waits on them (bounded)."""

    def __init__(self) -> None:
        self.got: list[tuple[float, PingObservation]] = []

    def __call__(self, obs: object) -> None:
        assert isinstance(obs, PingObservation)
        self.got.append((time.monotonic(), obs))

    def of(self, device: str, event: str | None = None, since: float = 0.0) -> list:
        return [
            (t, o)
            for t, o in self.got
            if o.device == device and (event is None or o.event == event) and t >= since
        ]

    async def until(self, check: Callable[[], object], timeout: float, what: str) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if check():
                return
            await asyncio.sleep(0.01)
        raise AssertionError(f"timed out after {timeout}s waiting for {what}")

    def up(self, stream: EchoStream) -> bool:
        return all(p.up for p in stream.probes.values())


def run_in(ns: Namespace, body: Callable[[EchoStream, Reports], object], **pinger_kw):
    """body(stream, reports) as a coroutine in an event loop inside ns."""

    async def main() -> object:
        pinger = Pinger.open(**pinger_kw)
        reports = Reports()
        stream = EchoStream(pinger, reports)
        try:
            return await body(stream, reports)  # type: ignore[misc]
        finally:
            stream.stop()
            pinger.close()

    return ns.call(asyncio.run, main())


def test_a_silent_device_is_down_after_down_echoes_in_a_row(netlab):
    far = Far(netlab)

    async def body(stream: EchoStream, reports: Reports):
        stream.follow(inventory(), reports)
        await reports.until(lambda: reports.up(stream), 5, "every device up")
        before = far.requests()
        t_fault = time.time()
        far.down("ap-1-1-1")
        await reports.until(lambda: reports.of("ap-1-1-1", "down"), 10, "the down verdict")
        after = far.requests()
        ((_t, down),) = reports.of("ap-1-1-1", "down")
        lost = reports.of("ap-1-1-1", "lost")
        answered_parent = reports.of("rtr-1-1", "answered")
        return t_fault, before, after, down, lost, answered_parent, stream.probes

    t_fault, before, after, down, lost, parent, probes = run_in(far.core, body)
    s = FAST
    # The run began with the first echo sent after the fault, at most one period later.
    assert t_fault <= down.fail_since <= t_fault + s.interval / s.count + 0.1
    assert down.up is False and down.reason == "no reply" and down.failing
    # The verdict: the first loss is known after a timeout, then a burst `spacing` apart
    # until down_echoes are lost: never sooner than that. Steady echoes sent while the first
    # one's reply was awaited are of the run too (here the steady period is the timeout: one).
    steady_in_wait = int(s.timeout // (s.interval / s.count))
    least = s.timeout + (s.down_echoes - 2 - steady_in_wait) * s.spacing + s.timeout
    took = down.time + down.duration - down.fail_since  # the verdict ends the round it carries
    assert least <= took < least + 1.0, (took, least)
    # What the AP's address received meanwhile (the kernel's count): the run, and at most
    # the next steady echo.
    sent = after["ap-1-1-1"] - before["ap-1-1-1"]
    assert s.down_echoes <= sent <= s.down_echoes + 1, sent
    assert lost  # the stream said at once that the AP began to lose echoes
    # Its router was asked during the run and answered for an echo sent after it began.
    assert any(o.seen_at >= down.fail_since for _, o in parent)
    assert probes["rtr-1-1"].up and probes["pop-1"].up


def test_burst_stops_at_the_first_reply(netlab):
    """At 50 % inbound loss a lost echo costs one burst echo on average, not down_echoes."""
    far = Far(netlab)
    lossy = ("ap-1-1-1", "ap-1-2-1")  # leaves: no child's parent checks add to their echoes
    rules = "".join(
        f"  icmp type echo-request ip daddr {ADDR[n]} numgen random mod 100 < 50 drop\n"
        for n in lossy
    )
    far.ns.nft(
        "table inet nwloss {\n chain inp {\n  type filter hook input priority 0;\n"
        f"{rules} }}\n}}\n"
    )
    # A steady echo every 0.25 s; a burst (0.1 s timeout, 50 ms apart) rarely outlasts that.
    ping = PingSettings(interval=1.25, count=5, spacing=0.05, timeout=0.1)
    seconds = 24.0

    async def body(stream: EchoStream, reports: Reports):
        stream.follow(inventory(ping), reports)
        await reports.until(lambda: reports.up(stream), 5, "every device up")
        before = far.requests()
        await asyncio.sleep(seconds)
        after = far.requests()
        return before, after, [o for _, o in reports.got if o.event == "down"]

    before, after, downs = run_in(far.core, body)
    slots = len(lossy) * seconds / (ping.interval / ping.count)
    per_slot = sum(after[n] - before[n] for n in lossy) / slots
    # A lost steady echo (q = 0.5) is followed by burst echoes until one is answered: 1/(1-q)
    # = 2 on average, so 1 + q·2 = 2 echoes per steady one. Bursts that ran on to
    # down_echoes would give ~9 a slot; no bursts, 1.
    assert 1.6 <= per_slot <= 2.4, per_slot
    assert downs == []  # 17 in a row at q = 0.5: 0.5**16 per run, none expected


def test_back_up_after_up_echoes_and_children_asked_at_once(netlab):
    """A device that answers again is up after up_echoes replies; when a parent comes back,
    the devices behind it get an echo at once instead of at their next steady one."""
    far = Far(netlab)
    inv = inventory(replace(FAST, interval=10.0))  # the POP: a steady echo every 2 s
    # Everything behind it: one every 12 s, so only the POP's return can bring them back soon.
    devices = {
        n: d if n == "pop-1" else replace(d, ping_interval=60.0) for n, d in inv.devices.items()
    }
    inv = replace(inv, devices=devices)

    async def body(stream: EchoStream, reports: Reports):
        stream.follow(inv, reports)
        await reports.until(lambda: reports.up(stream), 15, "every device up")
        for name in NAMES:
            far.down(name)
        await reports.until(
            lambda: all(p.up is False for p in stream.probes.values()), 20, "all down"
        )
        t_back = time.monotonic()
        for name in NAMES:
            far.down(name, False)
        await reports.until(lambda: reports.up(stream), 15, "all up again")
        return {n: reports.of(n, "up", t_back)[0][0] - t_back for n in NAMES}

    ups = run_in(far.core, body)
    s = FAST
    # The POP: its next steady echo (within 2 s), answered, then up_echoes - 1 more replies
    # a burst `spacing` apart.
    assert ups["pop-1"] <= 2.0 + (s.up_echoes - 1) * s.spacing + 0.5, ups
    # The rest were asked the moment the POP was up: none waited for its own 12 s echo.
    assert all(ups[n] - ups["pop-1"] < 0.5 for n in NAMES if n != "pop-1"), ups


def test_a_stalled_loop_is_not_a_lost_echo(netlab):
    """Issue 14, defect 13, for the stream: replies that came while the loop was blocked are
    taken with their kernel time before anything is declared lost."""
    far = Far(netlab)

    async def body(stream: EchoStream, reports: Reports):
        stream.follow(inventory(), reports)
        await reports.until(lambda: reports.up(stream), 5, "every device up")
        await asyncio.sleep(0.5)
        t0 = time.monotonic()
        for _ in range(3):  # three stalls of 5 timeouts each, echoes in flight every time
            asyncio.get_running_loop().call_soon(time.sleep, 5 * FAST.timeout)
            await asyncio.sleep(0.3)
        await asyncio.sleep(1.0)
        bad = [o for t, o in reports.got if t >= t0 and o.event in ("lost", "down", "losing")]
        rounds = [o for t, o in reports.got if t >= t0 and o.result is not None]
        return bad, rounds

    bad, rounds = run_in(far.core, body)
    assert bad == []
    assert rounds and all(o.result.received == o.result.sent for o in rounds)
    assert max(max(o.result.rtts) for o in rounds if o.result.rtts) < 0.05


def test_names_resolve_through_the_injected_resolver(netlab):
    far = Far(netlab)
    asked: list[str] = []

    async def resolver(name: str) -> list[str]:
        asked.append(name)
        if name == "gw.desa.example":
            return [ADDR["rtr-1-1"]]
        raise OSError(f"no such name: {name}")

    async def body(stream: EchoStream, reports: Reports):
        inv = inventory(rtr_1_1="gw.desa.example", rtr_1_2="nowhere.example")
        stream.follow(inv, reports)
        await reports.until(
            lambda: stream.probes["rtr-1-1"].up and stream.probes["rtr-1-2"].up is False,
            10,
            "verdicts on both names",
        )
        return reports.of("rtr-1-2", "down")[0][1]

    down = run_in(far.core, body, resolver=resolver)
    assert down.reason.startswith("unresolvable: nowhere.example: ")
    assert set(asked) >= {"gw.desa.example", "nowhere.example"}


def test_follow_again_drops_removed_devices_and_keeps_the_rest(netlab):
    far = Far(netlab)

    async def body(stream: EchoStream, reports: Reports):
        inv = inventory()
        stream.follow(inv, reports)
        await reports.until(lambda: reports.up(stream), 5, "every device up")
        kept = stream.probes["pop-1"]
        devices = {n: d for n, d in inv.devices.items() if n != "ap-1-2-1"}
        stream.follow(replace(inv, devices=devices), reports)
        t = time.monotonic()
        await asyncio.sleep(1.0)
        return kept is stream.probes["pop-1"], reports.of("ap-1-2-1", since=t), set(stream.probes)

    same, removed_reports, names = run_in(far.core, body)
    assert same and removed_reports == []
    assert names == set(NAMES) - {"ap-1-2-1"}


def test_a_parents_return_excuses_the_losses_of_its_outage(netlab):
    """Router and AP silent together, the router back just after its down verdict: the AP's
    echoes of the outage, still in flight, give it no late "down"; if it stays silent, it is
    down on echoes sent after the router answered again."""
    far = Far(netlab)
    ping = PingSettings(interval=3.0, count=5, spacing=0.05, timeout=0.5, down_echoes=8)
    period = ping.interval / ping.count
    rtr, ap = "rtr-1-1", "ap-1-1-1"
    lag = (phase(ap, period) - phase(rtr, period)) % period  # the AP's steady echo comes later
    assert 0.15 < lag < ping.timeout - 0.15 and period - lag > 0.2, lag

    async def outage(stream: EchoStream, reports: Reports, ap_back: bool) -> tuple:
        await reports.until(lambda: reports.up(stream), 10, "every device up")
        p = stream.probes[ap]
        assert p.due is not None
        # Silent from between the AP's steady echo and the router's next: the router's is lost
        # first, the AP's `lag` later, so the AP's verdict is due `lag` after the router's.
        at = p.due + (period - lag) / 2
        silent = asyncio.get_running_loop().call_at(at, lambda: [far.down(rtr), far.down(ap)])
        t0 = time.monotonic()
        await reports.until(lambda: reports.of(rtr, "down", t0), 10, "the router's verdict")
        silent.cancel()
        # The AP lost echoes and has every echo that decides its verdict in flight.
        assert p.up and p.run and p.run + p.inflight >= ping.down_echoes, (p.run, p.inflight)
        far.down(rtr, False)
        if ap_back:
            far.down(ap, False)
        t_back, wall_back = time.monotonic(), time.time()
        stream.request(rtr)  # its answer is seen at once
        await reports.until(lambda: reports.of(rtr, "up", t_back), 5, "the router back")
        if ap_back:  # past the deadline of every echo of the outage, and a burst more
            await asyncio.sleep(2 * ping.timeout + ping.down_echoes * (ping.spacing + 0.02))
        else:
            await reports.until(lambda: reports.of(ap, "down", t_back), 5, "the AP's own verdict")
        return reports.of(ap, "down", t_back), reports.of(ap, "answered", t_back), wall_back

    async def body(stream: EchoStream, reports: Reports) -> tuple:
        stream.follow(inventory(ping), reports)
        back = await outage(stream, reports, ap_back=True)
        dark = await outage(stream, reports, ap_back=False)
        return back, dark

    (downs, answered, _), (dark_downs, _, wall_back) = run_in(far.core, body)
    assert downs == [] and answered  # its next echo after the router's was answered, reported
    ((_t, down),) = dark_downs
    assert down.fail_since > wall_back  # its own outage, from echoes sent after the return


def test_a_reload_that_changes_the_timer_slot_keeps_every_schedule(netlab):
    """New settings with a longer burst spacing give coarser timer slots (wheel.slot_for): the
    echoes and rounds already scheduled move to the new slots and every device goes on."""
    far = Far(netlab)
    coarse = replace(FAST, spacing=0.2)  # slot 12.5 ms -> 50 ms

    async def body(stream: EchoStream, reports: Reports):
        inv = inventory()
        stream.follow(inv, reports)
        await reports.until(lambda: reports.up(stream), 5, "every device up")
        kept = dict(stream.probes)
        stream.follow(replace(inv, settings=replace(inv.settings, ping=coarse)), reports)
        before, t = far.requests(), time.monotonic()
        await asyncio.sleep(2.0)
        after = far.requests()
        rounds = {n: len(reports.of(n, "round", t)) for n in NAMES}
        bad = [o for _, o in reports.got if o.event in ("lost", "losing", "down")]
        same = all(stream.probes[n] is p for n, p in kept.items())
        return same, {n: after[n] - before[n] for n in NAMES}, rounds, bad

    same, sent, rounds, bad = run_in(far.core, body)
    assert same and bad == []
    # A steady echo every 0.2 s for 2 s: 10 each, give or take the slots at either end.
    assert all(8 <= k <= 12 for k in sent.values()), sent
    assert all(r >= 1 for r in rounds.values()), rounds  # a round a second goes on too


# A steady echo every 1.2 s per device, bursts 0.1 s apart, a 0.5 s timeout. By hand
# (wheel.py): the slot is a quarter of the 0.1 s spacing, doubled while few echoes fall in one,
# up to the spacing: 0.1 s. An echo sent just after a slot boundary times out 0.5 s later, in
# the slot that ends 0.6 s after the boundary; the steady slot is the widest multiple of 0.1 s
# that divides 0.6 s and is at most a quarter of the 1.2 s period: 0.3 s.
WIDE = PingSettings(interval=2.4, count=2, spacing=0.1, timeout=0.5, down_echoes=8)


def test_steady_echoes_in_wide_slots_wake_the_stream_only_at_their_ends(netlab):
    """Steady echoes and round ends go in 0.3 s slots (wheel.steady_slot): every wake-up of a
    steady stream is at the end of one (their deadlines land on a later one, no wake-up of
    their own), each device still gets one echo a period, and a loss is still known within a
    0.1 s slot of its timeout."""
    far = Far(netlab)

    async def body(stream: EchoStream, reports: Reports):
        planned: list[float] = []
        tick = stream._tick

        def counted() -> None:
            planned.append(stream._wake_at)  # the slot end the timer was armed for
            tick()

        stream._tick = counted  # type: ignore[method-assign]
        stream.follow(inventory(WIDE), reports)
        await reports.until(lambda: reports.up(stream), 5, "every device up")
        await asyncio.sleep(1.3)  # past the bursts that decided the verdicts up
        slots = (stream._sends.slot, stream._steady.slot, stream._rounds.slot)
        before, k = far.requests(), len(planned)
        await asyncio.sleep(3.6)  # three periods
        after, wakes = far.requests(), planned[k:]
        far.down("ap-1-2-1")
        await reports.until(lambda: reports.of("ap-1-2-1", "lost"), 5, "the AP's first loss")
        lost = reports.of("ap-1-2-1", "lost")[0][1]
        bad = [o for _, o in reports.got if o.event in ("lost", "losing", "down")]
        return slots, {n: after[n] - before[n] for n in NAMES}, wakes, lost, bad

    slots, sent, wakes, lost, bad = run_in(far.core, body)
    assert slots == (0.1, 0.3, 0.3)
    assert {o.device for o in bad} == {"ap-1-2-1"}  # nothing lost before the AP went dark
    # Three periods: three echoes each (nftables counted them in the far namespace), give or
    # take one where a send falls at either end (reading the counters holds the loop).
    assert all(2 <= k <= 4 for k in sent.values()) and 13 <= sum(sent.values()) <= 17, sent
    # Every wake-up at the end of a 0.3 s slot; 3.6 s hold at most 12 of them (+1 at an end).
    assert wakes and all(abs(w / 0.3 - round(w / 0.3)) < 1e-6 for w in wakes), wakes
    assert len(wakes) <= 13, len(wakes)
    # The loss is reported after the 0.5 s timeout, within a 0.1 s slot (+ loop lateness).
    assert lost.fail_since is not None
    assert 0.5 - 0.01 <= lost.time - lost.fail_since < 0.5 + 0.1 + 0.05
