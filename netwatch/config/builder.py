"""One type-hint-driven builder from YAML mappings to frozen dataclasses.

A new settings section is a dataclass plus a field of Settings: no loader change. Field metadata
`check` (a callable raising ValueError) adds a rule that the type cannot say. A contact list's
keys are the notifiers' names: each target is built as its notifier's own dataclass.
"""

from __future__ import annotations

import dataclasses
import difflib
import enum
import functools
import math
import types
import typing
from collections.abc import Mapping
from typing import Any, TypeVar

from netwatch.config.errors import Issues
from netwatch.config.nodes import Loc, YamlValue, key_line, node_line, type_name
from netwatch.config.values import parse_duration, parse_size
from netwatch.core.model import SecretRef
from netwatch.core.notifications import ContactList

T = TypeVar("T")
_INVALID = object()  # a value that failed; its error is already recorded
# Larger numbers (~31,700 years in seconds) overflow date arithmetic somewhere downstream.
MAX_FLOAT = 1e12


@functools.cache
def _hints(cls: type) -> dict[str, Any]:
    return typing.get_type_hints(cls)


@functools.cache
def _fields(cls: type) -> dict[str, dataclasses.Field]:
    """The init fields of cls by name (read only: cached, one per class)."""
    return {f.name: f for f in dataclasses.fields(cls) if f.init}


@functools.cache
def _enum_members(tp: type[enum.Enum]) -> dict[str, enum.Enum]:
    """The members of tp by the text of their value (built once per enum, not per value:
    a 50,000-device load converts 50,000 roles and 25,000 village kinds)."""
    return {str(e.value): e for e in tp}


# Keys a release removed, by section: what to use instead (an upgraded config says so).
_STREAM = "removed: the echo stream decides; see settings.ping.down_echoes / up_echoes"
RETIRED: dict[tuple[str, str], str] = {
    ("settings.alerting", key): _STREAM
    for key in ("down_rounds", "up_rounds", "down_after", "up_after", "confirm")
}


def did_you_mean(word: str, choices: typing.Iterable[str]) -> str:
    close = difflib.get_close_matches(word, list(choices), n=1, cutoff=0.6)
    return f" (did you mean '{close[0]}'?)" if close else ""


def unknown_keys(
    m: Mapping, allowed: typing.Iterable[str], loc: Loc, issues: Issues, what: str = "key"
) -> None:
    """Record an error for each key of m not in allowed, at the key's own line."""
    allowed = list(allowed)
    for key in m:
        if key not in allowed:
            retired = RETIRED.get((loc.path, str(key)))
            hint = f" ({retired})" if retired else did_you_mean(str(key), allowed)
            line = key_line(m, key, loc.line)
            issues.add(loc.file, line, loc.path or "(top level)", f"unknown {what} '{key}'{hint}")


def build(
    cls: type[T],
    m: YamlValue,
    loc: Loc,
    issues: Issues,
    *,
    fixed: Mapping[str, Any] | None = None,
    handled: typing.Iterable[str] = (),
) -> T | None:
    """Build cls from mapping m; errors go to issues and the result is None then.

    fixed: field values the caller supplies; handled: keys the caller parsed itself.
    """
    fixed = dict(fixed or {})
    handled = set(handled)
    if m is None:
        m = {}
    if not isinstance(m, Mapping):
        issues.at(loc, f"must be a mapping, not {type_name(m)}")
        return None
    loc = Loc(loc.file, node_line(m, loc.line), loc.path)
    fields = _fields(typing.cast(type, cls))  # cached, as _hints
    readable = [n for n in fields if n not in fixed and n != "source"]
    unknown_keys(m, readable + sorted(handled), loc, issues)
    hints = _hints(typing.cast(type, cls))  # type[T] is hashable; functools.cache asks so
    kwargs: dict[str, Any] = {}
    ok = True
    for name in readable:
        f = fields[name]
        if name not in m:
            if f.default is dataclasses.MISSING and f.default_factory is dataclasses.MISSING:
                issues.at(loc, f"missing required key '{name}'")
                ok = False
            continue
        vloc = loc.key(m, name)
        value = convert(hints[name], m[name], vloc, issues, name)
        if value is not _INVALID and "check" in f.metadata:
            try:
                f.metadata["check"](value)
            except ValueError as exc:
                issues.at(vloc, str(exc))
                value = _INVALID
        if value is _INVALID:
            ok = False
        else:
            kwargs[name] = value
    if not ok:
        return None
    kwargs.update(fixed)
    try:
        return cls(**kwargs)
    except (ValueError, TypeError) as exc:  # a __post_init__ rule
        issues.at(loc, str(exc))
        return None


def convert(tp: Any, value: Any, loc: Loc, issues: Issues, name: str = "") -> Any:
    """Convert one YAML value to type tp, or record an error and return _INVALID.

    Any: tp is a type form read at run time (a union, Literal, tuple[...], a dataclass), which
    has no static type; the result is a value of that form or the _INVALID sentinel."""

    def bad(message: str) -> Any:
        issues.at(loc, message)
        return _INVALID

    origin = typing.get_origin(tp)
    args = typing.get_args(tp)
    if origin in (typing.Union, types.UnionType):
        if value is None and type(None) in args:
            return None
        inner = [a for a in args if a is not type(None)]
        if len(inner) == 1:
            return convert(inner[0], value, loc, issues, name)
        return value
    if tp is Any or tp is object:
        return value
    if origin is typing.Literal:
        if value in args:
            return value
        return bad(f"{value!r} is not one of {', '.join(repr(a) for a in args)}")
    if origin in (tuple, list):
        if not isinstance(value, list):
            return bad(f"must be a list, not {type_name(value)}")
        item_tp = args[0] if args else Any
        items = [convert(item_tp, v, loc.item(value, i), issues) for i, v in enumerate(value)]
        if any(v is _INVALID for v in items):
            return _INVALID
        return tuple(items) if origin is tuple else items
    if origin is dict:
        if not isinstance(value, Mapping):
            return bad(f"must be a mapping, not {type_name(value)}")
        val_tp = args[1] if len(args) == 2 else Any
        out = {str(k): convert(val_tp, v, loc.key(value, k), issues) for k, v in value.items()}
        return _INVALID if any(v is _INVALID for v in out.values()) else out
    if value is None:
        return bad("must have a value")
    if tp is bool:
        return value if isinstance(value, bool) else bad(f"must be true or false, not {value!r}")
    if tp is int:
        if isinstance(value, str) and name.endswith("_bytes"):
            try:
                return parse_size(value)
            except ValueError as exc:
                return bad(str(exc))
        if isinstance(value, int) and not isinstance(value, bool):
            return int(value)
        return bad(f"must be an integer, not {type_name(value)} ({value!r})")
    if tp is float:
        if isinstance(value, int | float) and not isinstance(value, bool):
            # .nan and .inf are valid YAML floats but no valid setting: NaN compares false with
            # every bound, and inf overflows the scheduler's date arithmetic.
            if not math.isfinite(value):
                return bad(f"must be a finite number, not {value!r}")
            if abs(value) > MAX_FLOAT:
                return bad(f"{value:g} is out of range (at most {MAX_FLOAT:g})")
            return float(value)
        if isinstance(value, str):
            try:
                return parse_duration(value)
            except ValueError as exc:
                return bad(str(exc))
        return bad(f"must be a number or a duration such as 30s, not {type_name(value)}")
    if tp is str:
        if isinstance(value, str):
            return str(value)
        if isinstance(value, int | float) and not isinstance(value, bool):
            return bad(f'must be a string, not {type_name(value)}: quote it ("{value}")')
        return bad(f"must be a string, not {type_name(value)}")
    if isinstance(tp, type) and issubclass(tp, enum.Enum):
        members = _enum_members(tp)
        member = members.get(str(value))
        if member is not None and not isinstance(value, bool):
            return member
        choices = list(members)
        return bad(
            f"{value!r} is not one of {', '.join(choices)}{did_you_mean(str(value), choices)}"
        )
    if tp is SecretRef:
        return _secret(value, loc, issues)
    if tp is ContactList:
        return _contact_list(value, loc, issues)
    if dataclasses.is_dataclass(tp):
        built = build(typing.cast(type, tp), value, loc, issues)
        return _INVALID if built is None else built
    return bad(f"unsupported type {tp!r} in the settings model")


def _secret(value: Any, loc: Loc, issues: Issues) -> Any:
    how = "write {env: VARIABLE} or {file: /path/to/secret}"
    if isinstance(value, str):
        issues.at(loc, f"secrets are never written inline: {how}")
        return _INVALID
    if not isinstance(value, Mapping):
        issues.at(loc, f"must be a secret reference: {how}")
        return _INVALID
    keys = set(value)
    if len(keys) != 1 or not keys <= {"env", "file"}:
        issues.at(loc, f"a secret reference has one key: {how}")
        return _INVALID
    key = next(iter(keys))
    ref = value[key]
    if not isinstance(ref, str) or not ref:
        issues.add(loc.file, loc.line, f"{loc.path}.{key}", "must be a non-empty string")
        return _INVALID
    return SecretRef(**{key: str(ref)})


def _contact_list(value: Any, loc: Loc, issues: Issues) -> Any:
    """`{name: noc, webhook: [...], telegram: [...]}`: targets of the notifiers named."""
    from netwatch.alerting.notifiers import target_types

    if not isinstance(value, Mapping):
        issues.at(loc, f"must be a mapping, not {type_name(value)}")
        return _INVALID
    loc = Loc(loc.file, node_line(value, loc.line), loc.path)
    kinds = target_types()
    unknown_keys(value, ["name", *kinds], loc, issues)
    if "name" not in value:
        issues.at(loc, "missing required key 'name'")
        return _INVALID
    name = convert(str, value["name"], loc.key(value, "name"), issues)
    ok = name is not _INVALID
    targets = []
    for key, items in value.items():
        cls = kinds.get(str(key))
        if cls is None:
            continue  # reported as an unknown key
        kloc = loc.key(value, key)
        if not isinstance(items, list):
            issues.at(kloc, f"must be a list, not {type_name(items)}")
            ok = False
            continue
        for i, item in enumerate(items):
            iloc = kloc.item(items, i)
            if isinstance(item, str) and cls.shorthand is not None:
                item = {cls.shorthand: item}
            target = build(cls, item, iloc, issues)
            problems = target.problems() if target is not None else ["invalid"]
            if target is not None:
                for problem in problems:
                    issues.at(iloc, problem)
            ok = ok and not problems
            if target is not None:
                targets.append(target)
    return ContactList(name, tuple(targets)) if ok else _INVALID
