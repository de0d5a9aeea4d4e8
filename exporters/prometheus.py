"""Prometheus exporter: /metrics from the sample stream and a snapshot of state.

Sources are collector plugins (samples, kept as columns per family: `prometheus_series`) and
*metric sources*: ``families(state) -> Iterable[Metric]`` (client_python's custom collector
shape). A metric source that also has ``text(ctx)`` (the inventory and village rollup, the
alert families) writes its lines without building Metric objects. `Exposition.chunks` yields
the body of either format in slices, with `None` between slices, so that the web server can
let the event loop run between them (issue 10: a scrape must not stall polling);
`Exposition.render` is the same in one call. `StateCollector` and `metric_families` build
client_python Metric objects from the same samples: the reference the tests compare against.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Iterator
from typing import Protocol, runtime_checkable

from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.registry import Collector, CollectorRegistry

from netwatch.core import telemetry
from netwatch.core.plugins import AnyPlugin, registered
from netwatch.core.samples import Family, Kind, Labels, View
from netwatch.core.state import State
from netwatch.exporters.deflate_segments import Deflated, Kept, deflate, gzip_member
from netwatch.exporters.prometheus_format import (
    Format,
    TextFamily,
    from_metric,
    header,
    metric_text,
)
from netwatch.exporters.prometheus_inventory import (
    DEVICE_LABELS,
    TextContext,
    add_sample,
    device_labels,
    inventory_families,
)
from netwatch.exporters.prometheus_series import DeviceTable, PluginSeries, refresh_all

log = logging.getLogger(__name__)

__all__ = [
    "DEVICE_LABELS",
    "Exposition",
    "Format",
    "MetricSource",
    "Source",
    "StateCollector",
    "TextSource",
    "add_sample",
    "build_registry",
    "default_sources",
    "device_labels",
    "inventory_families",
    "metric_families",
    "render_text",
]


class MetricSource(Protocol):
    """Families built from state at scrape time (client_python's custom collector shape)."""

    def __call__(self, state: State, /) -> Iterable[Metric]: ...


@runtime_checkable
class TextSource(Protocol):
    """A metric source that can also write its families as text, without Metric objects."""

    def __call__(self, state: State, /) -> Iterable[Metric]: ...

    def text(self, ctx: TextContext, /) -> Iterable[TextFamily]: ...

    # Optionally refresh(ctx) -> Iterator[None]: work of the next text(ctx) that the exposition
    # runs before any text, in slices (None between two), as the columns' refresh is.


Source = AnyPlugin | MetricSource


def default_sources() -> list[Source]:
    """Inventory and rollup first, then every collector registered so far."""
    return [inventory_families, *registered()]


def render_text(families: Iterable[Metric], into: bytearray | None = None) -> bytearray:
    """Text format 0.0.4 of client_python Metric objects (gauges and counters, no timestamps)."""
    buf = bytearray() if into is None else into
    for family in metric_text(families):
        buf += header(family, Format.TEXT).encode()
        for chunk in family.chunks:
            buf += chunk.encode()
    return buf


def metric_families(state: State, plugin: AnyPlugin) -> list[Metric]:
    """A collector's STATE samples as client_python Metric objects (the reference, tests)."""
    by_name: dict[str, list[tuple[dict[str, str], Labels, float]]] = {}
    fams: dict[str, Family] = {}
    for ds in list(state.devices.values()):
        part = ds.parts.get(plugin.name)
        if part is None:
            continue
        dl = device_labels(ds.device)
        for fam, value, labels, _time in plugin.samples_of(ds.device, part, View.STATE):
            fams.setdefault(fam.name, fam)
            by_name.setdefault(fam.name, []).append((dl, labels, value))
    declared = [f.name for f in plugin.families]
    names = declared + sorted(n for n in by_name if n not in declared)
    out: list[Metric] = []
    for name in names:
        fam = fams.get(name) or next(f for f in plugin.families if f.name == name)
        rows = by_name.get(name, [])
        if fam.open_labels:
            keys = sorted({k for _, labels, _ in rows for k, _ in labels})
        else:
            keys = list(fam.labels)
        cls = CounterMetricFamily if fam.kind is Kind.COUNTER else GaugeMetricFamily
        metric = cls(fam.name, fam.help, labels=[*DEVICE_LABELS, *keys])
        for dl, labels, value in rows:
            have = dict(labels)
            if fam.open_labels:
                add_sample(metric, {**dl, **{k: have.get(k, "") for k in keys}}, value)
            else:
                add_sample(metric, {**dl, **have}, value)
        out.append(metric)
    return out


class Exposition:
    """The state part of /metrics: every source, in order, as text or as Metric objects."""

    def __init__(self, state: State, sources: Iterable[Source] | None = None) -> None:
        self.state = state
        self.sources: list[Source] = list(default_sources() if sources is None else sources)
        self.devices = DeviceTable()
        self.reuse = False  # the render under way is a gzip scrape's (see chunks)
        self._series = {
            id(s): PluginSeries(s, self.devices) for s in self.sources if not callable(s)
        }

    def chunks(
        self, fmt: Format = Format.TEXT, reuse: bool = False
    ) -> Iterator[bytes | Kept | None]:
        """The body in pieces; None marks where the caller may let other work run.

        Without the `# EOF` an OpenMetrics body ends with (the caller adds its own families
        first). A source that fails is left out whole and logged; the others are written.
        reuse: collector families come as `Kept` slices (for a gzip body; see
        prometheus_series), not bytes; the caller compresses the new ones.
        """
        yield from self.devices.sync_steps(self.state)
        self.reuse = reuse
        yield from refresh_all(self._series.values(), self.devices)
        for source in self.sources:  # text sources' own work before their text (the rollup)
            refresh = getattr(source, "refresh", None) if isinstance(source, TextSource) else None
            if refresh is not None:
                try:
                    yield from refresh(self)
                except Exception:  # its text() tries again and is left out if it fails
                    log.exception("metric source %s failed", _name(source))
        for source in self.sources:
            families: Iterable[TextFamily]
            try:
                if not callable(source):
                    families = self._series[id(source)].text(reuse)
                elif isinstance(source, TextSource):
                    families = source.text(self)
                else:
                    families = map(from_metric, source(self.state))
                yield from self._write(families, fmt)
            except Exception:  # one broken source must not empty the whole scrape
                log.exception("metric source %s failed", _name(source))

    def _write(self, families: Iterable[TextFamily], fmt: Format) -> Iterator[bytes | Kept | None]:
        """Each family whole or not at all: its pieces are held until its last line."""
        for family in families:
            pieces: list[bytes | Kept] = [header(family, fmt).encode()]
            for chunk in family.chunks:
                pieces.append(chunk.encode() if isinstance(chunk, str) else chunk)
                yield None
            yield from pieces

    def render(self, into: bytearray | None = None, fmt: Format = Format.TEXT) -> bytearray:
        """The whole body at once (tests, benchmarks, the CLI)."""
        buf = bytearray() if into is None else into
        for piece in self.chunks(fmt):
            if isinstance(piece, bytes):
                buf += piece
        return buf

    def render_gzip(self, fmt: Format = Format.TEXT, level: int = 1) -> bytes:
        """The body as one gzip member from deflate segments, collector slices kept between
        calls as /metrics keeps them (tests, benchmarks; /metrics does it on the loop)."""
        return gzip_body(self.chunks(fmt, reuse=True), level)

    def collect(self) -> Iterable[Metric]:
        for source in self.sources:
            try:
                if callable(source):
                    yield from source(self.state)
                else:
                    yield from metric_families(self.state, source)
            except Exception:
                log.exception("metric source %s failed", _name(source))


def gzip_body(pieces: Iterable[bytes | Kept | None], level: int = 1) -> bytes:
    """One gzip member of chunks(reuse=True)'s pieces, in this thread; new slices are kept."""
    segments: list[Deflated] = []
    pending: list[bytes] = []
    for piece in pieces:
        if isinstance(piece, bytes):
            pending.append(piece)
        elif piece is not None:
            if pending:
                segments.append(deflate(b"".join(pending), level))
                pending = []
            if piece.deflated is None:
                assert piece.text is not None
                piece.done(deflate(piece.text, level))
            segments.append(piece.deflated)  # type: ignore[arg-type]  # done() just set it
    segments.append(deflate(b"".join(pending), level))
    return b"".join(gzip_member(segments)[0])


def _name(source: Source) -> str:
    return source.name if not callable(source) else getattr(source, "__name__", repr(source))


class StateCollector(Collector):
    """client_python's view of the state metrics (the reference in tests and benchmarks)."""

    def __init__(self, state: State, sources: Iterable[Source] | None = None) -> None:
        self.state = state
        self.exposition = Exposition(state, sources)

    def collect(self) -> Iterable[Metric]:
        return self.exposition.collect()


class _TelemetryCollector(Collector):
    def collect(self) -> Iterable[Metric]:
        return telemetry.REGISTRY.collect()


def build_registry(state: State, sources: Iterable[Source] | None = None) -> CollectorRegistry:
    """A registry holding the state metrics and netwatch's own health metrics."""
    registry = CollectorRegistry(auto_describe=False)
    registry.register(StateCollector(state, sources))
    registry.register(_TelemetryCollector())
    return registry
