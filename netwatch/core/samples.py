"""The neutral sample stream between collectors and exporters (Telegraf's accumulator model).

A collector package describes its metric families once and yields samples from a device's
state; exporters serialize samples and never import a collector. Two views of the same state:
`View.STATE` is what a device looks like now (a scrape of /metrics), `View.EVENT` what one
observation adds to history (a point per observation, InfluxDB). A family names its series for
both: `name` for the scrape, `field` (measurement and field key) for the point, because the two
schemas predate this stream and stay byte-for-byte (docs/architecture.md).
"""

from __future__ import annotations

import dataclasses
import enum
from dataclasses import dataclass

Labels = tuple[tuple[str, str], ...]  # (name, value) pairs, in the order they are written


class Kind(enum.StrEnum):
    GAUGE = "gauge"
    COUNTER = "counter"  # exposed with the _total suffix
    INFO = "info"  # always 1; the labels are the facts (exposed as a gauge, name ends _info)


class View(enum.Enum):
    STATE = "state"  # the device now: every series a scrape shows
    EVENT = "event"  # the last observation: the points it adds to history


@dataclass(frozen=True, slots=True, eq=False)  # compared and hashed by identity (hot path)
class Measurement:
    """A point's measurement and how its fields are spelled (push sinks, line protocol)."""

    name: str
    sorted_fields: bool = True  # field keys sorted; False keeps the order samples come in
    keep_point_zero: bool = False  # a whole float written 1.0 rather than 1 (both are floats)


@dataclass(frozen=True, slots=True, eq=False)
class Field:
    """Where an EVENT sample lands in a point: measurement and field key, integer or float."""

    measurement: Measurement
    key: str
    integer: bool = False


@dataclass(frozen=True, slots=True, eq=False)
class Family:
    """One metric family: its name, kind, unit and help, and where its EVENT samples go."""

    name: str  # the scraped series name (a counter's without _total)
    kind: Kind
    help: str
    unit: str = ""  # base unit: seconds, bytes, ratio, dbm, ... ("" for a count or a code)
    labels: tuple[str, ...] = ()  # label names the samples add to the target's own
    field: Field | None = None  # EVENT view: the point field; None for scrape-only families
    # Samples may carry different label names (vendor samples): a scrape writes the union,
    # sorted, with "" where a sample has none.
    open_labels: bool = False
    series: str = dataclasses.field(init=False)  # name as written in a scrape

    def __post_init__(self) -> None:
        object.__setattr__(
            self, "series", self.name + "_total" if self.kind is Kind.COUNTER else self.name
        )


# One value of a family for the device it is yielded for: (family, value, labels beyond the
# device's own, unix seconds the value is from or None). A plain tuple: a scrape of 50,000
# devices builds hundreds of thousands, and a tuple display is the cheapest thing Python makes.
Sample = tuple[Family, float, Labels, float | None]
