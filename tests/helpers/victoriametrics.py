"""A real VictoriaMetrics (Debian's victoria-metrics) on a free loopback port, for tests.

It accepts InfluxDB line protocol on /api/v2/write (metric = measurement_field, tags → labels)
and keeps duplicate samples unless started with dedup: exactly-once is checkable.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import urllib.parse
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.helpers.procs import free_port, http_get, stop, wait_for

BINARY = "victoria-metrics"


class VictoriaMetrics:
    def __init__(
        self, data_dir: Path, port: int | None = None, extra: tuple[str, ...] = ()
    ) -> None:
        self.data_dir = data_dir
        self.port = port or free_port()
        self.extra = extra  # more flags, e.g. -promscrape.config=... -dedup.minScrapeInterval=...
        self.proc: subprocess.Popen | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self, timeout: float = 15.0) -> None:
        """Start (again, same port and storage) and wait until /health answers."""
        self.proc = subprocess.Popen(
            [
                BINARY,
                f"-httpListenAddr=127.0.0.1:{self.port}",
                f"-storageDataPath={self.data_dir}",
                "-search.latencyOffset=1s",
                "-loggerLevel=ERROR",
                *self.extra,
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        wait_for(
            lambda: http_get(self.url + "/health", 1.0)[0] in (200, 204),
            timeout,
            "victoria-metrics /health",
            step=0.05,
        )

    def stop(self) -> None:
        if self.proc is not None:
            stop(self.proc)
            self.proc = None

    def export(self, match: str = '{__name__=~"netwatch_.*"}') -> list[dict]:
        """Every stored series matching, as /api/v1/export's JSON lines (after a force flush)."""
        urllib.request.urlopen(self.url + "/internal/force_flush", timeout=10).read()
        query = urllib.parse.urlencode({"match[]": match, "start": "0"})
        with urllib.request.urlopen(f"{self.url}/api/v1/export?{query}", timeout=30) as resp:
            return [json.loads(line) for line in resp.read().splitlines() if line.strip()]

    def samples(self, match: str = '{__name__=~"netwatch_.*"}') -> list[tuple[dict, int, float]]:
        """Flattened (labels, timestamp ms, value) of every stored sample, duplicates kept."""
        out = []
        for series in self.export(match):
            for ts, value in zip(series["timestamps"], series["values"], strict=True):
                out.append((series["metric"], ts, value))
        return out


@pytest.fixture
def victoriametrics(tmp_path: Path) -> Iterator[VictoriaMetrics]:
    if shutil.which(BINARY) is None:
        pytest.fail(f"{BINARY} is not installed (Debian package victoria-metrics)")
    vm = VictoriaMetrics(tmp_path / "vm")
    vm.start()
    try:
        yield vm
    finally:
        vm.stop()
