"""A real Alertmanager (Debian prometheus-alertmanager) on a free loopback port.

    am = Alertmanager(tmp_path, webhook_url=sink.url + "/am", resolve_timeout="1s")
    await am.start(); ...; am.stop()

Never joins a cluster (`--cluster.listen-address=` empty). `stop()` + `start()` again keeps
the port, to test an Alertmanager that goes away and comes back.
"""

from __future__ import annotations

import asyncio
import os
import signal
import socket
import subprocess
import time
from pathlib import Path
from typing import Any

import aiohttp

from tests.helpers import needs

BINARY = "prometheus-alertmanager"

CONFIG = """\
global:
  resolve_timeout: {resolve_timeout}
route:
  receiver: sink
  group_by: [alertname, village, device]
  group_wait: {group_wait}
  group_interval: {group_interval}
  repeat_interval: 1h
receivers:
  - name: sink
    webhook_configs:
      - url: {webhook_url}
        send_resolved: true
"""


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def require_alertmanager() -> str:
    return needs.tool(BINARY, "prometheus-alertmanager")


class Alertmanager:
    def __init__(
        self,
        workdir: Path,
        webhook_url: str,
        resolve_timeout: str = "5m",
        group_wait: str = "100ms",
        group_interval: str = "500ms",
    ) -> None:
        self.dir = Path(workdir)
        self.dir.mkdir(parents=True, exist_ok=True)
        self.port = free_port()
        self.proc: subprocess.Popen[bytes] | None = None
        (self.dir / "alertmanager.yml").write_text(
            CONFIG.format(
                resolve_timeout=resolve_timeout,
                group_wait=group_wait,
                group_interval=group_interval,
                webhook_url=webhook_url,
            )
        )

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    async def start(self, timeout: float = 15.0) -> Alertmanager:
        binary = require_alertmanager()
        log = open(self.dir / "alertmanager.log", "ab")  # noqa: SIM115 - child keeps it
        self.proc = subprocess.Popen(
            [
                binary,
                f"--config.file={self.dir / 'alertmanager.yml'}",
                f"--storage.path={self.dir / 'data'}",
                f"--web.listen-address=127.0.0.1:{self.port}",
                "--cluster.listen-address=",
                "--log.level=warn",
            ],
            stdout=log,
            stderr=log,
            env={k: v for k, v in os.environ.items() if not k.endswith("_proxy")},
        )
        log.close()
        deadline = time.monotonic() + timeout
        async with aiohttp.ClientSession() as session:
            while time.monotonic() < deadline:
                if self.proc.poll() is not None:
                    raise RuntimeError(f"alertmanager exited: {self.log_tail()}")
                try:
                    async with session.get(f"{self.url}/-/ready") as resp:
                        if resp.status == 200:
                            return self
                except aiohttp.ClientError:
                    pass
                await asyncio.sleep(0.05)
        self.stop()
        raise TimeoutError(f"alertmanager not ready in {timeout}s: {self.log_tail()}")

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(5)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(5)
        self.proc = None

    def log_tail(self) -> str:
        path = self.dir / "alertmanager.log"
        return path.read_text(errors="replace")[-2000:] if path.exists() else ""

    async def alerts(self) -> list[dict[str, Any]]:
        """GET /api/v2/alerts: what Alertmanager itself holds (active and not)."""
        async with (
            aiohttp.ClientSession() as session,
            session.get(f"{self.url}/api/v2/alerts") as resp,
        ):
            resp.raise_for_status()
            return await resp.json()
