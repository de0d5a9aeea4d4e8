"""The villages' statuses for the rollup families, kept between scrapes.

`State.village_status` costs ~3.5 µs a village (0.06 s at 50,000 devices, 16,285 villages) and
was asked of every village at every scrape, though a village's status seldom changes. A
village's status depends only on its devices' verdicts' health (and roles, membership: the
inventory), so it is asked again only for the villages of devices whose health moved; which
devices to look at comes from the device table's change flags (a refresh of the exposition's
columns flags every slot it sampled again whose part's verdict is another object than when this
read the device: `DeviceTable.seen`, called where the health is read), valid when every registered
collector has its columns in the exposition (`netwatch run`'s sources); otherwise, and after a
reload, every village is asked, as before (issue 10).
"""

from __future__ import annotations

from array import array
from collections.abc import Iterator
from itertools import compress

from netwatch.core.model import Inventory
from netwatch.core.plugins import registered
from netwatch.core.state import DeviceState, State, VillageStatus
from netwatch.exporters.prometheus_format import VillageLabels
from netwatch.exporters.prometheus_series import DeviceTable

STATUSES = tuple(VillageStatus)
STATUS_INDEX = {s: i for i, s in enumerate(STATUSES)}
_SLICE = 2_000  # devices or villages between two turns of the loop
_STATUSES = 500  # villages asked for their status between two turns (~3.5-6 µs each)


class VillageStatuses:
    """Each village's status (its index in STATUSES), kept between scrapes: only the villages of
    devices whose health changed are asked again, when every registered collector's parts are
    watched by the device table (a refresh of its columns flags the slots it sampled again
    whose verdict moved since this read them);
    otherwise, and after a reload, every village is (3.5 µs a village, 0.06 s at 50,000
    devices: most of a scrape's rollup, though a village's status seldom changes)."""

    def __init__(self) -> None:
        self.table: DeviceTable | None = None
        self.inventory: Inventory | None = None
        self.epoch = -1
        self.codes: list[str] = []
        self.labels: list[str] = []  # village="...",district="..." by village index
        self.current = bytearray()  # status index by village index
        self.health = bytearray()  # by device slot: 0 without a verdict, else 1 + its health
        self.village_of = array("i")  # by device slot: its village's index, -1 none, -2 several
        self.several: dict[int, list[int]] = {}
        self.fresh = False  # updated for the next text()

    def update(self, state: State, table: DeviceTable, labels: VillageLabels) -> Iterator[None]:
        inventory = state.inventory
        if (
            table is self.table
            and inventory is self.inventory
            and table.epoch == self.epoch
            and table.tracked.issuperset([p.name for p in registered()])
        ):
            yield from self._changed(state, table)
        else:
            yield from self._all(state, table, labels)
        self.fresh = True

    def _all(self, state: State, table: DeviceTable, labels: VillageLabels) -> Iterator[None]:
        inventory = state.inventory
        self.table = self.inventory = None  # until done
        villages = inventory.villages
        codes = list(villages)
        watched = table.tracked.issuperset([p.name for p in registered()])
        if watched:  # health first: a change after it is flagged by the next refresh
            flags = table.changed
            flags[:] = bytes(len(flags))
            health = bytearray(len(table.states))
            for a in range(0, len(table.states), _SLICE):
                health[a : a + _SLICE] = bytes(map(_health, table.states[a : a + _SLICE]))
                table.seen(range(a, min(a + _SLICE, len(table.states))))
                yield
            village_of = array("i", [-1]) * len(table.states)
            several: dict[int, list[int]] = {}
            slot_of = table.slot_of
            for i, code in enumerate(codes):
                if i % _SLICE == _SLICE - 1:
                    yield
                for name in villages[code].devices:
                    slot = slot_of.get(name)
                    if slot is None:
                        continue
                    if village_of[slot] == -1:
                        village_of[slot] = i
                    else:
                        if village_of[slot] >= 0:
                            several[slot] = [village_of[slot]]
                        several[slot].append(i)
                        village_of[slot] = -2
        current = bytearray()
        status_of, text = state.village_status, labels.text
        texts: list[str] = []
        for a in range(0, len(codes), _STATUSES):
            some = codes[a : a + _STATUSES]
            current += bytes([STATUS_INDEX[status_of(c)] for c in some])
            texts += [text(code, villages[code].district) for code in some]
            yield
        self.codes, self.current, self.labels = codes, current, texts
        if watched:
            self.health, self.village_of, self.several = health, village_of, several
            self.table, self.inventory, self.epoch = table, inventory, table.epoch

    def _changed(self, state: State, table: DeviceTable) -> Iterator[None]:
        flags = table.changed
        if flags.find(1) < 0:
            return
        slots = list(compress(range(len(flags)), flags))
        flags[:] = bytes(len(flags))
        health, village_of, states = self.health, self.village_of, table.states
        dirty: set[int] = set()
        for a in range(0, len(slots), _SLICE):
            chunk = slots[a : a + _SLICE]
            now = bytes(map(_health, map(states.__getitem__, chunk)))
            table.seen(chunk)
            if now == bytes(map(health.__getitem__, chunk)):  # a new round, the same verdicts
                yield
                continue
            for slot, code in zip(chunk, now, strict=True):
                if code != health[slot]:
                    health[slot] = code
                    village = village_of[slot]
                    if village >= 0:
                        dirty.add(village)
                    elif village == -2:
                        dirty.update(self.several[slot])
            yield
        status_of, codes, current = state.village_status, self.codes, self.current
        for i, village in enumerate(dirty, 1):
            current[village] = STATUS_INDEX[status_of(codes[village])]
            if i % _STATUSES == 0:
                yield


def _health(ds: DeviceState | None) -> int:
    """What the rollup reads of a device: 0 without a verdict, else 1 + the verdict's health."""
    if ds is None:
        return 0
    v = ds.verdict()
    return 0 if v is None else 1 + v.health
