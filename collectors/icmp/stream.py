"""The echo stream: a steady echo to every device and a sequential test on the outcomes.

Every device gets one echo every `ping.interval / ping.count` seconds (6 s at the defaults:
the same 10 echoes a minute as the old rounds). A lost echo starts a burst, one echo every
`ping.spacing`, that stops at the first reply; `ping.down_echoes` echoes lost in a row are
the verdict *down*. A down device keeps its steady echo; a reply starts a burst again and
`ping.up_echoes` replies are the verdict *up*. Every `ping.interval` (and at each verdict)
the echoes whose outcome came in since the last report are one round (rtt, jitter, loss).
When a device loses its third echo in a row its parents get an echo at once, so their
verdict is known by the time the child's is (docs/alert_engine.md: the false-alarm budget).

One timer serves every device: wheels of due sends and round ends in slots (50 ms at the
defaults; steady echoes and round ends in wider ones at small inventories), and a FIFO of
deadlines batched per slot (every echo has the same timeout; see wheel.py). An echo costs
two list appends, a send and a dict entry: no task, Future or heap operation per device or
echo, and one wake-up serves every echo due in its slot (issue 10).
On a raw IPv4 socket a wake-up's echoes go out with sendmmsg, 8 a call (batch.py), and the
replies come in with recvmmsg (reader.py); datagram sockets and IPv6 send one at a time.
Over 400 lines (some 575): timing, echo outcomes and verdicts are one state machine over the
same Probe fields, and what became of a batch's sends is that machine's input; split apart,
each half would reach into the other's.
"""

from __future__ import annotations

import asyncio
import logging
import math
import socket
import time
from collections import deque
from collections.abc import Callable, Sequence
from heapq import heappush
from itertools import chain

from netwatch.collectors.icmp import observation as ev
from netwatch.collectors.icmp.batch import Batcher, Due
from netwatch.collectors.icmp.engine import FILTERED, Pinger
from netwatch.collectors.icmp.observation import PingObservation
from netwatch.collectors.icmp.probe_state import Probe, parents, phase
from netwatch.collectors.icmp.rounds import retry_delay, transient
from netwatch.collectors.icmp.wheel import Expiry, Wheel, slot_for, steady_slot
from netwatch.collectors.icmp_wire.sockets import EchoSocket
from netwatch.core.model import Inventory, PingSettings

log = logging.getLogger(__name__)

Sink = Callable[[PingObservation], None]
PARENT_CHECK_RUN = 3  # a child's losses in a row before its parents get an echo at once


class EchoStream:
    """Probes the devices of an inventory continuously and reports to sink."""

    def __init__(self, pinger: Pinger, sink: Sink) -> None:
        self.pinger = pinger
        self.sink = sink
        self.probes: dict[str, Probe] = {}
        self.settings = PingSettings()
        # Probes by due time, each in p.sched's list: bursts and retries in _sends, steady
        # echoes in _steady's wider slots (wheel.steady_slot), as are round ends.
        self._sends: Wheel[Probe] = Wheel()
        self._steady: Wheel[Probe] = Wheel()
        self._rounds: Wheel[tuple[float, Probe]] = Wheel()  # (round end, probe)
        self._deadlines: deque[Expiry] = deque()  # in deadline order
        self._loop: asyncio.AbstractEventLoop | None = None
        self._timer: asyncio.TimerHandle | None = None
        self._wake_at = math.inf
        self._ticking = False  # in _tick, which arms the timer when it is done
        self._resolving: asyncio.Task[None] | None = None
        self._names_due = False
        self.closed = False
        self.sink_errors = 0
        self.batching = True  # due echoes on a raw IPv4 socket go out with sendmmsg (batch.py)
        self._batcher: Batcher | None = None
        self.send_retries = 0  # echoes sent again after a full send queue or sequence space
        # How late each wake-up ran (the loop was busy): the scheduler's lag, for the stream.
        # Imported here: `netwatch ping` imports this module and must not load the registry.
        from netwatch.core import telemetry

        self._lag = telemetry.SCHEDULER_LAG.labels("ping")  # the collector's name, as its jobs

    # -- the inventory ---------------------------------------------------------------------

    def follow(self, inventory: Inventory, sink: Sink | None = None) -> None:
        """Probe inventory's pinged devices; devices that stay keep their verdict and phase."""
        loop = asyncio.get_running_loop()
        if self._loop is not loop:
            self._loop = loop
            self.pinger.attach(loop)
        if sink is not None:
            self.sink = sink
        self.closed = False
        s = self.settings = inventory.settings.ping
        wanted = {n: d for n, d in inventory.devices.items() if d.ping}
        periods = [(d.ping_interval or s.interval) / s.count for d in wanted.values()]
        slot = slot_for(s.spacing, s.timeout, periods)
        self._set_slots(slot, steady_slot(slot, s.timeout, periods))
        for name in list(self.probes):
            if name not in wanted:
                gone = self.probes.pop(name)
                gone.alive, gone.sched = False, None
        now = loop.time()
        names = []
        shared: dict[float, float] = {}  # one float object per distinct period and window
        for name, device in wanted.items():
            period = (device.ping_interval or s.interval) / s.count
            period = shared.setdefault(period, period)
            window = device.ping_interval or s.interval
            window = shared.setdefault(window, window)
            p = self.probes.get(name)
            if p is None or p.address != device.address:
                if p is not None:
                    p.alive, p.sched = False, None
                p = self.probes[name] = Probe(self, name, device.address, s.timeout)
                p.steady_at = now + phase(name, period)
                p.w_start = time.time()
                if not self.pinger.bind_literal(p):
                    p.named = True
                    names.append(p)
            p.period, p.window, p.timeout = period, window, s.timeout
            p.parents = ()
            p.children = ()
        for name in wanted:
            self.probes[name].parents = tuple(parents(name, inventory, self.probes))
        for p in self.probes.values():
            for parent in p.parents:
                parent.children += (p,)
        for p in self.probes.values():
            if p.report_at is None:
                self._report_at(p, now + p.window)
            if p.due is None:
                self._schedule(p, max(p.steady_at, now), steady=True)
        if names:
            self._resolve(names)

    def request(self, name: str, reason: str = "") -> bool:
        """An echo to device name now (unless one is on its way); its outcome is reported."""
        p = self.probes.get(name)
        if p is None or self.closed:
            return False
        self._check(p, time.time())
        return True

    def stop(self) -> None:
        """Stop sending; echoes in flight are forgotten (reload or shutdown)."""
        self.closed = True
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
        self._wake_at = math.inf
        self._sends.clear()
        self._steady.clear()
        self._rounds.clear()
        self._deadlines.clear()
        for p in self.probes.values():
            p.due = p.report_at = p.sched = None
            p.inflight = 0
            p.burst = False
        if self._resolving is not None:
            self._resolving.cancel()
            self._resolving = None

    # -- timing ----------------------------------------------------------------------------

    def _schedule(self, p: Probe, due: float, steady: bool = False) -> None:
        # A probe waits in one slot's list (p.sched): an entry in any other list is stale,
        # and one already in the right list is not added again.
        p.due = due
        wheel = self._steady if steady else self._sends
        items, opened = wheel.place(due)
        if p.sched is not items:
            items.append(p)
            p.sched = items
        if opened:
            self._arm(wheel.end_of(due))

    def _report_at(self, p: Probe, at: float) -> None:
        p.report_at = at
        if self._rounds.add(at, (at, p)):
            self._arm(self._rounds.end_of(at))

    def _set_slots(self, slot: float, steady: float) -> None:
        """Time slots of slot seconds from now on, steady ones of steady seconds (a multiple):
        what is scheduled keeps its time."""
        if slot == self._sends.slot and steady == self._steady.slot:
            return
        self._sends, self._steady, self._rounds = Wheel(slot), Wheel(steady), Wheel(steady)
        for p in self.probes.values():
            p.sched = None
            if p.due is not None:
                wheel = self._steady if not p.burst and p.due == p.steady_at else self._sends
                items, _ = wheel.place(p.due)
                items.append(p)
                p.sched = items
            if p.report_at is not None:
                self._rounds.add(p.report_at, (p.report_at, p))
        if self._timer is not None:  # armed for a slot end of the old size
            self._timer.cancel()
            self._timer = None
        self._wake_at = math.inf
        self._arm(self._next_wake())

    def _next_wake(self) -> float:
        """The end of the slot where something is due next: a send, a deadline or a round
        end (inf: nothing)."""
        deadlines = self._deadlines
        return min(
            self._sends.next_at(),
            self._steady.next_at(),
            deadlines[0].slot if deadlines else math.inf,
            self._rounds.next_at(),
        )

    def _arm(self, at: float) -> None:
        # at: a slot's end (what falls due in one slot goes in one wake, never early). Not
        # rounded up again here: ceil(k * slot / slot) is k + 1 for ~7 % of slot numbers k.
        if at == math.inf:
            return
        if self.closed or self._loop is None or at >= self._wake_at or self._ticking:
            return  # (a tick arms the timer for what is due next when it ends)
        if self._timer is not None:
            self._timer.cancel()
        self._wake_at = at
        self._timer = self._loop.call_at(at, self._tick)

    def _tick(self) -> None:
        self._timer = None
        planned, self._wake_at = self._wake_at, math.inf
        if self.closed or self._loop is None:
            return
        now = self._loop.time()
        self._lag.observe(max(0.0, now - planned))
        deadlines = self._deadlines
        self._ticking = True
        try:
            if deadlines and deadlines[0].at <= now:
                # Replies already in the kernel count before anything is declared lost.
                self.pinger.drain()
                self._expire(now)
            self._close_rounds(now)
            self._send_due(now)
        finally:
            self._ticking = False
            self._arm(self._next_wake())

    def _expire(self, now: float) -> None:
        deadlines = self._deadlines
        while deadlines and deadlines[0].at <= now:
            batch = deadlines.popleft()
            pending, first, last = batch.sock.pending, batch.first, batch.last
            # Usually every echo of the batch was answered: one look-up in C says so.
            seqs = batch.seqs if not pending.keys().isdisjoint(batch.seqs) else ()
            for seq in seqs:
                entry = pending.get(seq)
                if entry is None or not first <= entry[5] <= last:
                    continue  # answered, given up by the socket (drop() told the probe), reused
                del pending[seq]
                entry[0].drop(entry[1], entry[4])
            for p, sent in batch.lost:
                if p.alive:
                    self.drop(p, sent)

    def _expect(self, p: Probe, sock: EchoSocket, sent: float) -> Expiry:
        """The deadline batch of an echo sent at loop time sent: the tail's if in its slot."""
        at = sent + p.timeout
        slot = self._sends.end_of(at)
        deadlines = self._deadlines
        batch = deadlines[-1] if deadlines else None
        if batch is None or batch.slot != slot or batch.sock is not sock:
            batch = Expiry(slot, sock, sent)
            deadlines.append(batch)
            if len(deadlines) == 1:
                self._arm(slot)
        batch.last = sent
        if at > batch.at:
            batch.at = at
        return batch

    def _close_rounds(self, now: float) -> None:
        for entries in self._rounds.due(now):
            for at, p in entries:
                if not p.alive or at != p.report_at:
                    continue
                self._emit(p, ev.ROUND, with_round=True)
                self._report_at(p, at + p.window)
                if p.named:
                    self._names_due = True
        if self._names_due and self._resolving is None:
            self._names_due = False
            self._resolve([p for p in self.probes.values() if p.named])

    def _send_due(self, now: float) -> None:
        send, after = self._send, self._next
        batcher = self._batcher_for()
        batched_sock = batcher.fam if batcher is not None else None
        probes: list[Probe] = []  # batched: the probes, and when each one's echo was due
        dues: list[float] = []
        for entries in chain(self._steady.due(now), self._sends.due(now)):
            for p in entries:
                if p.sched is not entries:
                    continue  # rescheduled since, removed, or met already in this list
                p.sched = None
                if p.lane is batched_sock and batched_sock is not None:
                    probes.append(p)
                    dues.append(p.due)  # type: ignore[arg-type]  # (due was set)
                    p.due = None
                else:
                    due, p.due = p.due, None
                    sent = send(p)
                    if p.due is None:  # (else a full queue scheduled a retry: it waits)
                        after(p, sent, due)
        if probes and batcher is not None:
            batcher.send(self, probes, dues, self.settings.size)

    def _batcher_for(self) -> Batcher | None:
        """The batched sender of the raw IPv4 socket, if batching fits it (see batch.py)."""
        fam = self.pinger.family(socket.AF_INET)
        if fam is None or not self.batching or not Batcher.fits(fam, self.settings.size):
            return None
        if self._batcher is None or self._batcher.fam is not fam:
            self._batcher = Batcher(fam)
        return self._batcher

    # -- what became of a batch's echoes (batch.py) ------------------------------------------

    def _sent(
        self,
        probes: list[Probe],
        dues: list[float],
        seqs: Sequence[int],
        sock: EchoSocket,
        walls: list[float],
        monos: list[float],
    ) -> None:
        """The echoes to probes (dues: when each was due) went out as seqs, echo i at loop
        time monos[i] (walls[i]: wall clock), in one or more sendmmsg calls.

        One pass, with the steady echo's next send (_next, _schedule) written out: this is
        once per echo at 50,000 devices. Every probe has the stream's timeout (follow sets
        it), so the echoes share a deadline batch unless their deadlines straddle a slot."""
        p0 = probes[0]
        expiry = self._expect(p0, sock, monos[0])
        last = monos[-1]
        if self._sends.end_of(last + p0.timeout) == expiry.slot:
            self._expect(p0, sock, last)  # (the same batch: its last send and deadline)
            expiry.seqs.extend(seqs)
        else:  # (rare) each echo to its own deadline's batch, as one at a time
            for seq, mono in zip(seqs, monos, strict=True):
                self._expect(p0, sock, mono).seqs.append(seq)
        after = self._next
        wheel = self._steady
        width, slots, heap = wheel.slot, wheel._slots, wheel._heap
        ceil = math.ceil
        for p, due, wall, mono in zip(probes, dues, walls, monos, strict=True):
            p.last_sent = wall
            p.last_error = None
            p.inflight += 1
            if p.retrying:
                p.retrying = 0.0
            if p.burst:
                after(p, mono, due)
                continue
            at = p.steady_at  # _next's steady echo, and _schedule, inline
            while at <= mono:
                at += p.period
            p.steady_at = p.due = at
            slot = ceil(at / width)
            items = slots.get(slot)
            if items is None:
                items = slots[slot] = [p]
                heappush(heap, slot)
                self._arm(slot * width)  # (a no-op in a tick, which arms for what is next)
            elif p.sched is not items:
                items.append(p)
            p.sched = items

    def _filtered(self, p: Probe, due: float, sock: EchoSocket) -> None:
        """A firewall on this host refused p's echo: lost at its deadline (as in _send)."""
        assert self._loop is not None
        wall, now = time.time(), self._loop.time()
        p.last_sent = wall
        p.last_error = None
        p.inflight += 1
        self._expect(p, sock, now).lost.append((p, wall))
        p.retrying = 0.0
        self._next(p, now, due)

    def _failed(self, p: Probe, due: float, sock: EchoSocket, error: OSError) -> None:
        """p's echo could not be sent (no route...): a lost echo with its reason (as _send)."""
        assert self._loop is not None
        wall, now = time.time(), self._loop.time()
        sock.send_errors += 1
        p.retrying = 0.0
        p.last_sent = wall
        p.last_error = f"send failed: {error}"
        p.inflight += 1
        self.drop(p, wall)
        if p.due is None:  # (a burst the loss started has scheduled its next echo)
            self._next(p, now, due)

    def _retry(self, part: Due, sock: EchoSocket, error: OSError) -> None:
        """A full send queue or sequence space: part's echoes go again shortly, each until
        its timeout has passed since its first try; then it is lost, with the reason."""
        assert self._loop is not None
        now = self._loop.time()
        at = now + retry_delay(sock, error)
        self.send_retries += len(part)
        for p, due in part:
            if p.due is not None or not p.alive:
                continue  # (a reply read meanwhile scheduled it)
            if not p.retrying:
                p.retrying = now
            elif now - p.retrying > p.timeout:
                p.retrying = 0.0
                self._failed(p, due, sock, error)
                continue
            p.last_sent = 0.0
            self._schedule(p, at)

    def _next(self, p: Probe, now: float | None = None, due: float | None = None) -> None:
        """Schedule p's next echo: the burst's next, or its next steady one.

        now: loop time of the echo just sent (default: now); due: when it was due.
        """
        if now is None:
            assert self._loop is not None
            now = self._loop.time()
        if p.burst and p.run + p.inflight < self.settings.down_echoes:
            spacing = self.settings.spacing
            # spacing after the echo was due, not after the wake-up that sent it (up to a
            # slot later): over down_echoes echoes the slots' delays would add up.
            if due is None or due + spacing <= now:
                due = now
            self._schedule(p, due + spacing)
            return
        if p.burst:
            return  # enough echoes in flight to reach a verdict: their outcomes decide
        while p.steady_at <= now:
            p.steady_at += p.period
        self._schedule(p, p.steady_at, steady=True)

    # -- echoes ----------------------------------------------------------------------------

    def _send(self, p: Probe) -> float:
        """One echo to p now; a failure to send counts as a lost echo, with its reason.

        Returns the loop time of the send (the pinger stamps it just before the send).
        """
        loop = self._loop
        assert loop is not None
        bound = p.bound
        if bound is not None:
            sock = bound.sock
            got = self.pinger.send(p, 0, bound, self.settings.size)
            if isinstance(got, int) and got != FILTERED:  # sent: what follows is its outcome
                _owner, _index, _target, _serial, wall, sent = sock.pending[got]
                p.last_sent = wall
                p.last_error = None
                p.inflight += 1
                p.retrying = 0.0
                self._expect(p, sock, sent).seqs.append(got)
                return sent
        wall, now = time.time(), loop.time()
        p.last_sent = wall
        if not (bound is not None and isinstance(got, OSError) and transient(got)):
            p.retrying = 0.0
        if bound is None:
            if p.error is None:
                return now  # a name still being resolved: no echo, no outcome
            p.last_error = p.error
            p.inflight += 1
            self.drop(p, wall)
        elif isinstance(got, OSError):
            # A full queue or sequence space: try again shortly, for up to the timeout (as
            # a batch does); _send_due leaves the retry scheduled (it used to skip the echo).
            if transient(got) and now - (p.retrying or now) <= p.timeout:
                p.retrying = p.retrying or now
                self.send_retries += 1
                p.last_sent = 0.0
                self._schedule(p, now + retry_delay(bound.sock, got))
                return now
            p.retrying = 0.0
            bound.sock.send_errors += 1
            p.last_error = f"send failed: {got}"
            p.inflight += 1
            self.drop(p, wall)
        else:  # FILTERED: a firewall on this host refused it; lost at its deadline
            p.last_error = None
            p.inflight += 1
            self._expect(p, bound.sock, now).lost.append((p, wall))
        return now

    def reply(self, p: Probe, rtt: float, sent: float) -> None:
        """An echo of p answered rtt seconds after its send (called by the socket reader)."""
        if rtt > p.timeout:
            if p.bound is not None:
                p.bound.sock.late += 1
            self.drop(p, sent)
            return
        p.inflight -= 1
        p.w_sent += 1
        p.w_received += 1
        p.w_rtts.append(rtt)
        if sent > p.seen:
            p.seen = sent
        if sent > p.ok_sent:
            p.ok_sent = sent
        event = None
        if p.watch is not None and sent >= p.watch:
            p.watch, event = None, ev.ANSWERED
        if p.run:
            p.run, p.run_since, event = 0, None, ev.ANSWERED
        if p.up is not True:
            p.oks += 1
            if p.oks >= self.settings.up_echoes:
                self._verdict(p, True)
                return
            if not p.burst:
                self._burst(p)
            elif p.due is None:  # the burst had enough in flight; this reply frees a place
                self._next(p)
        elif p.burst:
            p.burst = False  # the first reply ends a burst
            self._next(p)
        if event is not None:
            self._emit(p, event)

    def drop(self, p: Probe, sent: float) -> None:
        """An echo of p is lost (no reply within the timeout, or it could not be sent)."""
        p.inflight -= 1
        p.w_sent += 1
        if sent < p.ok_sent:  # a later echo was answered, or a parent's outage explains it
            if p.burst and p.due is None:
                self._next(p)  # not part of a run: a burst that had enough in flight goes on
            return
        if sent > p.seen:
            p.seen = sent
        s = self.settings
        event = None
        if p.watch is not None and sent >= p.watch:
            p.watch, event = None, ev.LOST
        p.run += 1
        if p.run == 1:
            p.run_since = sent
            if p.up is not False:
                event = ev.LOST
        if p.run == min(PARENT_CHECK_RUN, max(1, s.down_echoes - 1)) and p.run_since:
            for parent in p.parents:
                self._check(parent, p.run_since)
        if p.run == max(2, s.down_echoes // 2) and p.up is not False:
            event = ev.LOSING
        if p.run >= s.down_echoes:
            p.oks = 0
            if p.burst:
                p.burst = False
                self._next(p)
            if p.up is not False:
                p.down_since = p.run_since
                self._verdict(p, False)
                return
        elif (p.up is not False or p.oks > 0) and not p.burst:
            self._burst(p)
        if event is not None:
            self._emit(p, event)

    def _burst(self, p: Probe) -> None:
        """Start a burst: an echo now, the next ones every spacing (see _next)."""
        p.burst = True
        self._send(p)
        if p.burst:  # (a send that failed may have ended it with a verdict)
            self._next(p)

    def _check(self, p: Probe, since: float) -> None:
        """p's verdict is awaited for something that began at since: report an outcome."""
        if p.watch is None or since < p.watch:
            p.watch = since
        if p.seen >= since:
            p.watch = None
            self._emit(p, ev.ANSWERED if not p.run else ev.LOST)
        elif not (p.inflight and p.last_sent >= since) and not p.burst:
            self._send(p)

    def _verdict(self, p: Probe, up: bool) -> None:
        back = up and p.up is False
        p.up = up
        p.oks = 0
        p.watch = None
        p.reason = "" if up else (p.last_error or "no reply")
        if p.burst:
            p.burst = False
            self._next(p)
        self._emit(p, ev.UP if up else ev.DOWN, with_round=True)
        assert self._loop is not None
        self._report_at(p, self._loop.time() + p.window)  # the verdict ended the round
        if up:  # a parent is back: what hangs below it need not wait for its steady echo
            for child in p.children:
                if child.up is False and not child.burst:
                    self._check(child, p.ok_sent)
                elif back and child.run and child.up is not False:
                    self._excuse(child, p.ok_sent)

    def _excuse(self, p: Probe, since: float) -> None:
        """p's run of losses overlaps its parent's outage, which just ended: it starts again
        from echoes sent after the parent answered (since), and their first outcome is reported."""
        # The echoes lost before belong to the parent's episode: counted, those still in flight
        # when a short power cut ended gave the AP a late "down" after its router was back, and
        # the village a second page. Decided here, not in the alert engine, because the verdict
        # is what every reader shows (metrics, status page). An outage of p that goes on is
        # down_echoes fresh losses later, its own page.
        p.run, p.run_since = 0, None
        p.ok_sent = max(p.ok_sent, since)  # drop() skips older echoes, as after a reply
        p.watch = since
        if p.burst and p.due is None:
            self._next(p)

    # -- reports ---------------------------------------------------------------------------

    def _emit(self, p: Probe, event: str, with_round: bool = False) -> None:
        obs = p.report(event, with_round, time.time())
        if obs is None:
            return
        try:
            self.sink(obs)
        except Exception:  # a listener's bug must not stop the probing
            self.sink_errors += 1
            log.exception("recording the ping observation of %s failed", p.name)

    # -- names -----------------------------------------------------------------------------

    def _resolve(self, probes: list[Probe]) -> None:
        async def bind() -> None:
            try:
                await self.pinger.bind(probes)
            finally:
                self._resolving = None

        if self._loop is None:
            return
        if self._resolving is not None:
            self._names_due = True  # once this one is done
            return
        self._resolving = self._loop.create_task(bind(), name="icmp-resolve")
