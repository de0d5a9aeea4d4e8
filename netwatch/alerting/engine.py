"""The alert engine: village verdicts → alerts → notifications, durable in one SQLite file.

A pipeline of small stages (Alertmanager's notify pipeline is the model):

    reports ─► intake (verdicts, traces) ─► rules (village verdicts) ─► kinds (intents)
          ─► lifecycle (fire / update / resolve, flapping, timers)
          ─► notify (mute stage: upstream · upstream-degraded · maintenance · silence · flapping;
                     then one notify-and-mark path into the outbox)

Driven by echo-stream reports (the state listener) and by evaluate(now), called every tick and
at once when a device's verdict changes. Each evaluation with something due is one
transaction (run() commits a long one in 20 ms slices, a loop turn between them): an
alert-state change and the notifications it causes commit together, so a killed process
neither loses nor repeats one. Exporters read snapshot(), never the engine.
Over 400 lines: what stays here is the evaluation's order and the state the steps share in
that one transaction (quiet villages and parents, awaited parents, store faults); each step's
logic is in its stage module. Splitting the order over files would hide it.
"""

from __future__ import annotations

import asyncio
import itertools
import logging
import sqlite3
import time
from collections import Counter
from collections.abc import Callable, Generator, Iterator, Mapping

from netwatch.alerting import handover
from netwatch.alerting import snapshot as snapshot_mod
from netwatch.alerting import store as store_mod
from netwatch.alerting.causes import ONU_INHIBIT, Causes
from netwatch.alerting.correlation import Correlation
from netwatch.alerting.flapping import Flapping
from netwatch.alerting.intake import Intake
from netwatch.alerting.kinds import HOLD_FACTOR, Kinds
from netwatch.alerting.lifecycle import Lifecycle
from netwatch.alerting.maintenance import Maintenance
from netwatch.alerting.muting import (
    FlappingMuter,
    InhibitMuter,
    MaintenanceMuter,
    MuteStage,
    SilenceMuter,
    Subject,
    UpstreamDegradedMuter,
    UpstreamMuter,
)
from netwatch.alerting.notify import NotifyStage
from netwatch.alerting.outbox import Outbox
from netwatch.alerting.records import EDITS
from netwatch.alerting.rules import (
    OUTAGE_STATES,
    ServiceState,
    Topology,
    Verdict,
    lossy,
    upstream_verdict,
    village_verdict,
)
from netwatch.alerting.seams import DeviceStateView, EchoReport, PollRequest, Sink, Tracer
from netwatch.alerting.snapshot import AlertSnapshot, AlertView
from netwatch.alerting.store import AlertStore
from netwatch.alerting.timer_index import TimerIndex
from netwatch.alerting.tracing import Tracing
from netwatch.alerting.tracker import Tracker
from netwatch.alerting.types import Notification
from netwatch.alerting.village_states import VillageStates
from netwatch.core.model import AlertingSettings, Inventory
from netwatch.core.ticks import next_tick

log = logging.getLogger("netwatch.alerting")
_QUIET_STATES = (ServiceState.UP, ServiceState.UNKNOWN)
# A run() evaluation gives the loop a turn after this much work (seconds; each slice is its
# own transaction): the first tick of a mass outage fires 25,000 alerts (issue 10).
SLICE_SECONDS = 0.02
# Devices (or villages) per piece of inventory_steps(): ~2-4 ms of a reload's adoption at a time.
ADOPT_SLICE = 5000


def store_fault(exc: BaseException) -> bool:
    """Whether exc is the database failing (full, I/O, corrupt, read-only), not a bug."""
    return isinstance(exc, sqlite3.DatabaseError) and not isinstance(
        exc, sqlite3.IntegrityError | sqlite3.ProgrammingError
    )


class Engine:
    """Hold-downs, flapping, dependency suppression, re-notify, escalation, acknowledgement."""

    def __init__(
        self,
        inventory: Inventory,
        settings: AlertingSettings | None = None,
        conn: sqlite3.Connection | None = None,
        *,
        request_poll: PollRequest | None = None,
        sink: Sink | None = None,
        outbox: Outbox | None = None,
        tracer: Tracer | None = None,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.settings = s = settings or inventory.settings.alerting
        self.store = AlertStore(conn if conn is not None else store_mod.connect(s.db_path))
        if sink is None:
            if outbox is None:
                raise ValueError("the alert engine needs an outbox or a sink")
            sink = self._enqueue
        self.outbox = outbox
        self.clock = clock
        self.evaluations = 0
        self.errors = 0
        # Told the reason when a tick cannot be stored, None when a tick is stored again.
        self.on_store_fault: Callable[[str | None], None] | None = None
        self._store_failing = False
        self.sent: Counter[str] = Counter()  # notifications enqueued, by event
        self.tracker = Tracker(s)
        self.tracing = Tracing(tracer, s, self.tracker, clock)
        self.intake = Intake(self.tracker, self.tracing, request_poll)
        self.flapping = Flapping(s, self.store)
        self.villages = VillageStates(self.store)
        self.degraded = UpstreamDegradedMuter(s)
        self.maintenance_muter = MaintenanceMuter(Maintenance(s.maintenance))
        self.silences = SilenceMuter()
        # Alertmanager's order: inhibition, then the rest; the source alerts are the open ones.
        inhibit = InhibitMuter([ONU_INHIBIT], lambda: self.lifecycle.open.values())
        mutes = MuteStage(
            [
                inhibit,
                UpstreamMuter(self.tracker, s),
                self.degraded,
                self.maintenance_muter,
                self.silences,
                FlappingMuter(self.flapping),
            ]
        )
        self.notify = NotifyStage(sink, self.store, mutes, self.flapping, self.sent, inhibit)
        self.lifecycle = Lifecycle(s, self.store, self.notify, self.flapping, self.tracing)
        self.correlation = Correlation(self.store, self.lifecycle)  # residents' complaints
        self._data_version = -1
        # Open alerts whose rules still wanted them at an evaluation of this process: only
        # these are re-posted to Alertmanager (a restarted replica must not re-post an outage
        # that ended while it was down before its first rounds say so).
        self.confirmed: set[str] = set()
        self._wake: asyncio.Event | None = None  # set by a verdict change: evaluate now
        self._awaited: set[str] = set()  # devices whose next report a pending verdict awaits
        # Villages whose last evaluation found them up with nothing pending, held or open are
        # quiet: evaluating one again changes nothing until the standing of one of its devices
        # changes (Tracker.touched), so a tick skips them. A tick evaluates the others (loud),
        # in inventory order (_order), without walking every village. Every village is loud
        # again on load and failure, and on a reload that changes settings; any other reload
        # makes loud what it changed (_changes).
        self._loud: set[str] = set()
        self._order: dict[str, int] = {}
        self._parent_order: dict[str, int] = {}  # Topology.upstream's, by name
        # Parents (Topology.upstream) the same way: up or undecided, not lossy even at
        # HOLD_FACTOR, nothing open or held: skipped until their own standing changes.
        self._loud_parents: set[str] = set()
        self.incremental = True  # False: every village every tick (tests compare both)
        self.timers = TimerIndex(s)
        self.slice_seconds = SLICE_SECONDS  # run(): a loop turn after this much work
        self._generation = 0  # set_inventory and _load: a sliced evaluation stops there
        self._touched_tick: set[str] = set()  # devices whose standing changed, this tick
        self._last_tick = float("-inf")  # the previous timers' stage (silences that ended)
        self._views: tuple[tuple[int, int], tuple[AlertView, ...]] = ((-1, -1), ())
        self._snapshot = AlertSnapshot(clock())
        # The last snapshot's copies of the village states, by VillageStates.version.
        self._frozen_states: tuple[int, Mapping[str, ServiceState], Mapping[str, ServiceState]]
        self._frozen_states = (-1, {}, {})
        self.set_inventory(inventory)
        self._load(clock())

    def _enqueue(self, n: Notification) -> None:
        # The outbox rows are written inside the engine's open transaction.
        assert self.outbox is not None
        self.outbox.enqueue(self.store.conn, n)

    @property
    def conn(self) -> sqlite3.Connection:
        return self.store.conn

    @property
    def sink(self) -> Sink:
        return self.notify.sink

    @sink.setter
    def sink(self, sink: Sink) -> None:
        self.notify.sink = sink

    @property
    def maintenance(self) -> Maintenance:
        return self.maintenance_muter.maintenance

    @maintenance.setter
    def maintenance(self, maintenance: Maintenance) -> None:
        self.maintenance_muter.maintenance = maintenance

    def snapshot(self) -> AlertSnapshot:
        """The state after the last evaluation (immutable; safe to read from any thread)."""
        return self._snapshot

    # -- inventory and persistence -------------------------------------------------------

    def set_inventory(self, inventory: Inventory) -> None:
        """Adopt a (reloaded) inventory; device verdicts of devices that stay are kept."""
        for _ in self.inventory_steps(inventory):
            pass

    def inventory_steps(self, inventory: Inventory) -> Generator[None, None, None]:
        """set_inventory() in pieces of ADOPT_SLICE devices or villages, yielding between
        them (at 50,000 devices it held the event loop 66-73 ms in one piece; issue 10).
        Everything new is built aside and adopted in the last piece, whole: a tick or an
        observation between pieces works on the old inventory, never on half of the new."""
        topology = yield from Topology.in_steps(inventory, ADOPT_SLICE)
        order = {code: k for k, code in enumerate(inventory.villages)}
        parent_order = {name: k for k, name in enumerate(topology.upstream)}
        districts = snapshot_mod.frozen({c: v.district for c, v in inventory.villages.items()})
        yield
        village_of: dict[str, str] = {}
        for i, (n, d) in enumerate(inventory.devices.items(), 1):
            if d.village:
                village_of[n] = d.village
            if i % ADOPT_SLICE == 0:
                yield
        # A village whose ONU joins its verdict reads its routers' every echo (onu_join.py).
        eager = frozenset(
            n for v in inventory.villages.values() if v.onu is not None for n in v.devices
        )
        kinds = Kinds(topology, self.settings)
        causes = Causes(inventory, kinds, self.intake.request_poll)
        yield
        # Tracks change only here: who leaves and who comes is known before the swap.
        tracks = self.tracker.tracks
        gone = [name for name in tracks if name not in inventory.devices]
        yield
        new = [name for name in inventory.devices if name not in tracks]
        yield
        changes = yield from self._changes(inventory)
        if changes is None:  # every village and parent is looked at
            loud, loud_parents = set(order), set(topology.upstream)
        else:
            villages, devices = changes
            loud = {c for c in self._loud if c in order} | villages
            was = self._parent_order
            loud_parents = {p for p in self._loud_parents if p in parent_order}
            loud_parents.update(p for p in topology.upstream if p not in was)
            self.tracker.touched |= devices  # (their villages and parents: _take_touched)
        # A device touched and then removed before a tick took it: no parent of this inventory
        # (_due_parents orders the loud parents by this inventory's topology).
        touched = self.tracker.touched
        self.tracker.touched = {n for n in touched if n in inventory.devices}
        self.inventory = inventory
        self.topology = topology
        self._order = order
        self._parent_order = parent_order
        self._districts = districts
        self._loud, self._loud_parents = loud, loud_parents
        self._generation += 1
        self.timers.reset()
        self._village_of = village_of
        self.tracker.eager = eager
        self.kinds = kinds
        old = getattr(self, "causes", None)
        self.causes = causes
        if old is not None:
            causes.adopt(old)
        for name in gone:
            del tracks[name]
        for name in new:
            self.tracker.track(name)
        self._let_go(self.clock())
        self._publish(self.clock())

    def _changes(
        self, inventory: Inventory
    ) -> Generator[None, None, tuple[set[str], set[str]] | None]:
        """What a reload to inventory changed for the evaluation, in pieces: the villages
        changed or new, and the devices changed or new, or left behind by a device that
        changed or went (in the old topology: their parent chains changed); None when
        everything must be looked at again (the first inventory, other settings, the old
        engine not incremental). A quiet village stays quiet across a reload that changes
        nothing it reads: at 50,000 devices the evaluation of every village after each
        one-line edit held the loop for ~0.6 s in 20 ms slices (issue 10)."""
        was = getattr(self, "inventory", None)
        if was is None or not self.incremental or was.settings != inventory.settings:
            return None
        villages: set[str] = set()
        for i, (code, village) in enumerate(inventory.villages.items(), 1):
            before = was.villages.get(code)
            if before is not village and before != village:
                villages.add(code)
            if i % ADOPT_SLICE == 0:
                yield
        devices: set[str] = set()
        moved: list[str] = []  # changed or gone: the old topology's devices below them
        for i, (name, device) in enumerate(inventory.devices.items(), 1):
            before = was.devices.get(name)
            if before is not device and before != device:
                devices.add(name)
                if before is not None:
                    moved.append(name)
            if i % ADOPT_SLICE == 0:
                yield
        moved += [name for name in was.devices if name not in inventory.devices]
        yield
        below = self.topology.descendants
        for name in moved:
            devices.update(d for d in below.get(name, ()) if d in inventory.devices)
        yield
        # What reads a changed device's polls: a village's ONU on its OLT, its uplink on a
        # port, an AP on its controller (facts are kept by name; the device's settings moved).
        for i, village in enumerate(inventory.villages.values(), 1):
            onu, uplink = village.onu, village.uplink
            if (onu is not None and onu.olt in devices) or (
                uplink is not None and uplink.device in devices
            ):
                villages.add(village.code)
            if i % ADOPT_SLICE == 0:
                yield
        managed = []
        for i, (name, device) in enumerate(inventory.devices.items(), 1):
            if device.controller is not None and device.controller.device in devices:
                managed.append(name)
            if i % ADOPT_SLICE == 0:
                yield
        devices.update(managed)
        return villages, devices

    def _let_go(self, now: float) -> None:
        """Close, without a notification, open alerts about places this inventory no longer
        holds (handover.py): a district moved to another shard stays one alert there."""
        gone = list(
            handover.strangers(
                ((fp, a.labels) for fp, a in self.lifecycle.open.items()), self.inventory
            )
        )
        if not gone:
            return
        with self.store.transaction():
            for s in gone:
                self.lifecycle.drop(s.fingerprint, now)
                if self.outbox is not None:
                    self.outbox.forget(self.store.conn, s.fingerprint)
        for s in gone:
            log.info("alert %s closed without notification: %s", s.fingerprint, s.reason())

    def _load(self, now: float) -> None:
        self._loud = set(self._order)
        self._loud_parents = set(self.topology.upstream)
        self._generation += 1
        self.timers.reset()
        self.lifecycle.load()
        self.correlation.load(now)
        self.flapping.load(now)
        self._let_go(now)
        self.villages.load()
        self.silences.silences = self.store.silences(now)
        self._data_version = self.store.data_version()
        self._publish(now)

    def _refresh_external(self, now: float) -> None:
        """Pick up silences and acknowledgements written by the CLI (another connection)."""
        version = self.store.data_version()
        if version == self._data_version:
            return
        self._data_version = version
        self.timers.sweep = True  # an acknowledgement or a silence: every alert looked at
        self.silences.silences = self.store.silences(now)
        acks = self.store.acknowledgements()
        for a in self.lifecycle.open.values():
            if a.id in acks:
                a.acknowledged_by = acks[a.id]

    def _publish(self, now: float) -> None:
        if self._frozen_states[0] != self.villages.version:
            self._frozen_states = (
                self.villages.version,
                snapshot_mod.frozen(self.villages.shown),
                snapshot_mod.frozen(self.villages.recorded),
            )
        _, shown, recorded = self._frozen_states
        key = (EDITS[0], self.lifecycle.version)
        if self._views[0] != key:  # an alert opened, closed or changed: views again
            self._views = (key, tuple(AlertView.of(a) for a in self.lifecycle.open.values()))
        self._snapshot = snapshot_mod.take(
            now,
            self._districts,
            shown,
            recorded,
            self.lifecycle.open.values(),
            len(self.flapping),
            self.silences.active(now),
            self.evaluations,
            self.errors + self.intake.errors + self.correlation.errors,
            self.sent,
            correlated=self.correlation.correlated,
            views=self._views[1],
        )

    # -- reports ---------------------------------------------------------------------------

    def on_observation(self, device_state: DeviceStateView, observation: object) -> None:
        """State listener (seams.ObservationListener): echo-stream reports to the verdicts."""
        intake, causes = self.intake, self.causes
        intake.on_observation(device_state, observation, self.topology)
        name = device_state.device.name
        if name in causes.watched:  # (the others' polls hold no facts the causes read)
            causes.on_observation(device_state, observation)
        if causes.onu_changed or name in self._awaited:
            # An ONU changed state, or news of a device a verdict waits for: decide now.
            if causes.onu_changed:  # its villages are not quiet: their ONU joins them
                self._loud.update(causes.villages_of_olt(name))
            causes.onu_changed = False
            self._awaited.discard(name)
            intake.changed = True
        if intake.changed:
            self._wake_on_change()

    def observe(self, name: str, report: EchoReport) -> None:
        """Apply one report of device `name` (the listener's core; tests call it directly)."""
        self.intake.observe(name, report, self.topology)
        self._wake_on_change()

    def _wake_on_change(self) -> None:
        if self.intake.changed:
            self.intake.changed = False
            if self._wake is not None:
                self._wake.set()

    def set_path(self, device: str, last_hop: str | None, at: float | None = None) -> None:
        """Record a traceroute result toward device (last hop that answered)."""
        self.tracing.set_path(device, last_hop, at)

    # -- evaluation ------------------------------------------------------------------------

    def evaluate(self, now: float | None = None) -> None:
        """Evaluate the due villages and parents, then timers; one transaction."""
        for _ in self.evaluation(now, None):
            pass

    def evaluation(self, now: float | None, budget: float | None) -> Iterator[None]:
        """evaluate(), yielding after each `budget` seconds of work (None: never) so that
        run() gives the loop a turn; each slice is its own transaction, every item (a village,
        a parent, an alert) stays whole in one. A reload meanwhile ends it (all loud again)."""
        now = self.clock() if now is None else now
        self.evaluations += 1
        self._refresh_external(now)
        sent_before = sum(self.sent.values())
        generation = self._generation
        items = self._items(now)
        failed, done = False, False
        try:
            # Nothing due (the idle tick: no loud village or parent, no complaint, no cause,
            # flap or timer due): no transaction to open and commit (its BEGIN IMMEDIATE,
            # COMMIT and the complaints' savepoint were ~0.1 ms a second at 1,000 devices).
            # What _items computes before its first item reads and sorts memory only.
            first = next(items, None)
            done = first is None
            if first is not None:
                items = itertools.chain((first,), items)
            while not done:
                start = time.perf_counter()
                done = True
                with self.store.transaction():
                    for what, fn, args in items:
                        failed |= not self._guarded(what, fn, *args)
                        if budget is not None and time.perf_counter() - start > budget:
                            done = False
                            break
                if not done:
                    yield
                    if generation != self._generation:
                        return  # reloaded: every village and alert is looked at next tick
        except Exception:
            self.errors += 1
            self._load(now)  # memory must not run ahead of what was committed
            raise
        self.correlation.committed()
        if failed:
            self._load(now)
        elif budget is not None:  # the snapshot's views of 25,000 new alerts: in slices too
            start = time.perf_counter()
            for a in list(self.lifecycle.open.values()):
                AlertView.of(a)  # (kept on the alert: _publish finds it built)
                if time.perf_counter() - start > budget:
                    yield
                    if generation != self._generation:
                        return
                    start = time.perf_counter()
        if self.outbox is not None and sum(self.sent.values()) != sent_before:
            self.outbox.wake()  # committed: deliver now rather than at the next outbox poll
        self._publish(now)

    def _items(self, now: float) -> Iterator[tuple[str, Callable[..., None], tuple[object, ...]]]:
        """The evaluation's work, in its order, one item at a time."""
        topo = self.topology
        for name in self._due_parents():
            yield f"device {name}", self._eval_upstream, (name, now)
        for code in self._due_villages():
            yield f"village {code}", self._eval_village, (code, now)
        # Complaints read now (another database): an item only when there is one to weigh or
        # a VillageWifiComplaints alert open, else it would change nothing.
        complaints = self.correlation.read(now, self.inventory)
        if complaints is not None and (complaints or self.correlation.current()):
            yield "complaints", self.correlation.evaluate, (
                now, self.inventory, self.kinds, topo, self.villages.recorded, complaints,
            )  # fmt: skip
        lifecycle = self.lifecycle
        for intent in list(self.causes.intents(now, self.tracker.tracks, lifecycle.open)):
            if not lifecycle.idle(intent):  # (an item runs in a savepoint of its own)
                yield f"alert {intent.fingerprint}", lifecycle.reconcile, (intent, topo, now)
        for fp in list(self.flapping.flaps):
            yield f"flapping {fp}", self.lifecycle.settle_flapping, (fp, topo, now)
        for fp in self._due_timers(now):
            yield f"alert {fp}", self._timers, (fp, now)

    def _guarded(self, what: str, fn: Callable[..., None], *args: object) -> bool:
        """Run one item in a savepoint: one that raises is rolled back, logged and counted."""
        try:
            with self.store.savepoint():
                fn(*args)
        except Exception as exc:
            if store_fault(exc):
                raise  # the database cannot write: the whole tick is rolled back and retried
            self.errors += 1
            log.exception("alerting: evaluating %s failed; the others go on", what)
            return False
        return True

    def _take_touched(self) -> bool:
        """Villages and parents whose devices' standing changed are loud again; False when
        everything is evaluated this tick (full mode, or maintenance windows configured)."""
        touched, self.tracker.touched = self.tracker.touched, set()
        self._touched_tick |= touched  # (the timers' stage reads them: held alerts below)
        if not self.incremental or self.maintenance.windows:
            # A window opens or closes with time alone: evaluate everything.
            self._loud = set(self._order)
            self._loud_parents = set(self.topology.upstream)
            return False
        loud, village_of = self._loud, self._village_of
        parents, upstream = self._loud_parents, self.topology.behind
        below, order = self.topology.descendants, self._parent_order
        for name in touched:
            code = village_of.get(name)
            if code is not None:
                loud.add(code)
            if code is None or name in upstream:
                parents.add(name)  # (a name that is no parent is never asked for)
                # A parent's verdict is part of the outage verdicts below it (settled ones).
                loud.update(upstream.get(name, ()))
                parents.update(d for d in below.get(name, ()) if d in order)
        return True

    def _due_parents(self) -> list[str]:
        """Parents to evaluate this tick, in topology order: all but the quiet ones."""
        if not self._take_touched():
            return list(self.topology.upstream)
        parents, order = self._loud_parents, self._parent_order
        if len(parents) * 8 > len(order):
            return [name for name in order if name in parents]
        return sorted(parents, key=order.__getitem__)

    def _due_villages(self) -> list[str]:
        """Villages to evaluate this tick, in inventory order: all but the quiet ones whose
        devices' standing did not change."""
        order = self._order
        if not self._take_touched():
            return list(order)
        loud = self._loud
        if len(loud) * 8 > len(order):  # many: one walk in order beats sorting them
            return [code for code in order if code in loud]
        return sorted(loud, key=order.__getitem__)

    def is_quiet(self, code: str) -> bool:
        """Whether ticks skip this village until one of its devices' standing changes."""
        return code in self._order and code not in self._loud

    def _eval_village(self, code: str, now: float) -> None:
        verdict = village_verdict(
            code, self.inventory, self.topology, self.tracker.tracks, self.settings, now
        )
        verdict = self.causes.village(code, verdict, self.tracker.tracks, now)  # its ONU joins
        if verdict.pending:
            self._await(verdict.awaiting, now)
            return  # a parent's verdict is due: decide nothing yet
        village = self.inventory.villages[code]
        devices = self.inventory.village_devices(code)
        window = self.maintenance.active(now, code, village.district, devices)
        self.villages.update(code, verdict.state, window, now)
        # Up, or not decided yet (no verdict of its routers and APs): neither depends on time.
        quiet = verdict.state in _QUIET_STATES and window is None
        settled = window is None and code not in self.causes.routers and self._settled(verdict)
        lifecycle = self.lifecycle
        for intent in self.kinds.village(code, verdict):
            lifecycle.reconcile(intent, self.topology, now)
            self._confirm(intent.fingerprint, intent.want)
            fp = intent.fingerprint
            if fp in lifecycle.open or fp in lifecycle.wanted_since:
                quiet = False
            if fp in lifecycle.wanted_since or (intent.want and fp not in lifecycle.open):
                settled = False  # a hold or a traceroute's wait: time decides
        if quiet or settled:  # as it is, alert or none, until a device's standing changes
            self._loud.discard(code)

    def _settled(self, verdict: Verdict) -> bool:
        """Whether an outage (or devices-down) verdict changes only with a standing (its
        devices' or its parents'): then the village is skipped until one changes (issue 10:
        every open village evaluated at every tick of a mass outage). Time and a parent's
        echo news (failing, seen_at) can only make such a verdict pending, which decides
        nothing and asks no re-check of a parent heard since the outage began; a pending
        verdict is evaluated every tick."""
        if verdict.pending:
            return False
        if verdict.state is ServiceState.DEGRADED:
            return not verdict.details  # devices down; loss and delay read the windows
        return verdict.state in OUTAGE_STATES

    def _eval_upstream(self, name: str, now: float) -> None:
        verdict = upstream_verdict(name, self.topology, self.tracker.tracks, self.settings, now)
        if verdict.pending:
            self._await(verdict.awaiting, now)
            return
        track = self.tracker.tracks.get(name)
        # Half the threshold on a parent explains its children's loss.
        quiet = verdict.state in _QUIET_STATES
        settled = verdict.state in OUTAGE_STATES and self._settled(verdict)
        if track is not None and lossy(track, self.settings, HOLD_FACTOR):
            self.degraded.note_lossy(name, now)
            self.timers.grace(name, now + self.settings.dependency_grace, "lossy")
            quiet = settled = False  # noted at every evaluation while it lasts (a time)
        lifecycle = self.lifecycle
        for intent in self.kinds.upstream(name, verdict, track):
            lifecycle.reconcile(intent, self.topology, now)
            self._confirm(intent.fingerprint, intent.want)
            fp = intent.fingerprint
            if fp in lifecycle.open or fp in lifecycle.wanted_since:
                quiet = False
            if fp in lifecycle.wanted_since or (intent.want and fp not in lifecycle.open):
                settled = False
        if quiet or settled:  # up (or undecided) and calm, nothing open: until its standing changes
            self._loud_parents.discard(name)
        else:
            self._loud_parents.add(name)

    def _due_timers(self, now: float) -> list[str]:
        """Open alerts whose timers may do something now (timer_index.py), in the open
        alerts' order: every one after a reload, a CLI edit, with silences or windows."""
        open_alerts, idx = self.lifecycle.open, self.timers
        marked = self.notify.marked | self.lifecycle.touched
        self.notify.marked, self.lifecycle.touched = set(), set()
        touched, self._touched_tick = self._touched_tick, set()
        grace = self.settings.dependency_grace
        for name in touched:  # a parent back: its children are held until grace has passed
            t = self.tracker.tracks.get(name)
            if t is not None and t.recovered_at is not None and now - t.recovered_at < grace:
                idx.grace(name, t.recovered_at + grace, "back")
        # A silence changes what mutes at its start and end: every alert while one is not
        # over by the previous tick (a silence ended long ago costs nothing until a reload).
        last, self._last_tick = self._last_tick, now
        silenced = any(s.ends_at >= last for s in self.silences.silences)
        if idx.sweep or not self.incremental or self.maintenance.windows or silenced:
            idx.sweep = False
            idx.ended(now)  # (this look at every alert is theirs)
            return list(open_alerts)
        due = idx.due(now, touched, open_alerts)
        due.update(fp for fp in marked if fp in open_alerts)
        if len(due) * 8 > len(open_alerts):
            return [fp for fp in open_alerts if fp in due]
        return sorted(due, key=lambda fp: open_alerts[fp].id)  # (the open alerts' order)

    def _timers(self, fp: str, now: float) -> None:
        self.lifecycle.timers(fp, self.topology, now)
        alert = self.lifecycle.open.get(fp)
        if alert is not None:
            target = alert.labels.get("alertname") in self.notify.inhibit_targets
            parents = Subject.of(alert, self.topology).parents if alert.notified_at is None else ()
            self.timers.note(alert, parents, target)

    def _confirm(self, fp: str, want: bool) -> None:
        if want and fp in self.lifecycle.open:
            self.confirmed.add(fp)
        elif fp not in self.lifecycle.open:
            self.confirmed.discard(fp)

    def is_confirmed(self, fp: str) -> bool:
        """Whether an open alert was wanted by an evaluation of this process (re-post it)."""
        return fp in self.confirmed and fp in self.lifecycle.open

    def _await(self, parents: tuple[str, ...], now: float) -> None:
        """Ask for news of parents we wait for (the stream usually has it on its way)."""
        self._awaited.update(parents)
        for p in parents:
            t = self.tracker.tracks.get(p)
            if t is not None and not t.failing:
                self.intake.ask(p, "upstream-check", now)

    # -- running ---------------------------------------------------------------------------

    async def run(self, stop: asyncio.Event) -> None:
        """Evaluate every tick, and at once after a verdict changed, until stop is set; errors
        are logged and counted, never fatal."""
        loop = asyncio.get_running_loop()
        wake = self._wake = asyncio.Event()
        stopper = loop.create_task(stop.wait())
        stopper.add_done_callback(lambda _t: wake.set())
        try:
            while not stop.is_set():
                wake.clear()
                self.tracing.start(loop, self.topology)
                try:
                    for _ in self.evaluation(None, self.slice_seconds):
                        await asyncio.sleep(0)  # a long evaluation lets the loop run
                except Exception as exc:
                    if not store_fault(exc):
                        log.exception("alerting: evaluation failed; retrying next tick")
                    elif self.on_store_fault is not None:  # logged there, rate-limited
                        self._store_failing = True
                        self.on_store_fault(f"{type(exc).__name__}: {exc}")
                    else:
                        log.error("alerting: the alert database cannot write: %s", exc)
                else:
                    if self._store_failing and self.on_store_fault is not None:
                        self._store_failing = False
                        self.on_store_fault(None)
                # The next tick on the grid of loop time (core/ticks.py): the whole seconds at
                # the default 1 s, in turns the loop makes for the echo stream's slots and the
                # other one-second timers, not in one of its own. A timer that sets the event:
                # wait_for's timeout ran the wait in a task of its own and woke this one twice.
                tick = self.settings.tick
                due = next_tick(loop.time(), tick) if tick > 0 else loop.time()
                timer = loop.call_at(due, wake.set)
                try:
                    await wake.wait()
                finally:
                    timer.cancel()
        finally:
            stopper.cancel()
            self._wake = None
            await self.tracing.aclose()
