"""Write inventory YAML text in the house layout (one device per line, flow style).

The layout is the one ruamel.yaml round-trips byte for byte, so in-place edits change only
the lines they touch.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Mapping
from typing import Any

from netwatch.config.nodes import YamlValue

_PLAIN = re.compile(r"[A-Za-z_/][A-Za-z0-9 ._/+@-]*")
_DOTTED = re.compile(r"\d+(\.\d+){2,}")  # addresses: never a YAML number
_RESERVED = {"true", "false", "null", "yes", "no", "on", "off", "~", "y", "n"}


def scalar(value: YamlValue) -> str:
    """A YAML scalar that reads back as value (plain when unambiguous, else double-quoted)."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return repr(value)
    text = str(value)
    if _DOTTED.fullmatch(text):
        return text
    if _PLAIN.fullmatch(text) and text.lower() not in _RESERVED and not text.endswith(" "):
        return text
    return quote(text)


def quote(text: str) -> str:
    """A YAML double-quoted scalar; anything not printable is escaped (YAML refuses it raw)."""
    out = ['"']
    for ch in text:
        if ch in '"\\':
            out.append("\\" + ch)
        elif ch.isprintable():
            out.append(ch)
        elif ord(ch) <= 0xFFFF:
            out.append(f"\\u{ord(ch):04x}")
        else:
            out.append(f"\\U{ord(ch):08x}")
    out.append('"')
    return "".join(out)


def flow(mapping: Mapping[str, YamlValue]) -> str:
    """{k: v, ...} on one line; lists become [a, b]; None values are left out."""
    parts = []
    for key, value in mapping.items():
        if key.startswith("_") or value is None or value == [] or value == ():
            continue
        if isinstance(value, list | tuple):
            text = "[" + ", ".join(scalar(v) for v in value) + "]"
        else:
            text = scalar(value)
        parts.append(f"{key}: {text}")
    return "{" + ", ".join(parts) + "}"


def districts_block(
    districts: Iterable[Mapping[str, Any]], indent: int = 2, origins: list | None = None
) -> list[str]:
    """Lines of a `districts:` list; each district has code, name, devices, villages.

    origins, if given, gets for each line the `_origin` of the item that wrote it.
    """
    pad = " " * indent
    lines = [f"{pad}districts:"]
    marks: list = [None]

    def put(text: str, item: Mapping[str, Any]) -> None:
        lines.append(text)
        marks.append(item.get("_origin"))

    for d in districts:
        put(f"{pad}  - code: {json.dumps(d['code'])}", d)
        put(f"{pad}    name: {scalar(d['name'])}", d)
        if d.get("devices"):
            put(f"{pad}    devices:", d)
            for dev in d["devices"]:
                put(f"{pad}      - {flow(dev)}", dev)
        if d.get("villages"):
            put(f"{pad}    villages:", d)
        for v in d.get("villages", ()):
            put(f"{pad}      - code: {json.dumps(v['code'])}", v)
            for key in ("name", "kind", "lat", "lon"):
                if v.get(key) is not None:
                    put(f"{pad}        {key}: {scalar(v[key])}", v)
            if v.get("devices"):
                put(f"{pad}        devices:", v)
                for dev in v["devices"]:
                    put(f"{pad}          - {flow(dev)}", dev)
    if origins is not None:
        origins.extend(marks)
    return lines
