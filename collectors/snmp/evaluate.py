"""Evaluate a profile stack over polled values into an SnmpObservation (no I/O here).

A little over 400 lines: index decoding, filters, lookups and the typed fields (interfaces,
Wi-Fi, optical, system) are one pass over the same polled rows, read together."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence

from netwatch.collectors.snmp import normalize
from netwatch.collectors.snmp.normalize import ConversionError, as_text
from netwatch.collectors.snmp.observation import SnmpInterface, SnmpObservation, SnmpSample
from netwatch.collectors.snmp.profiles import (
    Column,
    Filter,
    IndexPart,
    Profile,
    Scalar,
    Table,
)
from netwatch.collectors.snmp.types import OID, Kind, Value, format_oid

Labels = dict[str, str]
Lookups = dict[str, dict[tuple[int, ...], str]]
# ifSpeed saturates at 2^32-1 for links ≥ 4.29 Gb/s; ifHighSpeed then has the real figure.
_IF_SPEED_MAX = 4294967295


def column_oid(table: Table, col: int) -> OID:
    return (*table.oid, col)


# Per table (by identity): its walked columns as (column, column OID, OID length), worked out
# once rather than at every poll. Tables live as long as their profile set; a reload makes new
# ones, and the cache is emptied when it grows past what any set of profiles holds.
_WALKED: dict[int, tuple[Table, tuple[tuple[int, OID, int], ...]]] = {}
_WALKED_MAX = 10_000
_FIRST_EXCEPTION = Kind.NO_SUCH_OBJECT  # kinds from here on are exceptions, not values


def walked_columns(table: Table) -> tuple[tuple[int, OID, int], ...]:
    """(column, column OID, its length) of each column the table walks, in column order."""
    cached = _WALKED.get(id(table))
    if cached is not None and cached[0] is table:
        return cached[1]
    cols = tuple(
        (col, oid, len(oid)) for col in table.walked_columns() for oid in [column_oid(table, col)]
    )
    if len(_WALKED) >= _WALKED_MAX:
        _WALKED.clear()
    _WALKED[id(table)] = (table, cols)
    return cols


def rows_of(
    table: Table, walked: Mapping[OID, Sequence[tuple[OID, Value]]]
) -> dict[OID, dict[int, Value]]:
    """Pivot the column walks of one table into {index: {col: value}}."""
    rows: dict[OID, dict[int, Value]] = defaultdict(dict)
    first_exception = _FIRST_EXCEPTION
    for col, root, n in walked_columns(table):
        for oid, value in walked.get(root, ()):
            if value.kind >= first_exception or oid[:n] != root:
                continue
            rows[oid[n:]][col] = value
    return rows


def split_index(
    parts: Sequence[IndexPart], index: OID
) -> list[tuple[IndexPart, tuple[int, ...], str]] | None:
    """Cut an index into (part, lookup key, formatted text); None if it does not fit."""
    split = _split(parts, index)
    if split is None:
        return None
    out = []
    pos = 0
    for part, sub, text in split:
        pos += len(sub)
        out.append((part, index[:pos] if part.lookup_by == "prefix" else sub, text))
    return out


def _split(
    parts: Sequence[IndexPart], index: OID
) -> list[tuple[IndexPart, tuple[int, ...], str]] | None:
    out = []
    pos = 0
    for part in parts:
        if part.format == "rest":
            sub = index[pos:]
            pos = len(index)
            out.append((part, sub, format_oid(sub)))
            continue
        if part.format == "string":
            if pos >= len(index):
                return None
            n = index[pos]
            sub = index[pos + 1 : pos + 1 + n]
            if len(sub) != n:
                return None
            out.append((part, index[pos : pos + 1 + n], normalize.format_ascii(sub)))
            pos += 1 + n
            continue
        if part.format == "prefixed_mac":
            sub = index[pos : pos + 7]
            if len(sub) != 7 or sub[0] != 6:
                return None
            out.append((part, sub, normalize.format_mac(sub[1:])))
            pos += 7
            continue
        n = 6 if part.format == "mac" else (1 if part.format == "int" else part.length)
        sub = index[pos : pos + n]
        if len(sub) != n:
            return None
        pos += n
        if part.format == "mac":
            text = normalize.format_mac(sub)
        elif part.format == "fixed_string":
            text = normalize.format_ascii(sub)
        else:
            text = format_oid(sub)
        out.append((part, sub, text))
    if pos != len(index):
        return None
    return out


def value_text(value: Value) -> str:
    if isinstance(value.value, int):
        return str(value.value)
    return as_text(value)


def _passes(filters: Iterable[Filter], row: Mapping[int, Value], labels: Labels) -> bool:
    for f in filters:
        if f.column is not None:
            value = row.get(f.column)
            text = value_text(value) if value is not None else None
        else:
            text = labels.get(f.label or "")
        if text is None:
            return False
        if f.equals and text not in f.equals:
            return False
        if f.regex is not None and not f.regex.search(text):
            return False
    return True


def column_text(col: Column, value: Value) -> str:
    """Text of a label or info column: its map first, else its transform."""
    if col.map:
        mapped = dict(col.map).get(value_text(value), col.map_default)
        if mapped is not None:
            return mapped
    return normalize.label_text(value, col.transform)


def _number(value: Value | None) -> int | None:
    return value.value if value is not None and isinstance(value.value, int) else None


class Evaluator:
    """Turns one poll's raw values into typed observation fields for one profile stack."""

    def __init__(self, stack: Sequence[Profile], obs: SnmpObservation) -> None:
        self.stack = stack
        self.obs = obs
        self.lookups: Lookups = {}
        self._rows: dict[int, dict[OID, dict[int, Value]]] = {}  # pivots of this poll, by table
        self._cpu: list[float] = []
        self._mem_used: list[float] = []
        self._mem_total: list[float] = []

    def _rows_of(
        self, table: Table, walked: Mapping[OID, Sequence[tuple[OID, Value]]]
    ) -> dict[OID, dict[int, Value]]:
        """rows_of, once per table and poll (lookups and samples both read a table's rows)."""
        rows = self._rows.get(id(table))
        if rows is None:
            rows = self._rows[id(table)] = rows_of(table, walked)
        return rows

    # -- interfaces ---------------------------------------------------------------------

    def interfaces(self, walked: Mapping[OID, Sequence[tuple[OID, Value]]]) -> None:
        fields: dict[int, dict[str, Value]] = defaultdict(dict)
        for prof in self.stack:
            for table in prof.walk:
                if table.kind != "interfaces":
                    continue
                names = {c.col: c.name for c in table.columns}
                for index, row in self._rows_of(table, walked).items():
                    if len(index) != 1:
                        continue
                    for col, value in row.items():
                        if col in names:
                            fields[index[0]][names[col]] = value
        radio_types: set[int] = set()
        radio_regexes = []
        for prof in self.stack:
            if prof.radio:
                radio_types.update(prof.radio.if_types)
                if prof.radio.name_regex is not None:
                    radio_regexes.append(prof.radio.name_regex)
        for ifindex in sorted(fields):
            f = fields[ifindex]
            iface = SnmpInterface(index=ifindex)
            iface.descr = as_text(f["descr"]) if "descr" in f else ""
            iface.name = as_text(f["name"]) if "name" in f else ""
            iface.alias = as_text(f["alias"]) if "alias" in f else ""
            if not iface.name:
                iface.name = iface.descr or str(ifindex)
            iface.if_type = _number(f.get("if_type"))
            iface.admin_status = _number(f.get("admin_status"))
            iface.oper_status = _number(f.get("oper_status"))
            high = _number(f.get("high_speed"))
            speed = _number(f.get("speed"))
            if high:
                iface.speed_bps = high * 1_000_000.0
            elif speed is not None and (speed < _IF_SPEED_MAX or high is None):
                iface.speed_bps = float(speed)
            elif high == 0:
                iface.speed_bps = 0.0
            hc_in, hc_out = _number(f.get("hc_in_octets")), _number(f.get("hc_out_octets"))
            if hc_in is not None or hc_out is not None:
                iface.in_octets, iface.out_octets, iface.counter_bits = hc_in, hc_out, 64
            else:
                iface.in_octets = _number(f.get("in_octets"))
                iface.out_octets = _number(f.get("out_octets"))
                iface.counter_bits = 32
            iface.in_errors = _number(f.get("in_errors"))
            iface.out_errors = _number(f.get("out_errors"))
            iface.in_discards = _number(f.get("in_discards"))
            iface.out_discards = _number(f.get("out_discards"))
            iface.radio = (iface.if_type in radio_types) or any(
                r.search(iface.name) or r.search(iface.descr) for r in radio_regexes
            )
            self.obs.interfaces.append(iface)
        self.lookups["ifName"] = {(i.index,): i.name for i in self.obs.interfaces}
        self.lookups["ifAlias"] = {(i.index,): i.alias for i in self.obs.interfaces if i.alias}
        self.lookups["ifDescr"] = {(i.index,): i.descr for i in self.obs.interfaces if i.descr}

    # -- lookups and samples ------------------------------------------------------------

    def _labels(self, table: Table, index: OID, row: Mapping[int, Value]) -> Labels | None:
        """Labels of one row; None when the index does not fit or a part's regex fails."""
        split = split_index(table.index, index)
        if split is None:
            return None
        labels: Labels = {}
        for part, sub, text in split:
            if part.transform is not None:
                text = normalize.INDEX_TRANSFORMS[part.transform](text)
            if part.lookup is not None:
                text = self.lookups.get(part.lookup, {}).get(sub) or text
            if part.regex is not None:
                found = part.regex.search(text)
                if found is None:
                    return None
                if part.regex.groupindex:  # each named group is a label
                    labels.update({k: v for k, v in found.groupdict().items() if v is not None})
                else:
                    text = found.group(1) if found.groups() else found.group(0)
            for label, lookup in part.lookups:
                found_text = self.lookups.get(lookup, {}).get(sub)
                if found_text:
                    labels[label] = found_text
            if part.label is not None:
                labels[part.label] = text
        for column in table.columns:
            if column.type == "label" and column.col in row:
                labels[column.name] = column_text(column, row[column.col])
        return labels

    def build_lookups(self, walked: Mapping[OID, Sequence[tuple[OID, Value]]]) -> None:
        for prof in self.stack:
            for table in prof.walk:
                if table.id is None or table.kind != "samples":
                    continue
                label_cols = [c for c in table.columns if c.type == "label"]
                for index, row in self._rows_of(table, walked).items():
                    for c in label_cols:
                        if c.col in row:
                            key = f"{table.id}.{c.name}"
                            self.lookups.setdefault(key, {})[index] = column_text(c, row[c.col])

    def tables(self, walked: Mapping[OID, Sequence[tuple[OID, Value]]]) -> None:
        for prof in self.stack:
            for table in prof.walk:
                if table.kind != "samples":
                    continue
                self._table(table, self._rows_of(table, walked))

    def _table(self, table: Table, rows: Mapping[OID, Mapping[int, Value]]) -> None:
        metric_cols = [c for c in table.columns if c.type in ("gauge", "counter", "info")]
        if not metric_cols:
            return
        # Aggregates are kept per column: two columns may share a metric name (per SSID and
        # per band sums of one client column) and must not pool their rows.
        groups: dict[tuple[int, tuple[tuple[str, str], ...]], list[float]] = defaultdict(list)
        # Filters on a column are tried before the row's labels are made (a row they drop
        # needs none); filters on a label after.
        by_column = [f for f in table.filters if f.column is not None]
        by_label = [f for f in table.filters if f.column is None]
        for index, row in rows.items():
            if by_column and not _passes(by_column, row, {}):
                continue
            labels = self._labels(table, index, row)
            if labels is None or (by_label and not _passes(by_label, row, labels)):
                continue
            for n, col in enumerate(metric_cols):
                value = row.get(col.col)
                if value is None:
                    continue
                sample_labels = {**labels, **dict(col.labels)}
                if col.type == "info":
                    number: float | None = 1.0
                    sample_labels[col.name] = column_text(col, value)
                elif col.aggregate == "count":
                    number = 1.0  # counts rows; the value may be text ("Connect")
                else:
                    number = self._value(col, value, row, table.source)
                if number is None:
                    continue
                if col.aggregate and col.by is not None:
                    keep = set(col.by) | {k for k, _ in col.labels}
                    sample_labels = {k: v for k, v in sample_labels.items() if k in keep}
                key = tuple(sorted(sample_labels.items()))
                if col.aggregate:
                    groups[(n, key)].append(number)
                else:
                    self._emit(col, number, key)
        for (n, key), values in groups.items():
            col = metric_cols[n]
            self._emit(col, _aggregate(col.aggregate or "avg", values), key)

    def _value(
        self, col: Column, value: Value, row: Mapping[int, Value], source: str
    ) -> float | None:
        """A mapped state (map/map_default) or the converted number."""
        if col.map:
            mapped = dict(col.map).get(value_text(value), col.map_default)
            if mapped is not None:
                return float(mapped)
        return self._convert(col, value, row, source)

    def _convert(
        self, col: Column | Scalar, value: Value, row: Mapping[int, Value] | None, source: str
    ) -> float | None:
        extra: dict[str, int | None] = {}
        if isinstance(col, Column) and row is not None:
            extra = {
                "scale": _number(row.get(col.scale_column)) if col.scale_column else None,
                "precision": _number(row.get(col.precision_column))
                if col.precision_column
                else None,
            }
        try:
            number = normalize.convert(
                value, col.conversion, col.scale, col.sentinels, extra, col.offset
            )
        except ConversionError as exc:
            self.obs.partial_errors.append(f"decode: {col.name} ({source}): {exc}")
            return None
        if number is not None and isinstance(col, Column) and col.multiply_by and row:
            factor = _number(row.get(col.multiply_by))
            number = None if factor is None else number * factor
        return number

    def _emit(self, col: Column | Scalar, number: float, key: tuple[tuple[str, str], ...]) -> None:
        sample = SnmpSample(col.name, number, key, col.type, col.help)
        if col.name == "wifi_clients":
            self.obs.wifi_clients.append(sample)
        elif col.name in ("optical_rx_dbm", "optical_tx_dbm"):
            self.obs.optical.append(sample)
        elif col.name == "cpu_load_ratio":
            self._cpu.append(number)
        elif col.name == "memory_used_bytes":
            self._mem_used.append(number)
        elif col.name == "memory_total_bytes":
            self._mem_total.append(number)
        else:
            self.obs.samples.append(sample)

    def scalars(self, values: Mapping[OID, Value]) -> None:
        for prof in self.stack:
            for scalar in prof.get:
                if scalar.type == "field":
                    continue
                value = values.get(scalar.oid)
                if value is None or value.is_exception:
                    continue
                number = self._convert(scalar, value, None, prof.source)
                if number is None:
                    continue
                labels = dict(scalar.labels)
                if scalar.type == "info":
                    labels[scalar.name] = as_text(value)
                    number = 1.0
                self._emit(scalar, number, tuple(sorted(labels.items())))

    def finish(self) -> None:
        if self._cpu:
            self.obs.cpu_load_ratio = sum(self._cpu) / len(self._cpu)
        if self._mem_used:
            self.obs.memory_used_bytes = sum(self._mem_used)
        if self._mem_total:
            self.obs.memory_total_bytes = sum(self._mem_total)


def _aggregate(how: str, values: list[float]) -> float:
    if how == "min":
        return min(values)
    if how == "max":
        return max(values)
    if how == "sum":
        return sum(values)
    if how == "count":
        return float(len(values))
    return sum(values) / len(values)


def system_fields(stack: Sequence[Profile]) -> dict[str, OID]:
    """field name → OID of the system scalars (sysUpTime, sysObjectID...)."""
    out: dict[str, OID] = {}
    for prof in stack:
        for scalar in prof.get:
            if scalar.type == "field":
                out[scalar.name] = scalar.oid
    return out


def apply_system(
    obs: SnmpObservation, fields: Mapping[str, OID], values: Mapping[OID, Value]
) -> bool:
    """Fill identity and uptime; False if the agent answered none of them."""
    got = {name: values.get(oid) for name, oid in fields.items()}
    present = {k: v for k, v in got.items() if v is not None and not v.is_exception}
    if not present:
        return False
    if "sys_descr" in present:
        obs.sys_descr = as_text(present["sys_descr"])
    if "sys_name" in present:
        obs.sys_name = as_text(present["sys_name"])
    oid_value = present.get("sys_object_id")
    if oid_value is not None and oid_value.kind == Kind.OBJECT_IDENTIFIER:
        obs.sys_object_id = as_text(oid_value)
    for name, source in (("uptime", "sysUpTime"), ("hr_uptime", "hrSystemUptime")):
        value = present.get(name)
        if value is not None and isinstance(value.value, int):
            obs.uptime_ticks, obs.uptime_source = value.value, source
            break
    return True
