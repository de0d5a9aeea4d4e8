"""`netwatch run` as a real child process on a free loopback port, stopped by its PID."""

from __future__ import annotations

import contextlib
import re
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from tests.helpers.procs import free_port, http_get, netwatch_bin, stop, wait_for

# One village behind a POP router, every address on loopback.
CONFIG = """\
settings:
  ping: {{interval: {interval}, count: 2, spacing: 50ms, timeout: 500ms}}
{settings}regency:
  code: "35.10"
  name: Banyuwangi
  districts:
    - code: "35.10.07"
      name: Gambiran
      devices:
        - {{name: gambiran-pop, role: router, address: 127.7.0.1}}
      villages:
        - code: "35.10.07.2001"
          name: Purwodadi
          kind: desa
          devices:
            - {{name: purwodadi-router, role: router, address: 127.7.1.1, parent: gambiran-pop}}
            - {{name: purwodadi-ap-1, role: ap, address: 127.7.1.2, parent: purwodadi-router}}
"""


def config(interval: str = "1s", settings: str = "") -> str:
    return CONFIG.format(interval=interval, settings=settings)


@dataclass
class Netwatch:
    url: str
    config: Path
    proc: subprocess.Popen[bytes]
    log: Path

    def metrics(self) -> str:
        return http_get(self.url + "/metrics")[1]

    def value(self, series: str) -> float | None:
        """The value of the first sample whose name{labels prefix matches series."""
        for line in self.metrics().splitlines():
            if line.startswith(series):
                return float(line.rsplit(" ", 1)[1])
        return None

    def echoes(self, device: str) -> float:
        return self.value(f'netwatch_ping_echo_requests_total{{device="{device}"') or 0.0

    def not_ready(self, component: str, timeout: float = 20) -> str:
        """Wait until /readyz answers 503 naming component; returns the body."""

        def check() -> str | None:
            status, body = http_get(self.url + "/readyz")
            return body if status == 503 and component in body else None

        return wait_for(check, timeout, f"/readyz naming {component}")


@contextlib.contextmanager
def running(
    tmp_path: Path,
    text: str,
    *,
    # True: wait for /readyz 200; False: for /healthz 200; None: the caller waits.
    ready: bool | None = True,
    env: dict[str, str] | None = None,
    scheme: str = "http",
    port: int | None = None,
) -> Iterator[Netwatch]:
    cfg = tmp_path / "netwatch.yaml"
    cfg.write_text(text)
    port = port or free_port()
    log_path = tmp_path / "netwatch.log"
    log = open(log_path, "w")  # noqa: SIM115 (closed below)
    proc = subprocess.Popen(
        [netwatch_bin(), "run", "--config", str(cfg), "--listen", f"127.0.0.1:{port}"],
        stdout=log,
        stderr=subprocess.STDOUT,
        env=env,
    )
    nw = Netwatch(f"{scheme}://127.0.0.1:{port}", cfg, proc, log_path)
    try:
        if ready:
            wait_for(lambda: http_get(nw.url + "/readyz")[0] == 200, 30, "netwatch ready")
        elif ready is False:
            wait_for(lambda: http_get(nw.url + "/healthz")[0] == 200, 30, "netwatch serving")
        yield nw
    finally:
        code = stop(proc)
        log.close()
        assert code == 0, log_path.read_text()[-3000:]


def line_of(text: str, fragment: str) -> int:
    return next(i for i, line in enumerate(text.splitlines(), 1) if fragment in line)


def count_lines(log: Path, pattern: str) -> int:
    rx = re.compile(pattern)
    return sum(1 for line in log.read_text().splitlines() if rx.search(line))


def config_check(tmp_path: Path, text: str, name: str = "n.yaml") -> subprocess.CompletedProcess:
    """`netwatch config check` on text written to tmp_path/name, as a user runs it."""
    cfg = tmp_path / name
    cfg.write_text(text)
    return subprocess.run(
        [sys.executable, "-m", "netwatch", "config", "check", str(cfg)],
        capture_output=True,
        text=True,
        timeout=120,
    )
