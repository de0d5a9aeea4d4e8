"""A collector's STATE samples kept as columns: one float array per family, no object per sample.

`DeviceTable` gives every device a slot and its label text (`device="r1",role=...`), shared by
every family. `PluginSeries` keeps, per family, each slot's value in an `array('d')` with a
presence byte; samples with labels of their own (an interface, a probe) get rows in a
`RowTable` per set of label names, which keeps the row's own label text only (the device's is
looked up by slot at scrape time, so a reload that relabels a device touches no row). A device
is sampled again only when its part's version moved since the last scrape: lazily, so a device
polled less often than it is scraped costs nothing in between. Memory: ~9 bytes a sample plus
one text per device and per labelled row; a scrape pays one repr() per value (issue 10).
It runs past 400 lines because the device table, the row tables and the kept slices share
one slot and epoch scheme: split, each part would reach into the others' internals.
"""

from __future__ import annotations

import itertools
from array import array
from collections import Counter
from collections.abc import Callable, Iterable, Iterator
from functools import partial
from itertools import chain, repeat
from operator import getitem, itemgetter, setitem

from netwatch.core.model import Device
from netwatch.core.plugins import AnyPlugin, DevicePart
from netwatch.core.samples import Family, Kind, Labels, Sample, View
from netwatch.core.state import DeviceState, State
from netwatch.exporters.deflate_segments import Kept, digest
from netwatch.exporters.prometheus_format import TextFamily, escape, lines, row_lines

CHUNK = 10_000  # lines per slice of a scrape (a few ms of work between two loop turns)
SCAN = 4_000  # devices the columns' refresh looks at between two slice marks (~2 ms unchanged)
RowKey = tuple[object, ...]  # (slot, *label values), or (slot, labels) in an open table
_value = itemgetter(1)  # a label's value
_tail = itemgetter(slice(1, None))  # a closed table's row key without its slot
_EPOCHS = itertools.count(1)  # epochs unique across device tables (a kept slice names one)
_UNSEEN = object()  # a part's verdict the reader has not read (no verdict is this object)


def device_label_text(d: Device) -> str:
    """The labels every device series starts with (no braces)."""
    return (
        f'device="{escape(d.name)}",role="{d.role.value}",'
        f'village="{escape(d.village or "")}",district="{escape(d.district)}"'
    )


class DeviceTable:
    """Slots for the devices of state, in inventory order; reloads reuse freed slots."""

    def __init__(self) -> None:
        self.slot_of: dict[str, int] = {}
        self.states: list[DeviceState | None] = []
        self.devices: list[Device | None] = []
        self.labels: list[str] = []  # "" for a free slot
        self._free: list[int] = []
        self._seen: dict[str, DeviceState] | None = None
        self.watchers: list[PluginSeries] = []
        self.epoch = 0  # moves whenever a slot's device or label text may have changed
        # Slots where a refresh sampled a part again whose verdict is another object than
        # when the reader (the village rollup) last read the device (`seen`), until the reader
        # takes them; a removed or replaced device moves the epoch instead. A Verdict is
        # immutable and a part's verdict moves only with its version, so after a round only
        # the devices whose verdict moved are read again (not all 50,000). tracked: the
        # collectors whose series flag them.
        self.changed = bytearray()
        self.tracked: set[str] = set()

    def __len__(self) -> int:
        return len(self.states)

    def seen(self, slots: Iterable[int]) -> None:
        """The reader read these devices' verdicts now: each part's verdict as it is, the one a
        refresh compares with (called in the same piece of work as the read: no observation
        between the two)."""
        devices = self.devices
        for w in self.watchers:
            parts, seen = w._parts, w._seen
            for slot in slots:
                part = parts[slot]
                seen[slot] = _UNSEEN if part is None else part.verdict(devices[slot])  # type: ignore[arg-type]

    def sync(self, state: State) -> None:
        """Follow state.devices (a reload swaps the dict, never mutates it)."""
        for _ in self.sync_steps(state):
            pass

    def sync_steps(self, state: State) -> Iterator[None]:
        """sync() in slices, None every SCAN devices (after a reload, a pass over 50,000
        devices is ~20 ms). The table follows the dict read at the start; one swapped again
        meanwhile is followed by the next sync."""
        devices = state.devices
        if devices is self._seen:
            return
        self.epoch = next(_EPOCHS)
        for name in [n for n in self.slot_of if n not in devices]:
            self._release(self.slot_of.pop(name))
        for i, (name, ds) in enumerate(devices.items(), 1):
            if i % SCAN == 0:
                yield
            slot = self.slot_of.get(name)
            if slot is None:
                if self._free:
                    slot = self._free.pop()
                else:
                    slot = len(self.states)
                    self.states.append(None)
                    self.devices.append(None)
                    self.labels.append("")
                    self.changed.append(0)
                self.slot_of[name] = slot
            if self.states[slot] is not ds and self.states[slot] is not None:
                for w in self.watchers:  # another device state: none of its parts is known
                    w.forget(slot)
            self.states[slot] = ds
            if self.devices[slot] is not ds.device:
                self.devices[slot] = ds.device
                self.labels[slot] = device_label_text(ds.device)
        for w in self.watchers:
            w.grow(len(self.states))
        self._seen = devices

    def _release(self, slot: int) -> None:
        self.states[slot] = None
        self.devices[slot] = None
        self.labels[slot] = ""
        for w in self.watchers:
            w.forget(slot)
        self._free.append(slot)


class FamilySeries:
    """One family's values: per device slot (samples without labels) and per labelled row."""

    __slots__ = ("family", "finite", "kept", "on", "row_on", "row_values", "table", "values")

    def __init__(self, family: Family) -> None:
        self.family = family
        self.values: array[float] | None = None  # by device slot
        self.on: bytearray | None = None
        self.table: RowTable | None = None  # the rows of its labelled samples
        self.row_values: array[float] = array("d")
        self.row_on = bytearray()
        self.finite = True  # no NaN or infinity stored (then repr() writes every value)
        self.kept: dict[tuple[bool, int], Kept] = {}  # (rows?, first index) → its slice

    def kind(self) -> str:
        return "counter" if self.family.kind is Kind.COUNTER else "gauge"

    def present(self) -> bool:
        return (self.on is not None and any(self.on)) or any(self.row_on)


class RowTable:
    """Rows of labelled samples with one set of label names (or one open family's rows)."""

    __slots__ = ("epoch", "families", "free", "index", "keys", "names", "open", "own", "rows_of",
                 "slots", "union")  # fmt: skip

    def __init__(self, open_labels: bool) -> None:
        self.open = open_labels
        self.index: dict[RowKey, int] = {}
        self.keys: list[RowKey | None] = []  # row → its key (None when free)
        self.own: list[str] = []  # the row's own labels, `,k="v"...`
        self.slots = array("i")  # row → device slot
        self.rows_of: dict[int, list[int]] = {}  # device slot → its rows
        self.free: list[int] = []
        self.families: list[FamilySeries] = []
        # Open families write the union of label names, sorted, "" where a row has none.
        self.names: Counter[tuple[str, ...]] = Counter()
        self.union: tuple[str, ...] = ()
        self.epoch = 0  # moves whenever a row's slot or own label text changes

    def row(self, slot: int, labels: Labels) -> int:
        key: RowKey = (slot, labels) if self.open else (slot, *[v for _, v in labels])
        found = self.index.get(key)
        if found is not None:
            return found
        if self.free:
            r = self.free.pop()
        else:
            r = len(self.keys)
            self.keys.append(None)
            self.own.append("")
            self.slots.append(slot)
            for fs in self.families:
                fs.row_values.append(0.0)
                fs.row_on.append(0)
        self.index[key] = r
        self.keys[r] = key
        self.slots[r] = slot
        self.epoch += 1
        if self.open:
            self.names[tuple(k for k, _ in labels)] += 1
            if not {k for k, _ in labels} <= set(self.union):
                self.check_union()  # texts of every row are rebuilt, this one's too
                return r
        self.own[r] = self._own(labels)
        return r

    def _own(self, labels: Labels) -> str:
        if not self.open:
            return "".join([f',{k}="{escape(v)}"' for k, v in labels])
        have = dict(labels)
        return "".join([f',{k}="{escape(have.get(k, ""))}"' for k in self.union])

    def check_union(self) -> None:
        """Open tables: the label names of the rows now; texts rebuilt if they changed."""
        union = tuple(sorted({k for names in self.names for k in names}))
        if union == self.union:
            return
        self.union = union
        self.epoch += 1
        for r, key in enumerate(self.keys):
            if key is not None:
                self.own[r] = self._own(key[1])  # type: ignore[arg-type]

    def release(self, r: int) -> None:
        key = self.keys[r]
        assert key is not None
        del self.index[key]
        if self.open:
            names = tuple(k for k, _ in key[1])  # type: ignore[attr-defined]
            self.names[names] -= 1
            if not self.names[names]:
                del self.names[names]
        self.keys[r] = None
        self.own[r] = ""
        self.epoch += 1
        for fs in self.families:
            fs.row_on[r] = 0
        self.free.append(r)


class _Shape:
    """What a sampling with labelled samples looks like: per sample its family, label count and
    value column; the labelled samples' positions and their tables' row keys."""

    __slots__ = ("arity", "columns", "families", "keys", "positions")

    def __init__(
        self,
        families: tuple[Family, ...],
        arity: tuple[int, ...],
        positions: tuple[int, ...],
        columns: tuple[array[float], ...],
        keys: tuple[list[RowKey | None], ...],
    ) -> None:
        self.families, self.arity, self.positions = families, arity, positions
        self.columns, self.keys = columns, keys


# A families tuple of a plugin's state_values and their value columns, in the same order.
_Flat = tuple[tuple[Family, ...], tuple["array[float]", ...]]


class PluginSeries:
    """One collector's families as columns, refreshed from state by part version."""

    def __init__(self, plugin: AnyPlugin, devices: DeviceTable) -> None:
        self.plugin = plugin
        self.devices = devices
        self.by_name: dict[str, FamilySeries] = {}
        for fam in plugin.families:
            self.by_name[fam.name] = FamilySeries(fam)
        self._declared = len(self.by_name)
        self._tables: dict[tuple[str, ...], RowTable] = {}
        self._plain: list[FamilySeries] = []  # families with per-slot values
        self._parts: list[DevicePart | None] = []
        self._seen: list[object] = []  # each part's verdict when the reader last read it
        self._versions = array("q")
        # Slots whose last sampling had labelled samples (an SNMP device's interfaces), all in
        # closed tables: its shape and, per sample, the index its value went to (slot or row).
        self._again: dict[int, tuple[_Shape, array[int]]] = {}
        self._shapes: dict[tuple[object, ...], _Shape] = {}
        # A plugin that gives its unlabelled STATE samples as (families, values): per slot the
        # families of its last sampling with their value columns (presence bytes stand while
        # the families are the same), shared per families tuple (by identity).
        self._values_of = getattr(plugin, "state_values", None)
        self._flat_at: list[_Flat | None] = []
        self._flat: dict[int, _Flat] = {}
        devices.watchers.append(self)
        devices.tracked.add(plugin.name)
        self.grow(len(devices))

    # -- slots ---------------------------------------------------------------------------

    def grow(self, size: int) -> None:
        more = size - len(self._parts)
        if more <= 0:
            return
        self._parts.extend([None] * more)
        self._seen.extend([_UNSEEN] * more)
        self._flat_at.extend([None] * more)
        self._versions.extend(array("q", [-1]) * more)
        for fs in self._plain:
            assert fs.values is not None and fs.on is not None
            fs.values.extend(array("d", [0.0]) * more)
            fs.on.extend(bytes(more))

    def forget(self, slot: int) -> None:
        """Drop a removed device's series."""
        for fs in self._plain:
            assert fs.on is not None
            fs.on[slot] = 0
        for table in self._tables.values():
            for r in table.rows_of.pop(slot, ()):
                table.release(r)
        if slot < len(self._parts):
            self._parts[slot] = None
            self._seen[slot] = _UNSEEN
            self._flat_at[slot] = None
            self._versions[slot] = -1
        self._again.pop(slot, None)

    # -- refresh -------------------------------------------------------------------------

    def refresh(self, per_slice: int = 500) -> Iterator[None]:
        """Sample again every device whose part changed; yields every per_slice samplings."""
        return refresh_all([self], self.devices, per_slice)

    def _sample(self, slot: int, device: Device, part: DevicePart) -> None:
        if self._values_of is not None:  # (refresh_all has this inline)
            families, values = self._values_of(device, part)
            flat = self._flat_at[slot]
            total = sum(values)
            if flat is not None and flat[0] is families and total - total == 0.0:
                any(map(setitem, flat[1], repeat(slot), values))
            else:
                self._sample_flat(slot, families, values)
            return
        found = self.plugin.samples_of(device, part, View.STATE)
        samples = found if isinstance(found, list) else list(found)
        again = self._again.pop(slot, None)
        if again is not None and self._same_rows(again, samples, slot):
            return
        self._sample_all(slot, samples)

    def _sample_flat(
        self, slot: int, families: tuple[Family, ...], values: tuple[float, ...]
    ) -> None:
        """A sampling given as (families, values) stored as samples: presence bytes and finite
        flags set. The next one with the same families and every value finite (no NaN or
        infinity, nor an overflowing sum) stores only its values, in one C-level pass."""
        self._again.pop(slot, None)
        self._sample_all(slot, list(zip(families, values, repeat(()), repeat(None))))
        flat = self._flat.get(id(families))
        if flat is None or flat[0] is not families:  # (the entry holds its tuple: no id reused)
            columns = tuple([self.by_name[fam.name].values for fam in families])
            flat = self._flat[id(families)] = (families, columns)  # type: ignore[assignment]
        self._flat_at[slot] = flat

    def _same_rows(
        self, again: tuple[_Shape, array[int]], samples: list[Sample], slot: int
    ) -> bool:
        """Store samples' values if they have the families, label counts and label values of the
        slot's last sampling (so its rows), every value finite: presence, rows, flags stand."""
        shape, at = again
        if not samples:
            return False
        families, values, labels, _ = zip(*samples, strict=True)
        if families != shape.families or tuple(map(len, labels)) != shape.arity:
            return False
        total = sum(values)
        if total - total != 0.0:  # NaN or infinity somewhere (or an overflowing sum)
            return False
        rows = map(at.__getitem__, shape.positions)
        had = tuple(chain.from_iterable(map(_tail, map(getitem, shape.keys, rows))))  # type: ignore[arg-type]
        has = tuple(map(_value, chain.from_iterable(map(labels.__getitem__, shape.positions))))
        if had != has:  # a closed table's row is its slot and label values (names: the first's)
            return False
        any(map(setitem, shape.columns, at, values))
        self._again[slot] = again
        return True

    def _sample_all(self, slot: int, samples: list[Sample]) -> None:
        for fs in self._plain:
            fs.on[slot] = 0  # type: ignore[index]
        old: dict[RowTable, list[int]] = {}
        for table in self._tables.values():
            rows = table.rows_of.pop(slot, None)
            if rows is not None:
                old[table] = rows
                for fs in table.families:
                    for r in rows:
                        fs.row_on[r] = 0
        new: dict[RowTable, dict[int, None]] = {}
        by_name = self.by_name
        placed: list[int] = []  # each labelled sample's row, in order
        closed = True
        for fam, value, labels, _time in samples:
            found = by_name.get(fam.name)
            fs = found if found is not None else by_name.setdefault(fam.name, FamilySeries(fam))
            if value - value != 0.0:  # NaN or an infinity (0.0 for every finite value)
                fs.finite = False
            if not labels:
                if fs.on is None:
                    self._plain_values(fs)
                fs.values[slot] = value  # type: ignore[index]
                fs.on[slot] = 1  # type: ignore[index]
                continue
            table = fs.table or self._table(fs)
            r = table.row(slot, labels)
            placed.append(r)
            closed = closed and not table.open
            fs.row_values[r] = value
            fs.row_on[r] = 1
            used = new.get(table)
            if used is None:
                used = new[table] = {}
            used[r] = None
        for table, used in new.items():
            table.rows_of[slot] = list(used)
        for table, gone in old.items():
            kept = new.get(table, {})
            for r in gone:
                if r not in kept:
                    table.release(r)
        if new and closed:  # where each value went: the slot, or its row
            row = iter(placed)
            at = array("i", [next(row) if labels else slot for _, _, labels, _ in samples])
            self._again[slot] = (self._shape(samples), at)

    def _shape(self, samples: list[Sample]) -> _Shape:
        """The shape of a sampling (its families, label counts, columns), shared by slots."""
        families = tuple([fam for fam, _, _, _ in samples])
        arity = tuple([len(labels) for _, _, labels, _ in samples])
        key = (tuple(map(id, families)), arity)  # the shape holds its families: no id reused
        shape = self._shapes.get(key)
        if shape is None:
            series = [self.by_name[fam.name] for fam in families]
            positions = tuple([i for i, n in enumerate(arity) if n])
            columns: list[array[float]] = [
                fs.row_values if n else fs.values  # type: ignore[misc]  # plain: values set
                for fs, n in zip(series, arity, strict=True)
            ]
            keys = [series[i].table.keys for i in positions]  # type: ignore[union-attr]
            shape = self._shapes[key] = _Shape(
                families,
                arity,
                positions,
                tuple(columns),
                tuple(keys),
            )
        return shape

    def _plain_values(self, fs: FamilySeries) -> None:
        size = len(self._parts)
        fs.values = array("d", [0.0]) * size
        fs.on = bytearray(size)
        self._plain.append(fs)

    def _table(self, fs: FamilySeries) -> RowTable:
        fam = fs.family
        if fam.open_labels:
            table = self._tables[("\x00open", fam.name)] = RowTable(open_labels=True)
        else:
            found = self._tables.get(fam.labels)
            table = found if found is not None else RowTable(open_labels=False)
            self._tables[fam.labels] = table
        table.families.append(fs)
        fs.table = table
        size = len(table.keys)
        fs.row_values = array("d", [0.0]) * size
        fs.row_on = bytearray(size)
        return table

    # -- text ----------------------------------------------------------------------------

    def families(self) -> list[FamilySeries]:
        """Declared families in order, then those met in samples only, by name."""
        series = list(self.by_name.values())
        return series[: self._declared] + sorted(series[self._declared :], key=_name)

    def text(self, reuse: bool = False) -> Iterator[TextFamily]:
        """Every family as text; a family met only in samples is left out once it is empty.

        reuse: the chunks are `Kept` slices (a gzip scrape), not text.
        """
        for i, fs in enumerate(self.families()):
            if i >= self._declared and not fs.present():
                continue
            if fs.table is not None and fs.table.open:
                fs.table.check_union()
            chunks = self._kept(fs) if reuse else self._chunks(fs)
            yield TextFamily(fs.family.name, fs.kind(), fs.family.help, chunks)  # type: ignore[arg-type]

    def _kept(self, fs: FamilySeries) -> Iterator[str | Kept]:
        """The slices of _chunks, each kept while its key holds (label and row epochs, finite
        flag, digest of values and presence); one that changed since the last scrape is plain
        text, its key noted (an RTT changes every poll), and kept once found unchanged, or
        at once if the scrape before found it unchanged (it changes at every other scrape)."""
        labels = self.devices.labels
        epoch = self.devices.epoch
        if fs.on is not None and fs.values is not None:
            values, on = memoryview(fs.values), memoryview(fs.on)
            for a in range(0, len(fs.on), CHUNK):
                b = a + CHUNK
                key: tuple[object, ...] = (epoch, fs.finite, digest(values[a:b], on[a:b]))
                yield self._slice(fs, (False, a), key, fs.values[a:b], fs.on[a:b],
                                  partial(lines, labels=labels[a:b]))  # fmt: skip
        table = fs.table
        if table is not None:
            values, on = memoryview(fs.row_values), memoryview(fs.row_on)
            for a in range(0, len(fs.row_on), CHUNK):
                b = a + CHUNK
                key = (epoch, table.epoch, fs.finite, digest(values[a:b], on[a:b]))
                write = partial(row_lines, devices=labels, slots=table.slots[a:b],
                                own=table.own[a:b])  # fmt: skip
                yield self._slice(fs, (True, a), key, fs.row_values[a:b], fs.row_on[a:b], write)

    @staticmethod
    def _slice(
        fs: FamilySeries,
        at: tuple[bool, int],
        key: tuple[object, ...],
        values: array[float],
        on: bytearray,
        write: Callable[..., str],
    ) -> str | Kept:
        old = fs.kept.get(at)
        same = old is not None and old.key == key
        if old is not None and same and old.deflated is not None:
            old.calm = True
            return old
        text = write(head=fs.family.series + "{", values=values, on=on, finite=fs.finite)
        # Kept: new, unchanged since it was noted, or changed after a scrape that found it
        # unchanged (the echo stream closes every device's round together: with 30 s rounds
        # and 15 s scrapes, every other scrape finds the RTT slices as the one before left them).
        if old is None or same or old.calm:
            new = fs.kept[at] = Kept(key, text.encode(), calm=same)
            return new
        fs.kept[at] = Kept(key, None)  # changed at two scrapes in a row: noted, not kept
        return text

    def _chunks(self, fs: FamilySeries) -> Iterator[str]:
        head = fs.family.series + "{"
        labels = self.devices.labels
        if fs.on is not None and fs.values is not None:
            for a in range(0, len(fs.on), CHUNK):
                b = a + CHUNK
                yield lines(head, labels[a:b], fs.values[a:b], fs.on[a:b], fs.finite)
        table = fs.table
        if table is not None:
            for a in range(0, len(fs.row_on), CHUNK):
                b = a + CHUNK
                yield row_lines(head, labels, table.slots[a:b], table.own[a:b],
                                fs.row_values[a:b], fs.row_on[a:b], fs.finite)  # fmt: skip


def _name(fs: FamilySeries) -> str:
    return fs.family.name


def refresh_all(
    series: Iterable[PluginSeries], devices: DeviceTable, per_slice: int = 500
) -> Iterator[None]:
    """Every series' columns from state, in one pass over the devices: each device's parts
    against the series of their collectors, so a collector with no part costs nothing (a pass
    per series looked every collector up in every device: ~20 ms a scrape at 50,000 devices).
    A part never leaves a device's parts, and a slot whose device state is another is
    forgotten first (DeviceTable.sync). Yields every per_slice samplings and every SCAN devices
    looked at (between devices: a pass over 50,000 unchanged ones is ~20 ms); flags in
    devices.changed the slots it samples whose part's verdict is not the one the reader saw."""
    by_name: dict[str, list[PluginSeries]] = {}
    for s in series:
        by_name.setdefault(s.plugin.name, []).append(s)
    changed = devices.changed
    done, turn, scan_at = 0, per_slice, SCAN
    for slot, ds in enumerate(devices.states):
        if ds is None:
            continue
        for name, part in ds.parts.items():
            for s in by_name.get(name, ()):
                if part is s._parts[slot] and part.version == s._versions[slot]:
                    continue
                if part.verdict(ds.device) is not s._seen[slot]:
                    changed[slot] = 1  # the reader reads this device again
                values_of = s._values_of
                if values_of is None:
                    s._sample(slot, ds.device, part)
                else:  # s._sample inline: after a round, every ICMP device comes here
                    families, values = values_of(ds.device, part)
                    flat = s._flat_at[slot]
                    total = sum(values)
                    if flat is not None and flat[0] is families and total - total == 0.0:
                        any(map(setitem, flat[1], repeat(slot), values))
                    else:
                        s._sample_flat(slot, families, values)
                s._parts[slot], s._versions[slot] = part, part.version
                done += 1
        if done >= turn or slot >= scan_at:  # not inside the loop over parts: a new part
            turn, scan_at = done + per_slice, slot + SCAN  # may come meanwhile
            yield
