"""A real InfluxDB 1.x (Debian's influxd 1.6.7) with its own config in a temp dir, for tests.

It validates line protocol strictly (unlike VictoriaMetrics) and answers InfluxQL on /query.
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

BINARY = "influxd"

CONFIG = """\
reporting-enabled = false
bind-address = "127.0.0.1:{rpc_port}"
[meta]
  dir = "{dir}/meta"
[data]
  dir = "{dir}/data"
  wal-dir = "{dir}/wal"
  query-log-enabled = false
[http]
  bind-address = "127.0.0.1:{http_port}"
  log-enabled = false
[monitor]
  store-enabled = false
[continuous_queries]
  enabled = false
[logging]
  level = "error"
"""


class InfluxDB1:
    def __init__(self, directory: Path) -> None:
        self.dir = directory
        self.port = free_port()
        self.proc: subprocess.Popen | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self, timeout: float = 20.0) -> None:
        self.dir.mkdir(parents=True, exist_ok=True)
        conf = self.dir / "influxdb.conf"
        conf.write_text(CONFIG.format(dir=self.dir, rpc_port=free_port(), http_port=self.port))
        self.proc = subprocess.Popen(
            [BINARY, "-config", str(conf)],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        wait_for(
            lambda: http_get(self.url + "/ping", 1.0)[0] in (200, 204),
            timeout,
            "influxd /ping",
            step=0.05,
        )

    def stop(self) -> None:
        if self.proc is not None:
            stop(self.proc)
            self.proc = None

    def query(self, q: str, db: str | None = None, epoch: str = "ms") -> dict:
        """Run InfluxQL (POST /query) and return the decoded JSON answer."""
        params = {"q": q, "epoch": epoch}
        if db:
            params["db"] = db
        data = urllib.parse.urlencode(params).encode()
        with urllib.request.urlopen(self.url + "/query", data=data, timeout=30) as resp:
            return json.loads(resp.read())

    def rows(self, q: str, db: str) -> list[dict]:
        """InfluxQL result rows as dicts (column → value), tags merged in."""
        out = []
        for result in self.query(q, db).get("results", []):
            for series in result.get("series", []):
                tags = series.get("tags", {})
                for values in series["values"]:
                    row = dict(zip(series["columns"], values, strict=True))
                    row.update(tags)
                    out.append(row)
        return out


@pytest.fixture
def influxdb1(tmp_path: Path) -> Iterator[InfluxDB1]:
    if shutil.which(BINARY) is None:
        pytest.fail(f"{BINARY} is not installed (Debian package influxdb)")
    server = InfluxDB1(tmp_path / "influxdb1")
    server.start()
    try:
        yield server
    finally:
        server.stop()
