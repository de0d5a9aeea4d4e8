"""An independent InfluxDB line-protocol parser for tests (written from the spec, not our code).

Spec: https://docs.influxdata.com/influxdb/v2/reference/syntax/line-protocol/ — in measurements a
backslash escapes comma and space; in tag keys/values and field keys also equals sign; in string
field values, double quote and backslash. Two backslashes are one literal backslash (InfluxDB 2.x,
VictoriaMetrics); a backslash before any other character is literal.
"""

from __future__ import annotations

from dataclasses import dataclass, field

_BOOLS = {"t": True, "T": True, "true": True, "True": True, "TRUE": True}
_BOOLS |= {"f": False, "F": False, "false": False, "False": False, "FALSE": False}


class ParseError(ValueError):
    pass


@dataclass
class Line:
    measurement: str
    tags: dict[str, str] = field(default_factory=dict)
    fields: dict[str, int | float | bool | str] = field(default_factory=dict)
    timestamp: int | None = None


def _scan(text: str, i: int, stops: str, escapable: str) -> tuple[str, int]:
    """Read an unquoted token up to an unescaped stop character; returns (value, index)."""
    out = []
    while i < len(text):
        c = text[i]
        if c == "\\" and i + 1 < len(text) and text[i + 1] in escapable:
            out.append(text[i + 1])
            i += 2
            continue
        if c in stops:
            break
        out.append(c)
        i += 1
    return "".join(out), i


def _field_value(text: str, i: int) -> tuple[int | float | bool | str, int]:
    if text[i] == '"':
        out = []
        i += 1
        while i < len(text):
            c = text[i]
            if c == "\\" and i + 1 < len(text) and text[i + 1] in '"\\':
                out.append(text[i + 1])
                i += 2
                continue
            if c == '"':
                return "".join(out), i + 1
            out.append(c)
            i += 1
        raise ParseError("unterminated string field")
    j = i
    while j < len(text) and text[j] not in ", ":
        j += 1
    raw = text[i:j]
    if raw in _BOOLS:
        return _BOOLS[raw], j
    if raw.endswith("i"):
        return int(raw[:-1]), j
    if raw.endswith("u"):
        return int(raw[:-1]), j
    try:
        return float(raw), j
    except ValueError:
        raise ParseError(f"bad field value {raw!r}") from None


def parse_line(text: str) -> Line:
    """Parse one line (no trailing newline); raises ParseError on malformed input."""
    if not text or text.startswith("#"):
        raise ParseError("empty or comment line")
    measurement, i = _scan(text, 0, ", ", ", \\")
    if not measurement:
        raise ParseError("empty measurement")
    line = Line(measurement)
    while i < len(text) and text[i] == ",":
        key, i = _scan(text, i + 1, "=, ", ",= \\")
        if i >= len(text) or text[i] != "=" or not key:
            raise ParseError(f"bad tag at {i}")
        value, i = _scan(text, i + 1, ", ", ",= \\")
        if not value:
            raise ParseError(f"empty tag value for {key!r}")
        line.tags[key] = value
    if i >= len(text) or text[i] != " ":
        raise ParseError("no field set")
    i += 1
    while True:
        key, i = _scan(text, i, "=", ",= \\")
        if i >= len(text) or not key:
            raise ParseError("bad field key")
        value, i = _field_value(text, i + 1)
        line.fields[key] = value
        if i < len(text) and text[i] == ",":
            i += 1
            continue
        break
    if i < len(text):
        if text[i] != " ":
            raise ParseError(f"junk at {i}: {text[i:]!r}")
        line.timestamp = int(text[i + 1 :])
    return line


def parse(body: str) -> list[Line]:
    return [parse_line(x) for x in body.split("\n") if x and not x.startswith("#")]
