"""Districts → villages → devices, each checked where it is written (regions.py: above them)."""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from netwatch.config.builder import _INVALID, build, convert, unknown_keys
from netwatch.config.errors import Issues
from netwatch.config.nodes import Loc, node_line, type_name
from netwatch.config.values import check_address, check_name
from netwatch.core.model import (
    Contact,
    Device,
    District,
    OnuLink,
    PortLink,
    Source,
    Village,
    VillageKind,
)
from netwatch.core.services import ServiceProbe

REGENCY_CODE = re.compile(r"\d{2}\.\d{2}")
DISTRICT_CODE = re.compile(r"\d{2}\.\d{2}\.\d{2}")
# 1xxx kelurahan, 2xxx desa, 3xxx desa adat (14 in Papua, 91.xx.xx.3xxx): a desa too.
VILLAGE_CODE = re.compile(r"\d{2}\.\d{2}\.\d{2}\.[123]\d{3}")
DISTRICT_KEYS = ("code", "name", "shard", "devices", "villages")
VILLAGE_KEYS = (
    "code", "name", "kind", "lat", "lon", "contacts", "devices", "services", "onu", "uplink",
)  # fmt: skip


@dataclass(slots=True)
class Placed:
    """A built item with the mapping it came from, for cross-checks that need lines."""

    item: Any  # the built Province, Regency, District, Village or Device (by the Tree list)
    loc: Loc
    node: Mapping


@dataclass(slots=True)
class Tree:
    provinces: list[Placed] = field(default_factory=list)
    regencies: list[Placed] = field(default_factory=list)
    districts: list[Placed] = field(default_factory=list)
    villages: list[Placed] = field(default_factory=list)
    devices: list[Placed] = field(default_factory=list)
    broken: set[str] = field(default_factory=set)  # names of devices that did not build
    # Each valid device address as written → its canonical form (checked once per device).
    addresses: dict[str, str] = field(default_factory=dict)


def _str(m: Mapping, key: str, loc: Loc, issues: Issues, required: bool = True) -> str | None:
    if key not in m:
        if required:
            issues.at(loc, f"missing required key '{key}'")
        return None
    value = convert(str, m[key], loc.key(m, key), issues)
    if value is _INVALID:
        return None
    if not value.strip():
        where = loc.key(m, key)
        issues.at(where, "must not be empty")
        return None
    return value


def _seq(m: Mapping, key: str, loc: Loc, issues: Issues) -> list:
    value = m.get(key)
    if value is None:
        return []
    if not isinstance(value, list):
        where = loc.key(m, key)
        issues.at(where, f"must be a list, not {type_name(value)}")
        return []
    return value


def shard_pin(m: Mapping, loc: Loc, issues: Issues) -> int | None:
    """An explicit `shard:` (a shard number from 0), or None."""
    if m.get("shard") is None:
        return None
    where = loc.key(m, "shard")
    value = convert(int, m["shard"], where, issues)
    if value is _INVALID:
        return None
    if value < 0:
        issues.at(where, f"shard {value} must be >= 0 (shards are numbered from 0)")
        return None
    return value


def _mapping(node: Any, loc: Loc, issues: Issues) -> Loc | None:
    if not isinstance(node, Mapping):
        issues.at(loc, f"must be a mapping, not {type_name(node)}")
        return None
    return Loc(loc.file, node_line(node, loc.line), loc.path)


def parse_districts(
    seq: list, loc: Loc, regency_code: str | None, issues: Issues, tree: Tree
) -> None:
    """Parse a `districts:` list (from the root or an included file) into tree."""
    for i, node in enumerate(seq):
        dloc = _mapping(node, loc.item(seq, i), issues)
        if dloc is not None:
            _district(node, dloc, regency_code, issues, tree)


def _district(m: Mapping, loc: Loc, regency_code: str | None, issues: Issues, tree: Tree) -> None:
    unknown_keys(m, DISTRICT_KEYS, loc, issues)
    code = _str(m, "code", loc, issues)
    name = _str(m, "name", loc, issues)
    if code is not None:
        where = loc.key(m, "code")
        if not DISTRICT_CODE.fullmatch(code):
            issues.at(where, f"{code!r} is not a district code NN.NN.NN")
            code = None
        elif regency_code and not code.startswith(regency_code + "."):
            issues.at(
                where,
                f"district code {code!r} does not start with the regency code {regency_code!r}",
            )
    dev_names = []
    for j, dnode in enumerate(_seq(m, "devices", loc, issues)):
        dev = _device(dnode, loc.key(m, "devices").item(m["devices"], j), code, None, issues, tree)
        if dev is not None:
            dev_names.append(dev.name)
    village_codes = []
    vseq = _seq(m, "villages", loc, issues)
    for j, vnode in enumerate(vseq):
        vloc = _mapping(vnode, loc.key(m, "villages").item(vseq, j), issues)
        if vloc is not None:
            village = _village(vnode, vloc, code, issues, tree)
            if village is not None:
                village_codes.append(village.code)
    shard = shard_pin(m, loc, issues)
    if code is not None and name is not None:
        district = District(
            code, name, tuple(village_codes), tuple(dev_names), Source(loc.file, loc.line), shard
        )
        tree.districts.append(Placed(district, loc, m))


def _village(
    m: Mapping, loc: Loc, district: str | None, issues: Issues, tree: Tree
) -> Village | None:
    unknown_keys(m, VILLAGE_KEYS, loc, issues)
    code = _str(m, "code", loc, issues)
    name = _str(m, "name", loc, issues)
    kind: VillageKind | None = None
    if code is not None:
        where = loc.key(m, "code")
        if not VILLAGE_CODE.fullmatch(code):
            issues.at(
                where,
                f"{code!r} is not a village code NN.NN.NN.NNNN "
                "(1xxx kelurahan, 2xxx desa, 3xxx desa adat)",
            )
            code = None
        else:
            kind = VillageKind.KELURAHAN if code[9] == "1" else VillageKind.DESA
            if district and not code.startswith(district + "."):
                issues.at(
                    where,
                    f"village code {code!r} does not start with its district code {district!r}",
                )
    if "kind" in m:
        where = loc.key(m, "kind")
        given = convert(VillageKind, m["kind"], where, issues)
        if given is not _INVALID and code is not None and kind is not None and given is not kind:
            number = "1xxx" if kind is VillageKind.KELURAHAN else code[9] + "xxx"
            issues.at(
                where,
                f"kind {given.value!r} does not match code {code!r} ({number} is {kind.value})",
            )
    lat = _coordinate(m, "lat", 90.0, loc, issues)
    lon = _coordinate(m, "lon", 180.0, loc, issues)
    contacts = ()
    if "contacts" in m:
        got = convert(tuple[Contact, ...], m["contacts"], loc.key(m, "contacts"), issues)
        contacts = () if got is _INVALID else got
    services: tuple[ServiceProbe, ...] = ()
    if "services" in m:
        got = convert(tuple[ServiceProbe, ...], m["services"], loc.key(m, "services"), issues)
        services = () if got is _INVALID else got
    onu: OnuLink | None = None
    if m.get("onu") is not None:
        got = convert(OnuLink, m["onu"], loc.key(m, "onu"), issues)
        onu = None if got is _INVALID else got
    uplink: PortLink | None = None
    if m.get("uplink") is not None:
        got = convert(PortLink, m["uplink"], loc.key(m, "uplink"), issues)
        uplink = None if got is _INVALID else got
    dev_names = []
    dseq = _seq(m, "devices", loc, issues)
    for j, dnode in enumerate(dseq):
        dev = _device(dnode, loc.key(m, "devices").item(dseq, j), district, code, issues, tree)
        if dev is not None:
            dev_names.append(dev.name)
    if services and not dseq:
        issues.at(loc.key(m, "services"), "a village's services are probed with one of its "
                  "devices: add its router under devices")  # fmt: skip
    if code is None or name is None or kind is None:
        return None
    village = Village(
        code,
        name,
        kind,
        district or code[:8],
        lat,
        lon,
        contacts,
        tuple(dev_names),
        Source(loc.file, loc.line),
        services,
        onu,
        uplink,
    )
    tree.villages.append(Placed(village, loc, m))
    return village


def _coordinate(m: Mapping, key: str, limit: float, loc: Loc, issues: Issues) -> float | None:
    if key not in m or m[key] is None:
        return None
    where = loc.key(m, key)
    value = m[key]
    if isinstance(value, bool) or not isinstance(value, int | float):
        issues.at(where, f"must be a number, not {type_name(value)}")
        return None
    if not -limit <= value <= limit:
        issues.at(where, f"{value} is out of range (-{limit:g}..{limit:g})")
        return None
    return float(value)


def _device(
    node: Any, loc: Loc, district: str | None, village: str | None, issues: Issues, tree: Tree
) -> Device | None:
    mloc = _mapping(node, loc, issues)
    if mloc is None:
        return None
    before = len(issues.items)
    name, address = node.get("name"), node.get("address")
    if isinstance(name, str):
        try:
            check_name(name)
        except ValueError as exc:
            issues.at(mloc.key(node, "name"), str(exc))
    if isinstance(address, str):
        try:
            # Its canonical form, for the duplicate check across the tree (checks.py).
            tree.addresses[address] = check_address(address)
        except ValueError as exc:
            issues.at(mloc.key(node, "address"), str(exc))
    for key in ("parent", "snmp", "profile"):
        if isinstance(node.get(key), str) and not node[key].strip():
            where = mloc.key(node, key)
            issues.at(where, "must not be empty")
    fixed = {"district": district or "", "village": village, "source": Source(mloc.file, mloc.line)}
    device = build(Device, node, mloc, issues, fixed=fixed)
    if device is None:
        if isinstance(node.get("name"), str):
            tree.broken.add(node["name"])
        return None
    # A device with a bad name or address still takes part in the cross-checks: its
    # other problems (say, an unknown parent) are reported in the same run.
    tree.devices.append(Placed(device, mloc, node))
    return device if len(issues.items) == before else None
