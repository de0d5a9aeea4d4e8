"""Above the districts: `regency:`, `regencies:`, `province:` or `provinces:` at the root.

Kemendagri codes nest (35 → 35.10 → 35.10.07 → 35.10.07.2001), so districts and regencies
written in included files find their regency or province by code prefix.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from netwatch.config.builder import _INVALID, convert, unknown_keys
from netwatch.config.errors import Issues
from netwatch.config.nodes import Loc, YamlValue, node_line, type_name
from netwatch.config.regency import REGENCY_CODE, Placed, Tree, parse_districts, shard_pin
from netwatch.core.model import Province, Regency, Source

ROOT_FORMS = ("regency", "regencies", "province", "provinces")
REGENCY_KEYS = ("code", "name", "shard", "districts")
PROVINCE_KEYS = ("code", "name", "regencies")
PROVINCE_CODE = re.compile(r"\d{2}")


@dataclass(slots=True)
class Regions:
    """What the root said, so that included files can be placed."""

    form: str | None = None  # which of ROOT_FORMS the root used
    single: str | None = None  # the code of a `regency:` root: included districts belong to it
    loose: list[Placed] = field(default_factory=list)  # included districts, placed by code
    loose_regencies: list[Placed] = field(default_factory=list)  # included regencies


def parse_root(data: Mapping, top: Loc, issues: Issues, tree: Tree) -> Regions:
    """Parse whichever region form the root file uses."""
    regions = Regions()
    forms = [k for k in data if k in ROOT_FORMS]  # as written: the later one is the error
    if not forms:
        issues.add(
            top.file,
            1,
            "",
            "missing required key 'regency' (or 'regencies', 'province', 'provinces')",
        )
        return regions
    for extra in forms[1:]:
        issues.at(top.key(data, extra), f"'{extra}' and '{forms[0]}' cannot both be given")
    form = regions.form = forms[0]
    loc = top.key(data, form)
    node = data[form]
    if form == "regency":
        placed = _regency(node, loc, None, issues, tree)
        regions.single = placed.item.code if placed is not None else None
    elif form == "province":
        _province(node, loc, issues, tree)
    else:
        for i, item in enumerate(_list(node, loc, issues)):
            where = loc.item(node, i)
            if form == "regencies":
                _regency(item, where, None, issues, tree)
            else:
                _province(item, where, issues, tree)
    return regions


def parse_included(data: Mapping, top: Loc, regions: Regions, issues: Issues, tree: Tree) -> None:
    """An included file's `districts:` and `regencies:`, placed by code."""
    if "districts" not in data and "regencies" not in data:
        issues.add(top.file, 1, "", "an included file holds 'districts:' or 'regencies:' (a list)")
    if "districts" in data:
        dloc = top.key(data, "districts")
        seq = data["districts"]
        if not isinstance(seq, list):
            issues.at(dloc, f"must be a list, not {type_name(seq)}")
        else:
            first = len(tree.districts)
            parse_districts(seq, dloc, regions.single, issues, tree)
            if regions.form != "regency":
                regions.loose.extend(tree.districts[first:])
    if "regencies" in data:
        rloc = top.key(data, "regencies")
        if regions.form == "regency":
            issues.at(
                rloc,
                "the root holds one 'regency:': write 'regencies:' or 'province:' there "
                "to include regencies",
            )
            return
        for i, item in enumerate(_list(data["regencies"], rloc, issues)):
            placed = _regency(item, rloc.item(data["regencies"], i), None, issues, tree)
            if placed is not None:
                regions.loose_regencies.append(placed)


def finish(regions: Regions, issues: Issues, tree: Tree) -> tuple[dict, dict]:
    """Check that included items have a parent; build the Regency and Province objects."""
    declared = {p.item.code for p in tree.regencies}
    provinces_declared = {p.item.code for p in tree.provinces}
    if regions.form in ("province", "provinces"):
        for p in regions.loose_regencies:
            if p.item.province not in provinces_declared:
                issues.at(
                    p.loc.key(p.node, "code"),
                    f"regency code {p.item.code!r} belongs to no province of this config "
                    f"({', '.join(sorted(provinces_declared)) or 'none'})",
                )
    for p in regions.loose:
        if p.item.regency not in declared:
            issues.at(
                p.loc.key(p.node, "code"),
                f"district code {p.item.code!r} belongs to no regency of this config "
                f"({', '.join(sorted(declared)) or 'none'})",
            )
    by_regency: dict[str, list[str]] = {}
    for p in tree.districts:
        by_regency.setdefault(p.item.regency, []).append(p.item.code)
    regencies = {}
    for p in tree.regencies:
        r = p.item
        if r.code not in regencies:
            regencies[r.code] = Regency(
                r.code, r.name, tuple(by_regency.get(r.code, ())), r.shard, r.source
            )
    provinces = {}
    for p in tree.provinces:
        pr = p.item
        if pr.code not in provinces:
            codes = tuple(c for c in regencies if c[:2] == pr.code)
            provinces[pr.code] = Province(pr.code, pr.name, codes, pr.source)
    return regencies, provinces


def district_lists(data: YamlValue, root: bool) -> list[list]:
    """Every `districts:` list written in one document, in order (for in-place edits)."""
    if not isinstance(data, Mapping):
        return []
    holders: list[Any] = []
    if root:
        provinces = [data.get("province"), *_seq(data.get("provinces"))]
        holders = [data.get("regency"), *_seq(data.get("regencies"))]
        for province in provinces:
            if isinstance(province, Mapping):
                holders.extend(_seq(province.get("regencies")))
    else:
        holders = [data, *_seq(data.get("regencies"))]
    out = []
    for holder in holders:
        seq = holder.get("districts") if isinstance(holder, Mapping) else None
        if isinstance(seq, list):
            out.append(seq)
    return out


def _seq(node: Any) -> list:
    return node if isinstance(node, list) else []


def _list(node: Any, loc: Loc, issues: Issues) -> list:
    if not isinstance(node, list):
        issues.at(loc, f"must be a list, not {type_name(node)}")
        return []
    return node


def _code_and_name(
    node: Mapping, loc: Loc, pattern: re.Pattern, what: str, issues: Issues
) -> tuple[str | None, str | None]:
    """The code (checked against pattern; what names it, e.g. 'regency code NN.NN') and name."""
    values: list[str | None] = []
    for key in ("code", "name"):
        if key not in node:
            issues.at(loc, f"missing required key '{key}'")
            values.append(None)
            continue
        value = convert(str, node[key], loc.key(node, key), issues)
        values.append(None if value is _INVALID else value)
    code, name = values
    if code is not None and not pattern.fullmatch(code):
        issues.at(loc.key(node, "code"), f"{code!r} is not a {what}")
        code = None
    return code, name


def _regency(
    node: Any, loc: Loc, province: str | None, issues: Issues, tree: Tree
) -> Placed | None:
    if not isinstance(node, Mapping):
        issues.at(loc, f"must be a mapping, not {type_name(node)}")
        return None
    loc = Loc(loc.file, node_line(node, loc.line), loc.path)
    unknown_keys(node, REGENCY_KEYS, loc, issues)
    code, name = _code_and_name(node, loc, REGENCY_CODE, "regency code NN.NN", issues)
    if code is not None and province is not None and code[:2] != province:
        issues.at(
            loc.key(node, "code"),
            f"regency code {code!r} does not start with its province code {province!r}",
        )
    shard = shard_pin(node, loc, issues)
    seq = node.get("districts")
    dloc = loc.key(node, "districts")
    if seq is None:
        pass  # all districts may come from included files
    elif not isinstance(seq, list):
        issues.at(dloc, f"must be a list, not {type_name(seq)}")
    else:
        parse_districts(seq, dloc, code, issues, tree)
    if code is None or name is None:
        return None
    placed = Placed(Regency(code, name, (), shard, Source(loc.file, loc.line)), loc, node)
    tree.regencies.append(placed)
    return placed


def _province(node: Any, loc: Loc, issues: Issues, tree: Tree) -> None:
    if not isinstance(node, Mapping):
        issues.at(loc, f"must be a mapping, not {type_name(node)}")
        return
    loc = Loc(loc.file, node_line(node, loc.line), loc.path)
    unknown_keys(node, PROVINCE_KEYS, loc, issues)
    code, name = _code_and_name(node, loc, PROVINCE_CODE, "province code NN", issues)
    if "regencies" in node and node["regencies"] is not None:
        rloc = loc.key(node, "regencies")
        for i, item in enumerate(_list(node["regencies"], rloc, issues)):
            _regency(item, rloc.item(node["regencies"], i), code, issues, tree)
    if code is not None and name is not None:
        province = Province(code, name, (), Source(loc.file, loc.line))
        tree.provinces.append(Placed(province, loc, node))
