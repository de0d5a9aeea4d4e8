"""Vendor profiles from YAML: each node checked (file:line errors) into profiles.py's records;
a profile set is checked as a whole (extends, lookups) before it is used. Just over 400 lines:
one validator per node of the schema, in the schema's order (docs/snmp-profiles.md)."""

from __future__ import annotations

import contextlib
import dataclasses
import re
from collections.abc import Iterable, Sequence
from importlib import resources
from pathlib import Path
from typing import Any

from ruamel.yaml import YAML
from ruamel.yaml.error import YAMLError

from netwatch.collectors.snmp.normalize import CONVERSIONS, INDEX_TRANSFORMS
from netwatch.collectors.snmp.profiles import (
    Column,
    Filter,
    IndexPart,
    Match,
    Profile,
    ProfileError,
    ProfileSet,
    Radio,
    Scalar,
    Table,
)
from netwatch.collectors.snmp.types import OID, parse_oid

METRIC_TYPES = ("gauge", "counter", "info", "label", "field")
AGGREGATES = ("avg", "min", "max", "sum", "count")
# prefixed_mac: a MAC sent with a length sub-id first (6.a.b.c.d.e.f), as Ruckus controllers do.
INDEX_FORMATS = ("int", "mac", "prefixed_mac", "string", "fixed_string", "rest", "oid")
# Label transforms: MAC bytes as aa:bb:.., Wi-Fi band from a frequency, channel or band text.
LABEL_TRANSFORMS = ("mac", "band_from_mhz", "band_from_channel", "band_from_text", "gpon_serial")
CONFIDENCES = ("high", "medium", "low")
INTERFACE_FIELDS = (
    "descr", "name", "alias", "if_type", "admin_status", "oper_status", "speed",
    "high_speed", "in_octets", "out_octets", "hc_in_octets", "hc_out_octets",
    "in_errors", "out_errors", "in_discards", "out_discards",
)  # fmt: skip
SYSTEM_FIELDS = ("sys_descr", "sys_object_id", "uptime", "sys_name", "hr_uptime")
BUILTIN_LOOKUPS = ("ifName", "ifAlias", "ifDescr")
_NAME = re.compile(r"^[a-z][a-z0-9_]*$")
_PROFILE_NAME = re.compile(r"^[a-z0-9][a-z0-9_.-]*$")


def _line(node: Any) -> int:
    lc = getattr(node, "lc", None)
    return (lc.line + 1) if lc is not None else 0


class _Ctx:
    def __init__(self, path: str) -> None:
        self.path = path

    def err(self, node: Any, msg: str, key: Any = None) -> ProfileError:
        line = _line(node)
        if key is not None and hasattr(node, "lc"):
            with contextlib.suppress(KeyError, TypeError, IndexError):
                line = node.lc.key(key)[0] + 1
        return ProfileError(f"{self.path}:{line}: {msg}")

    def mapping(self, node: Any, what: str, allowed: Iterable[str]) -> dict[str, Any]:
        if not isinstance(node, dict):
            raise self.err(node, f"{what} must be a mapping")
        allowed = set(allowed)
        for key in node:
            if key not in allowed:
                raise self.err(
                    node,
                    f"{what}: unknown key {key!r} (allowed: {', '.join(sorted(allowed))})",
                    key,
                )
        return node

    def oid(self, node: Any, key: str, value: Any) -> OID:
        try:
            oid = parse_oid(str(value))
        except ValueError:
            raise self.err(node, f"{key}: {value!r} is not a numeric OID", key) from None
        if len(oid) < 2:
            raise self.err(node, f"{key}: OID {value!r} is too short", key)
        return oid

    def regex(self, node: Any, key: str, value: Any) -> re.Pattern[str]:
        try:
            return re.compile(str(value))
        except re.error as exc:
            raise self.err(node, f"{key}: bad regex {value!r}: {exc}", key) from None

    def name(self, node: Any, key: str, value: Any) -> str:
        if not isinstance(value, str) or not _NAME.match(value):
            raise self.err(node, f"{key}: {value!r} must match [a-z][a-z0-9_]*", key)
        return value

    def number(self, node: Any, key: str, value: Any) -> float:
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise self.err(node, f"{key}: {value!r} is not a number", key)
        return float(value)

    def labels(self, node: Any, key: str, value: Any) -> tuple[tuple[str, str], ...]:
        if not isinstance(value, dict):
            raise self.err(node, f"{key} must be a mapping of label: value", key)
        return tuple((self.name(value, k, k), str(v)) for k, v in value.items())


_VALUE_KEYS = ("unit", "scale", "offset", "conversion", "sentinels", "labels", "help")


def _value_opts(ctx: _Ctx, node: dict[str, Any]) -> dict[str, Any]:
    opts: dict[str, Any] = {}
    if "unit" in node:
        opts["unit"] = str(node["unit"])
    if "scale" in node:
        opts["scale"] = ctx.number(node, "scale", node["scale"])
    if "offset" in node:
        opts["offset"] = ctx.number(node, "offset", node["offset"])
    if "conversion" in node:
        conv = str(node["conversion"])
        if conv not in CONVERSIONS:
            raise ctx.err(
                node,
                f"conversion {conv!r} unknown (known: {', '.join(sorted(CONVERSIONS))})",
                "conversion",
            )
        opts["conversion"] = conv
    if "sentinels" in node:
        raw = node["sentinels"]
        if not isinstance(raw, list):
            raise ctx.err(node, "sentinels must be a list of numbers", "sentinels")
        opts["sentinels"] = frozenset(ctx.number(node, "sentinels", v) for v in raw)
    if "labels" in node:
        opts["labels"] = ctx.labels(node, "labels", node["labels"])
    if "help" in node:
        opts["help"] = str(node["help"])
    return opts


def _check_type_name(ctx: _Ctx, node: dict[str, Any], allowed: Sequence[str]) -> tuple[str, str]:
    typ = node.get("type", "gauge")
    if typ not in allowed:
        raise ctx.err(node, f"type {typ!r} must be one of {', '.join(allowed)}", "type")
    key = "field" if typ == "field" else ("name" if typ == "label" else "metric")
    if key not in node:
        raise ctx.err(node, f"a {typ} needs {key!r}")
    name = ctx.name(node, key, node[key])
    return typ, name


def _scalar(ctx: _Ctx, node: Any) -> Scalar:
    allowed = ("oid", "type", "metric", "field", *_VALUE_KEYS)
    node = ctx.mapping(node, "get entry", allowed)
    if "oid" not in node:
        raise ctx.err(node, "get entry needs 'oid'")
    typ, name = _check_type_name(ctx, node, ("gauge", "counter", "info", "field"))
    if typ == "field" and name not in SYSTEM_FIELDS:
        raise ctx.err(node, f"field {name!r} unknown (known: {', '.join(SYSTEM_FIELDS)})", "field")
    return Scalar(oid=ctx.oid(node, "oid", node["oid"]), type=typ, name=name,
                  **_value_opts(ctx, node))  # fmt: skip


def _column(ctx: _Ctx, node: Any, kind: str) -> Column:
    allowed = ("col", "type", "metric", "name", "field", "multiply_by", "scale_column",
               "precision_column", "aggregate", "by", "map", "map_default", "transform",
               *_VALUE_KEYS)  # fmt: skip
    node = ctx.mapping(node, "column", allowed)
    if "col" not in node or not isinstance(node["col"], int) or node["col"] < 1:
        raise ctx.err(node, "column needs 'col', a positive integer")
    typ, name = _check_type_name(ctx, node, METRIC_TYPES)
    if typ == "field" and (kind != "interfaces" or name not in INTERFACE_FIELDS):
        raise ctx.err(
            node,
            f"field {name!r}: fields exist only in 'kind: interfaces' tables "
            f"({', '.join(INTERFACE_FIELDS)})",
        )
    extra: dict[str, Any] = {}
    for key in ("multiply_by", "scale_column", "precision_column"):
        if key in node:
            if not isinstance(node[key], int) or node[key] < 1:
                raise ctx.err(node, f"{key} must be a column number", key)
            extra[key] = node[key]
    if "aggregate" in node:
        if node["aggregate"] not in AGGREGATES or typ not in ("gauge", "counter"):
            raise ctx.err(
                node, f"aggregate must be one of {', '.join(AGGREGATES)} on a gauge", "aggregate"
            )
        extra["aggregate"] = node["aggregate"]
    if "by" in node:
        by = node["by"]
        if "aggregate" not in node or not isinstance(by, list):
            raise ctx.err(node, "by is a list of labels and needs an aggregate", "by")
        extra["by"] = tuple(ctx.name(node, "by", b) for b in by)
    if "map" in node:
        raw = node["map"]
        if not isinstance(raw, dict) or not raw:
            raise ctx.err(node, "map must be a mapping of raw value: result", "map")
        if typ in ("gauge", "counter"):
            for v in raw.values():
                ctx.number(raw, "map", v)
        extra["map"] = tuple((str(k), str(v)) for k, v in raw.items())
    if "map_default" in node:
        if typ in ("gauge", "counter"):
            ctx.number(node, "map_default", node["map_default"])
        extra["map_default"] = str(node["map_default"])
    if "transform" in node:
        if typ != "label" or node["transform"] not in LABEL_TRANSFORMS:
            raise ctx.err(
                node,
                f"transform belongs to label columns: one of {', '.join(LABEL_TRANSFORMS)}",
                "transform",
            )
        extra["transform"] = node["transform"]
    col = Column(col=node["col"], type=typ, name=name, **extra, **_value_opts(ctx, node))
    if col.conversion == "cisco_sensor" and col.scale_column is None:
        raise ctx.err(node, "conversion cisco_sensor needs scale_column")
    return col


def _index(ctx: _Ctx, node: Any) -> tuple[IndexPart, ...]:
    if not isinstance(node, list) or not node:
        raise ctx.err(node, "index must be a non-empty list")
    parts = []
    for i, item in enumerate(node):
        item = ctx.mapping(
            item,
            "index part",
            ("format", "length", "label", "lookup", "lookup_by", "regex", "lookups", "transform"),
        )
        fmt = str(item.get("format", "int"))
        if fmt not in INDEX_FORMATS:
            raise ctx.err(item, f"index format {fmt!r} must be one of {', '.join(INDEX_FORMATS)}")
        if fmt == "rest" and i != len(node) - 1:
            raise ctx.err(item, "index format 'rest' must be the last part")
        length = item.get("length", 6 if fmt == "mac" else 1)
        if not isinstance(length, int) or length < 1:
            raise ctx.err(item, "length must be a positive integer", "length")
        label = ctx.name(item, "label", item["label"]) if "label" in item else None
        lookup = str(item["lookup"]) if "lookup" in item else None
        regex = ctx.regex(item, "regex", item["regex"]) if "regex" in item else None
        named = regex is not None and bool(regex.groupindex)
        if lookup is not None and label is None and not named:
            raise ctx.err(item, "a lookup needs a 'label' (or regex named groups) to write into")
        if named and label is not None:
            raise ctx.err(item, "a regex with named groups names the labels: drop 'label'", "label")
        lookup_by = str(item.get("lookup_by", "part"))
        if lookup_by not in ("part", "prefix"):
            raise ctx.err(item, "lookup_by must be part or prefix", "lookup_by")
        transform = str(item["transform"]) if "transform" in item else None
        if transform is not None and transform not in INDEX_TRANSFORMS:
            known = ", ".join(sorted(INDEX_TRANSFORMS))
            msg = f"index transform {transform!r} must be one of {known}"
            raise ctx.err(item, msg, "transform")
        part = IndexPart(format=fmt, length=length, label=label, lookup=lookup, transform=transform)
        extra = ctx.labels(item, "lookups", item["lookups"]) if "lookups" in item else ()
        parts.append(dataclasses.replace(part, lookup_by=lookup_by, regex=regex, lookups=extra))
    return tuple(parts)


def _filter(ctx: _Ctx, node: Any) -> Filter:
    node = ctx.mapping(node, "filter", ("col", "label", "equals", "regex"))
    if ("col" in node) == ("label" in node):
        raise ctx.err(node, "a filter needs exactly one of 'col' or 'label'")
    equals = node.get("equals", [])
    if not isinstance(equals, list):
        equals = [equals]
    regex = ctx.regex(node, "regex", node["regex"]) if "regex" in node else None
    if not equals and regex is None:
        raise ctx.err(node, "a filter needs 'equals' or 'regex'")
    return Filter(
        column=node.get("col"),
        label=node.get("label"),
        equals=tuple(str(e) for e in equals),
        regex=regex,
    )


def _table(ctx: _Ctx, node: Any) -> Table:
    allowed = ("oid", "id", "kind", "index", "columns", "filters", "help")
    node = ctx.mapping(node, "walk entry", allowed)
    if "oid" not in node or "columns" not in node:
        raise ctx.err(node, "walk entry needs 'oid' (the table entry) and 'columns'")
    kind = str(node.get("kind", "samples"))
    if kind not in ("samples", "interfaces"):
        raise ctx.err(node, "kind must be samples or interfaces", "kind")
    cols = node["columns"]
    if not isinstance(cols, list) or not cols:
        raise ctx.err(node, "columns must be a non-empty list", "columns")
    filters = node.get("filters", [])
    if not isinstance(filters, list):
        raise ctx.err(node, "filters must be a list", "filters")
    table = Table(
        oid=ctx.oid(node, "oid", node["oid"]),
        columns=tuple(_column(ctx, c, kind) for c in cols),
        id=ctx.name(node, "id", node["id"]) if "id" in node else None,
        kind=kind,
        index=_index(ctx, node["index"]) if "index" in node else (IndexPart(),),
        filters=tuple(_filter(ctx, f) for f in filters),
        source=f"{ctx.path}:{_line(node)}",
    )
    if kind == "interfaces" and (len(table.index) != 1 or table.index[0].format != "int"):
        raise ctx.err(node, "an interfaces table is indexed by ifIndex (one int)")
    return table


def _match(ctx: _Ctx, node: Any) -> Match:
    m = ctx.mapping(node, "match rule", ("sys_object_id", "sys_descr", "probe"))
    ids = m.get("sys_object_id", [])
    if not isinstance(ids, list):
        ids = [ids]
    return Match(
        sys_object_id=tuple(ctx.oid(m, "sys_object_id", i) for i in ids),
        sys_descr=ctx.regex(m, "sys_descr", m["sys_descr"]) if "sys_descr" in m else None,
        probe=ctx.oid(m, "probe", m["probe"]) if "probe" in m else None,
    )


def parse_profile(text: str, path: str) -> Profile:
    """Parse one profile document; errors name path:line."""
    ctx = _Ctx(path)
    try:
        doc = YAML(typ="rt").load(text)
    except YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        line = mark.line + 1 if mark is not None else 0
        raise ProfileError(f"{path}:{line}: YAML error: {exc}") from None
    allowed = ("name", "description", "extends", "match", "confidence", "radio", "get", "walk")
    doc = ctx.mapping(doc, "profile", allowed)
    name = doc.get("name")
    if not isinstance(name, str) or not _PROFILE_NAME.match(name):
        raise ctx.err(
            doc, "profile needs a 'name' of [a-z0-9_.-]", "name" if "name" in doc else None
        )
    extends = doc.get("extends", [])
    if isinstance(extends, str):
        extends = [extends]
    rules = doc.get("match", [])
    if not isinstance(rules, list):
        rules = [rules]
    match = tuple(_match(ctx, m) for m in rules)
    confidence = str(doc.get("confidence", "medium"))
    if confidence not in CONFIDENCES:
        raise ctx.err(doc, f"confidence must be one of {', '.join(CONFIDENCES)}", "confidence")
    radio = None
    if "radio" in doc:
        r = ctx.mapping(doc["radio"], "radio", ("if_types", "name_regex"))
        radio = Radio(
            if_types=tuple(int(t) for t in r.get("if_types", [])),
            name_regex=ctx.regex(r, "name_regex", r["name_regex"]) if "name_regex" in r else None,
        )
    gets = doc.get("get", [])
    walks = doc.get("walk", [])
    if not isinstance(gets, list) or not isinstance(walks, list):
        raise ctx.err(doc, "'get' and 'walk' must be lists")
    return Profile(
        name=name,
        description=str(doc.get("description", "")),
        extends=tuple(str(e) for e in extends),
        match=match,
        confidence=confidence,
        radio=radio,
        get=tuple(_scalar(ctx, g) for g in gets),
        walk=tuple(_table(ctx, w) for w in walks),
        source=path,
    )


def _check_set(profiles: dict[str, Profile]) -> None:
    pset = ProfileSet(profiles)
    for prof in profiles.values():
        stack = pset.stack(prof.name)  # raises on unknown bases and cycles
        lookups = set(BUILTIN_LOOKUPS)
        for p in stack:
            for t in p.walk:
                if t.id:
                    lookups.update(f"{t.id}.{c.name}" for c in t.columns if c.type == "label")
        for p in stack:
            for t in p.walk:
                for part in t.index:
                    wanted = [part.lookup] if part.lookup else []
                    for name in (*wanted, *(lk for _, lk in part.lookups)):
                        if name in lookups:
                            continue
                        raise ProfileError(
                            f"{t.source}: lookup {name!r} is not defined in the stack of "
                            f"profile {prof.name!r} (known: {', '.join(sorted(lookups))})"
                        )


def load_profiles(dirs: Sequence[Path] | None = None) -> ProfileSet:
    """Load the packaged profiles, then each extra dir's *.yaml (a later name replaces)."""
    profiles: dict[str, Profile] = {}
    sources: list[tuple[str, str]] = []
    packaged = resources.files("netwatch.configs").joinpath("profiles")
    for entry in sorted(packaged.iterdir(), key=lambda e: e.name):
        if entry.name.endswith(".yaml"):
            sources.append((f"profiles/{entry.name}", entry.read_text(encoding="utf-8")))
    for d in dirs or ():
        for file in sorted(Path(d).glob("*.yaml")):
            sources.append((str(file), file.read_text(encoding="utf-8")))
    origin: dict[str, str] = {}
    for path, text in sources:
        prof = parse_profile(text, path)
        if prof.name in origin and not any(str(d) in path for d in dirs or ()):
            raise ProfileError(
                f"{path}: profile {prof.name!r} already defined in {origin[prof.name]}"
            )
        origin[prof.name] = path
        profiles[prof.name] = prof
    _check_set(profiles)
    return ProfileSet(profiles)
