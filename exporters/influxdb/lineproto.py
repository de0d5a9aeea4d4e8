"""A lean InfluxDB line-protocol formatter: influxdb-client's Point output, much faster."""

from __future__ import annotations

import math
from collections.abc import Mapping

# influxdb-client's escaping, except that we also double backslashes. The client leaves them
# alone, so a backslash before a space it escapes reads, for InfluxDB 2.x/3.x and VictoriaMetrics,
# as an escaped backslash then a bare space: the line splits (tests/…/test_lineproto.py shows it).
_ESCAPE_MEASUREMENT = str.maketrans(
    {"\\": "\\\\", ",": r"\,", " ": r"\ ", "\n": r"\n", "\t": r"\t", "\r": r"\r"}
)
_ESCAPE_KEY = str.maketrans(
    {"\\": "\\\\", ",": r"\,", "=": r"\=", " ": r"\ ", "\n": r"\n", "\t": r"\t", "\r": r"\r"}
)
_ESCAPE_STRING = str.maketrans({'"': r"\"", "\\": r"\\"})

# Multipliers from unix seconds to an integer timestamp at each precision (v2 names).
PRECISIONS: dict[str, int] = {"s": 1, "ms": 1_000, "us": 1_000_000, "ns": 1_000_000_000}
# InfluxDB 1.x /write names the same precisions differently.
V1_PRECISION = {"s": "s", "ms": "ms", "us": "u", "ns": "n"}

FieldValue = int | float | bool | str


def escape_measurement(name: str) -> str:
    return name.translate(_ESCAPE_MEASUREMENT)


def escape_key(key: str) -> str:
    """Escape a tag key, tag value or field key."""
    return key.translate(_ESCAPE_KEY)


def escape_tag_value(value: str) -> str:
    return value.translate(_ESCAPE_KEY)


def tag_block(tags: Mapping[str, str | None]) -> str:
    """',k=v,k2=v2' with keys sorted (InfluxDB's canonical order); empty values omitted."""
    parts = []
    for key in sorted(tags):
        value = tags[key]
        if value is None or value == "" or key == "":
            continue
        parts.append(f"{escape_key(key)}={escape_tag_value(value)}")
    return "," + ",".join(parts) if parts else ""


def format_float(value: float) -> str | None:
    """A float field; None for NaN/inf (line protocol cannot carry them)."""
    if not math.isfinite(value):
        return None
    s = repr(value)
    return s[:-2] if s.endswith(".0") else s


def format_field(key: str, value: FieldValue) -> str | None:
    """'key=value' typed as line protocol wants: 3i, 3.5, true, "text"; None to skip."""
    if value is None:
        return None
    if isinstance(value, bool):
        return f"{escape_key(key)}={'true' if value else 'false'}"
    if isinstance(value, int):
        return f"{escape_key(key)}={value}i"
    if isinstance(value, float):
        text = format_float(value)
        return None if text is None else f"{escape_key(key)}={text}"
    if isinstance(value, str):
        return f'{escape_key(key)}="{value.translate(_ESCAPE_STRING)}"'
    raise TypeError(f"field {key!r}: unsupported type {type(value).__name__}")


def field_block(fields: Mapping[str, FieldValue | None]) -> str:
    """'k=v,k2=v2' sorted by key; '' when no field survives (such a point is not written)."""
    parts = []
    for key in sorted(fields):
        text = format_field(key, fields[key])  # type: ignore[arg-type]
        if text is not None:
            parts.append(text)
    return ",".join(parts)


def timestamp(seconds: float, precision: str) -> int:
    """Unix seconds → integer timestamp at precision (rounded, as InfluxDB rounds)."""
    return round(seconds * PRECISIONS[precision])


def format_point(
    measurement: str,
    tags: Mapping[str, str | None],
    fields: Mapping[str, FieldValue | None],
    ts: int | None = None,
) -> str:
    """One line without newline; '' when it has no field."""
    fb = field_block(fields)
    if not fb:
        return ""
    head = escape_measurement(measurement) + tag_block(tags)
    return f"{head} {fb}" if ts is None else f"{head} {fb} {ts}"
