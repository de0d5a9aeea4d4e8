"""Poll recordings through snmpsim for the profile tests; read expectations from the files."""

from __future__ import annotations

import asyncio
from collections.abc import Iterable
from pathlib import Path

from netwatch.collectors.snmp.collector import probe
from netwatch.collectors.snmp.engine import SnmpEngine
from netwatch.collectors.snmp.observation import SnmpObservation, SnmpSample
from tests.collectors.snmp.support import SETTINGS, device, v2c
from tests.helpers import snmprec


def poll_all(port: int, names: Iterable[str]) -> dict[str, SnmpObservation]:
    """One poll of each community on one snmpsim."""

    async def run() -> dict[str, SnmpObservation]:
        async with SnmpEngine() as engine:
            return {n: await probe(device(n), v2c(n, port), SETTINGS, engine) for n in names}

    return asyncio.run(run())


def recs(folder: Path, name: str) -> dict:
    return snmprec.read(folder / f"{name}.snmprec")


def col(r: dict, oid: str) -> dict[tuple[int, ...], snmprec.Record]:
    return snmprec.column(r, oid)


def mac(sub: tuple[int, ...]) -> str:
    """MAC index sub-ids as aa:bb:cc:dd:ee:ff (written here, not taken from netwatch)."""
    return ":".join(f"{b:02x}" for b in sub)


def picked(samples: Iterable[SnmpSample], metric: str, **want: str) -> list[SnmpSample]:
    return [s for s in samples if s.metric == metric
            and all(dict(s.labels).get(k) == v for k, v in want.items())]  # fmt: skip


def by(samples: Iterable[SnmpSample], metric: str, key: tuple[str, ...], **want: str) -> dict:
    """{label values: value} of one metric's samples that carry the wanted labels."""
    out = {}
    for s in picked(samples, metric, **want):
        labels = dict(s.labels)
        k = tuple(labels.get(x, "") for x in key)
        assert k not in out, f"two samples for {metric} {k}"
        out[k if len(k) > 1 else k[0]] = s.value
    return out


def scope_totals(samples: Iterable[SnmpSample]) -> dict[str, float]:
    """Sum of wifi_clients within each scope."""
    out: dict[str, float] = {}
    for s in samples:
        scope = dict(s.labels)["scope"]
        out[scope] = out.get(scope, 0) + s.value
    return out
