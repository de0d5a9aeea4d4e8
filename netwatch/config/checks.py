"""Checks across the whole inventory: duplicates, parents, parent cycles, credentials."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from typing import Any

from netwatch.config.errors import Issues
from netwatch.config.regency import Placed, Tree
from netwatch.config.values import check_address
from netwatch.core.model import Role
from netwatch.core.services import ServiceProbe


def _duplicates(
    placed: Iterable[Placed], key: Callable[[Any], str], field: str, what: str, issues: Issues
) -> None:
    first: dict[str, Placed] = {}
    for p in placed:
        try:
            k = key(p.item)
        except ValueError:  # already reported as a bad value
            continue
        if k in first:
            where = p.loc.key(p.node, field)
            was = first[k].loc.key(first[k].node, field)
            issues.at(
                where,
                f"duplicate {what} {getattr(p.item, field)!r} (first at {was.file}:{was.line})",
            )
        else:
            first[k] = p


def check_tree(
    tree: Tree, credentials: Iterable[str], issues: Issues, broken_creds: Iterable[str] = ()
) -> None:
    """Record every cross-reference problem of tree in issues.

    broken_creds: credentials written but invalid (already reported; not "unknown").
    """
    broken_creds = set(broken_creds)
    _duplicates(tree.provinces, lambda p: p.code, "code", "province code", issues)
    _duplicates(tree.regencies, lambda r: r.code, "code", "regency code", issues)
    _duplicates(tree.districts, lambda d: d.code, "code", "district code", issues)
    _duplicates(tree.villages, lambda v: v.code, "code", "village code", issues)
    _duplicates(tree.devices, lambda d: d.name, "name", "device name", issues)
    canonical_of = tree.addresses  # canonical forms found while the devices were read

    def canonical(device: Any) -> str:
        found = canonical_of.get(device.address)
        return found if found is not None else check_address(device.address)

    _duplicates(tree.devices, canonical, "address", "address", issues)
    by_name = {p.item.name: p for p in tree.devices}
    creds = set(credentials)
    for p in tree.devices:
        dev = p.item
        if dev.parent is not None and dev.parent not in by_name and dev.parent not in tree.broken:
            where = p.loc.key(p.node, "parent")
            issues.at(where, f"unknown parent device {dev.parent!r}")
        if dev.snmp is not None and dev.snmp not in creds and dev.snmp not in broken_creds:
            where = p.loc.key(p.node, "snmp")
            known = ", ".join(sorted(creds)) or "none defined"
            issues.at(where, f"unknown SNMP credential {dev.snmp!r} ({known})")
    _cycles(tree.devices, by_name, issues)
    _service_names(tree, issues)
    _links(tree, by_name, issues)


def _link_target(
    p: Placed, key: str, field: str, by_name: dict[str, Placed], roles: tuple[Role, ...],
    what: str, tree: Tree, issues: Issues,
) -> None:  # fmt: skip
    """The device a link names exists, is polled over SNMP and has a fitting role."""
    node = p.node.get(key)
    if not isinstance(node, Mapping):
        return
    where = p.loc.key(p.node, key).key(node, field)
    name = node.get(field)
    target = by_name.get(name) if isinstance(name, str) else None
    if target is None:
        if name not in tree.broken:
            issues.at(where, f"unknown {what} device {name!r}")
        return
    dev = target.item
    if dev.snmp is None:
        issues.at(where, f"{what} {dev.name!r} has no `snmp:` credential: nothing would poll it")
    if dev.role not in roles:
        allowed = " or ".join(r.value for r in roles)
        issues.at(where, f"{what} {dev.name!r} has role {dev.role.value}, not {allowed}")


def _links(tree: Tree, by_name: dict[str, Placed], issues: Issues) -> None:
    """Village `onu:`/`uplink:` and AP `controller:` name SNMP-polled devices of the right role;
    no two villages claim one ONU or one port."""
    taken: dict[tuple[str, ...], str] = {}
    for p in tree.villages:
        v = p.item
        if v.onu is not None:
            _link_target(p, "onu", "olt", by_name, (Role.OLT,), "OLT", tree, issues)
            _claim(p, "onu", ("onu", v.onu.olt, v.onu.describe()), taken, issues)
        if v.uplink is not None:
            roles = (Role.ROUTER, Role.SWITCH, Role.OLT, Role.OTHER)
            _link_target(p, "uplink", "device", by_name, roles, "uplink", tree, issues)
            key = ("port", v.uplink.device, v.uplink.interface)
            _claim(p, "uplink", key, taken, issues)
    for p in tree.devices:
        dev = p.item
        if dev.controller is None:
            continue
        if dev.role is not Role.AP:
            where = p.loc.key(p.node, "controller")
            issues.at(where, f"only an AP has a controller (this device is a {dev.role.value})")
        roles = (Role.OTHER, Role.ROUTER, Role.SWITCH, Role.AP)
        _link_target(p, "controller", "device", by_name, roles, "controller", tree, issues)


def _claim(
    p: Placed, key: str, link: tuple[str, ...], taken: dict[tuple[str, ...], str], issues: Issues
) -> None:
    where = p.loc.key(p.node, key)
    first = taken.get(link)
    if first is not None:
        issues.at(where, f"{link[2]} on {link[1]} is already the link of village {first}")
    else:
        taken[link] = p.item.code


def _service_names(tree: Tree, issues: Issues) -> None:
    """Service names are labels: unique per device, a village's counting as its router's."""
    taken: dict[str, dict[str, str]] = {}  # device → service name → where first written
    roles: dict[str, Role] = {}
    for p in tree.devices:
        taken[p.item.name] = _unique(p.item.services, p, {}, issues)
        roles[p.item.name] = p.item.role
    for p in tree.villages:
        village = p.item
        if not village.services:
            continue
        names = [n for n in village.devices if n in roles]
        routers = [n for n in names if roles[n] is Role.ROUTER]
        first = routers or names
        _unique(village.services, p, taken.get(first[0], {}) if first else {}, issues)


def _unique(
    probes: Iterable[ServiceProbe], p: Placed, seen: dict[str, str], issues: Issues
) -> dict[str, str]:
    seen = dict(seen)
    seq = p.node.get("services") or []
    for i, probe in enumerate(probes):
        where = p.loc.key(p.node, "services").item(seq, i)
        if probe.name in seen:
            issues.at(where, f"duplicate service name {probe.name!r} (first at {seen[probe.name]})")
        else:
            seen[probe.name] = f"{where.file}:{where.line}"
    return seen


def _cycles(devices: list[Placed], by_name: dict[str, Placed], issues: Issues) -> None:
    done: set[str] = set()
    for p in devices:
        chain: list[str] = []
        seen: dict[str, int] = {}
        name: str | None = p.item.name
        while name is not None and name in by_name and name not in done and name not in seen:
            seen[name] = len(chain)
            chain.append(name)
            name = by_name[name].item.parent
        if name is not None and name in seen:
            cycle = [*chain[seen[name] :], name]
            at = by_name[cycle[0]]
            where = at.loc.key(at.node, "parent")
            issues.at(where, f"parent cycle: {' -> '.join(cycle)}")
        done.update(chain)
