"""Vendor profiles: YAML of numeric OIDs loaded, validated (file:line errors) and matched.

A profile says which scalars to GET and which table columns to walk, how to turn each value
into a number in base units, and how to label it. Profiles stack with `extends`, so a vendor
profile only adds its own tables on top of system + IF-MIB + HOST-RESOURCES.
The records and matching are here; profile_load.py reads and validates the YAML into them.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from netwatch.collectors.snmp.types import OID


class ProfileError(ValueError):
    """A profile file that cannot be used; the message names the file and line."""


@dataclass(frozen=True, slots=True)
class IndexPart:
    """One piece of a table index: how many sub-ids it spans and what label it becomes."""

    format: str = "int"  # int | mac | string (length-prefixed) | fixed_string | rest | oid
    length: int = 1  # sub-ids, for fixed_string/oid
    label: str | None = None
    lookup: str | None = None  # ifName/ifAlias/ifDescr or "<table id>.<label column>"
    lookup_by: str = "part"  # part: key is this part's sub-ids; prefix: the index up to here
    # Keep rows whose text (after transform and lookup) matches; group 1 is the label, or each
    # named group a label of its own name.
    regex: re.Pattern[str] | None = None
    lookups: tuple[tuple[str, str], ...] = ()  # more labels found by this part: (label, lookup)
    transform: str | None = None  # of the index text: zte_gpon_ifindex


@dataclass(frozen=True, slots=True)
class Filter:
    """Keep a row only when a column (or a label) matches."""

    column: int | None = None
    label: str | None = None
    equals: tuple[str, ...] = ()
    regex: re.Pattern[str] | None = None


@dataclass(frozen=True, slots=True)
class Column:
    col: int
    type: str  # gauge | counter | info | label | field
    name: str  # label name, metric name or interface field
    unit: str = ""
    scale: float = 1.0
    offset: float = 0.0  # added after scale: raw × scale + offset (ZTE: × 0.002 − 30 dBm)
    conversion: str = "none"
    sentinels: frozenset[float] = frozenset()
    multiply_by: int | None = None  # column whose value multiplies this one (hrStorageUnits)
    scale_column: int | None = None  # Cisco entSensorScale
    precision_column: int | None = None  # Cisco entSensorPrecision
    labels: tuple[tuple[str, str], ...] = ()  # constant labels
    help: str = ""
    aggregate: str | None = None  # avg | min | max | sum | count over rows with equal labels
    by: tuple[str, ...] | None = None  # aggregate: keep only these labels (None: all)
    map: tuple[tuple[str, str], ...] = ()  # raw text → text (labels, info) or number (gauges)
    map_default: str | None = None  # for raw values the map does not name
    transform: str | None = None  # label columns: one of profile_load.LABEL_TRANSFORMS


@dataclass(frozen=True, slots=True)
class Table:
    oid: OID  # the table entry (…Entry), columns are oid + (col,)
    columns: tuple[Column, ...]
    id: str | None = None
    kind: str = "samples"  # samples | interfaces
    index: tuple[IndexPart, ...] = (IndexPart(),)
    filters: tuple[Filter, ...] = ()
    source: str = ""

    def walked_columns(self) -> list[int]:
        cols = {c.col for c in self.columns}
        for c in self.columns:
            cols.update(x for x in (c.multiply_by, c.scale_column, c.precision_column) if x)
        cols.update(f.column for f in self.filters if f.column is not None)
        return sorted(cols)


@dataclass(frozen=True, slots=True)
class Scalar:
    oid: OID
    type: str  # gauge | counter | info | field
    name: str
    unit: str = ""
    scale: float = 1.0
    offset: float = 0.0  # added after scale: raw × scale + offset (ZTE: × 0.002 − 30 dBm)
    conversion: str = "none"
    sentinels: frozenset[float] = frozenset()
    labels: tuple[tuple[str, str], ...] = ()
    help: str = ""


@dataclass(frozen=True, slots=True)
class Match:
    """One match rule; every criterion it names must hold. Its stage orders the search."""

    sys_object_id: tuple[OID, ...] = ()
    sys_descr: re.Pattern[str] | None = None
    probe: OID | None = None  # a subtree that must hold at least one value

    @property
    def stage(self) -> int:
        """1 by sysObjectID, 2 by sysDescr, 3 by probing alone, 4 the catch-all (generic)."""
        if self.sys_object_id:
            return 1
        if self.sys_descr is not None:
            return 2
        return 3 if self.probe is not None else 4


@dataclass(frozen=True, slots=True)
class Candidate:
    """A profile whose rule fits sysObjectID and sysDescr; the probe is still to be tried."""

    profile: Profile
    rule: Match
    prefix: OID = ()  # the sysObjectID prefix that matched (stage 1)

    def reason(self, sys_object_id: OID | None) -> str:
        """Why this profile was chosen, for `snmp poll` and the observation."""
        parts = []
        if self.prefix:
            oid = ".".join(map(str, sys_object_id or ()))
            parts.append(f"sysObjectID {oid} is under {'.'.join(map(str, self.prefix))}")
        if self.rule.sys_descr is not None:
            parts.append(f"sysDescr matches /{self.rule.sys_descr.pattern}/")
        if self.rule.probe is not None:
            parts.append(f"probe {'.'.join(map(str, self.rule.probe))} answered")
        if not parts:
            oid = ".".join(map(str, sys_object_id)) if sys_object_id else "(none)"
            return f"no vendor profile matched sysObjectID {oid}"
        return "; ".join(parts)


@dataclass(frozen=True, slots=True)
class Radio:
    """How to tell radio (Wi-Fi) interfaces apart: ifType and/or ifName/ifDescr regex."""

    if_types: tuple[int, ...] = ()
    name_regex: re.Pattern[str] | None = None


@dataclass(frozen=True, slots=True)
class Profile:
    name: str
    description: str = ""
    extends: tuple[str, ...] = ()
    match: tuple[Match, ...] = ()  # any rule may match
    confidence: str = "medium"  # high: checked on a real device's recording; see the docs
    radio: Radio | None = None
    get: tuple[Scalar, ...] = ()
    walk: tuple[Table, ...] = ()
    source: str = ""


@dataclass(slots=True)
class ProfileSet:
    """All loaded profiles by name, with stacking and sysObjectID matching."""

    profiles: dict[str, Profile] = field(default_factory=dict)
    # Stacks already resolved, by name: every poll asks for two. A cached stack is used only
    # while each of its profiles is still the one `profiles` holds under its name (a reload
    # that replaces or removes one resolves the stack again).
    _stacks: dict[str, tuple[Profile, ...]] = field(
        default_factory=dict, init=False, repr=False, compare=False
    )

    def stack(self, name: str) -> list[Profile]:
        """The profile and everything it extends, bases first, each once."""
        cached = self._stacks.get(name)
        if cached is not None:
            profiles = self.profiles
            if all(profiles.get(p.name) is p for p in cached):
                return list(cached)
        out = self._resolve(name)
        self._stacks[name] = tuple(out)
        return out

    def _resolve(self, name: str) -> list[Profile]:
        out: list[Profile] = []
        seen: set[str] = set()

        def visit(n: str, chain: tuple[str, ...]) -> None:
            if n in chain:
                raise ProfileError(f"profile {n}: extends cycle {' -> '.join((*chain, n))}")
            if n in seen:
                return
            prof = self.profiles.get(n)
            if prof is None:
                raise ProfileError(f"unknown profile {n!r}")
            for base in prof.extends:
                visit(base, (*chain, n))
            seen.add(n)
            out.append(prof)

        visit(name, ())
        return out

    def ordered(self, sys_object_id: OID | None, sys_descr: str) -> list[Candidate]:
        """Rules that fit, in the order to try them: by sysObjectID (longest prefix first),
        then by sysDescr, then by probing alone, then the catch-all; within a stage a rule with
        more refinements first. Probes need the device: the caller tries them in this order.
        """
        scored: list[tuple[tuple[int, int, int], str, Candidate]] = []
        for prof in self.profiles.values():
            for rule in prof.match:
                prefix: OID = ()
                if rule.sys_object_id:
                    got = sys_object_id or ()
                    fits = [p for p in rule.sys_object_id if got[: len(p)] == p]
                    if not fits:
                        continue
                    prefix = max(fits, key=len)
                if rule.sys_descr is not None and not rule.sys_descr.search(sys_descr):
                    continue
                refinements = (rule.sys_descr is not None) + (rule.probe is not None)
                key = (-rule.stage, len(prefix), refinements)
                scored.append((key, prof.name, Candidate(prof, rule, prefix)))
        scored.sort(key=lambda item: (item[0], item[1]), reverse=True)
        out: list[Candidate] = []
        for _, _, cand in scored:
            if cand not in out:
                out.append(cand)
        return out

    def candidates(self, sys_object_id: OID | None, sys_descr: str) -> list[Profile]:
        """The profiles of `ordered`, each once (its best rule's place)."""
        out: list[Profile] = []
        for cand in self.ordered(sys_object_id, sys_descr):
            if cand.profile not in out:
                out.append(cand.profile)
        return out
