"""The two scrape formats, text 0.0.4 and OpenMetrics 1.0, from families of ready sample lines.

Both formats share their sample lines (`name{labels} value`, no timestamps or exemplars); only
the family headers differ (an OpenMetrics counter is named without `_total` and the body ends
in `# EOF`). A `TextFamily` carries its lines as chunks so that a renderer on the event loop
can yield between them (issue 10: a scrape must not stall polling). Lines are joined by C-level
iterators (`itertools`), with one `repr()` per value: ~0.1 µs a line plus the float's repr.
"""

from __future__ import annotations

import enum
import math
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from itertools import chain, compress, repeat

from prometheus_client.core import Metric


class Format(enum.Enum):
    TEXT = "text"  # text/plain; version=0.0.4
    OPENMETRICS = "openmetrics"  # application/openmetrics-text; version=1.0.0


@dataclass(frozen=True, slots=True)
class TextFamily:
    """One metric family: its name (a counter's without `_total`), kind, help and lines."""

    name: str
    kind: str  # gauge | counter | untyped
    help: str
    chunks: Iterable[str]  # sample lines, each ending in "\n"; a chunk is one slice of work


def escape(value: str) -> str:
    """A label value as both formats write it."""
    if "\\" in value or '"' in value or "\n" in value:
        return value.replace("\\", "\\\\").replace("\n", "\\n").replace('"', '\\"')
    return value


def label_text(labels: Iterable[tuple[str, str]]) -> str:
    """`k="v",k2="v2"` (no braces)."""
    return ",".join([f'{k}="{escape(v)}"' for k, v in labels])


class VillageLabels:
    """`village="...",district="..."` per village code, kept while the district stays."""

    def __init__(self) -> None:
        self._texts: dict[str, tuple[str, str]] = {}

    def text(self, code: str, district: str) -> str:
        known = self._texts.get(code)
        if known is not None and known[0] == district:
            return known[1]
        text = f'village="{escape(code)}",district="{escape(district)}"'
        self._texts[code] = (district, text)
        return text

    def keep_only(self, codes: Iterable[str]) -> None:
        """Forget villages no longer in the inventory (after a reload)."""
        self._texts = {c: t for c in codes if (t := self._texts.get(c)) is not None}


def format_value(value: float) -> str:
    if value != value:
        return "NaN"
    if value == math.inf:
        return "+Inf"
    if value == -math.inf:
        return "-Inf"
    return repr(float(value))


def header(family: TextFamily, fmt: Format) -> str:
    """# HELP and # TYPE lines of a family in the format asked for."""
    kind = family.kind
    if fmt is Format.OPENMETRICS:
        doc = family.help.replace("\\", "\\\\").replace("\n", "\\n").replace('"', '\\"')
        return f"# HELP {family.name} {doc}\n# TYPE {family.name} {kind}\n"
    series = family.name + "_total" if kind == "counter" else family.name
    doc = family.help.replace("\\", "\\\\").replace("\n", "\\n")
    return f"# HELP {series} {doc}\n# TYPE {series} {kind}\n"


def lines(
    head: str, labels: Sequence[str], values: Sequence[float], on: Sequence[int], finite: bool
) -> str:
    """`head{labels[i]} values[i]` for every i with on[i]; head is `series{`.

    finite: no value is NaN or infinite, so repr() writes every value as both formats want.
    """
    if finite:
        text = map(float.__repr__, compress(values, on))
    else:
        text = map(format_value, compress(values, on))
    return "".join(
        chain.from_iterable(
            zip(repeat(head), compress(labels, on), repeat("} "), text, repeat("\n"))
        )
    )


def row_lines(
    head: str,
    devices: Sequence[str],
    slots: Sequence[int],
    own: Sequence[str],
    values: Sequence[float],
    on: Sequence[int],
    finite: bool,
) -> str:
    """Lines of labelled rows: `head{devices[slots[i]]own[i]} values[i]` for every i with on[i]."""
    if finite:
        text = map(float.__repr__, compress(values, on))
    else:
        text = map(format_value, compress(values, on))
    prefix = map(devices.__getitem__, compress(slots, on))
    return "".join(
        chain.from_iterable(
            zip(repeat(head), prefix, compress(own, on), repeat("} "), text, repeat("\n"))
        )
    )


def const_lines(head: str, labels: Iterable[str], tail: str) -> str:
    """`head{label} tail` for each label text: tail is `} 1.0\\n` and the like."""
    return "".join(chain.from_iterable(zip(repeat(head), labels, repeat(tail))))


def from_metric(family: Metric) -> TextFamily:
    """A client_python Metric (small sources: cluster plan, tests) as a TextFamily."""
    kind = family.type if family.type in ("gauge", "counter") else "untyped"
    out = []
    rendered: dict[int, str] = {}  # a labels dict shared by samples is formatted once
    for sample in family.samples:
        if sample.labels:
            text = rendered.get(id(sample.labels))
            if text is None:
                text = rendered[id(sample.labels)] = label_text(sample.labels.items())
            out.append(f"{sample.name}{{{text}}} {format_value(sample.value)}\n")
        else:
            out.append(f"{sample.name} {format_value(sample.value)}\n")
    return TextFamily(family.name, kind, family.documentation, ("".join(out),))


def metric_text(families: Iterable[Metric]) -> Iterator[TextFamily]:
    for family in families:
        yield from_metric(family)
