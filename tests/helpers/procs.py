"""Start and stop the real servers tests talk to: free ports, temp dirs, stop by PID only."""

from __future__ import annotations

import json
import shutil
import signal
import socket
import subprocess
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

T = TypeVar("T")


def free_port(host: str = "127.0.0.1") -> int:
    with socket.socket() as s:
        s.bind((host, 0))
        return s.getsockname()[1]


def repo_root() -> Path:
    return Path(__file__).resolve().parents[2]


def netwatch_bin() -> str:
    venv = repo_root() / ".venv" / "bin" / "netwatch"
    return str(venv) if venv.exists() else shutil.which("netwatch") or "netwatch"


def http_get(url: str, timeout: float = 5.0) -> tuple[int, str]:
    try:
        with urllib.request.urlopen(url, timeout=timeout) as resp:
            return resp.status, resp.read().decode()
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read().decode()


def http_post(url: str, data: bytes = b"", timeout: float = 30.0) -> tuple[int, str]:
    req = urllib.request.Request(url, data=data, method="POST")
    try:
        with urllib.request.urlopen(req, timeout=timeout) as resp:
            return resp.status, resp.read().decode()
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read().decode()


def wait_for(check: Callable[[], T | None], timeout: float, what: str, step: float = 0.1) -> T:
    """Poll check() until it returns a truthy value; fail naming `what` after timeout."""
    deadline = time.monotonic() + timeout
    last_exc: Exception | None = None
    while time.monotonic() < deadline:
        try:
            value = check()
            if value:
                return value
        except Exception as exc:  # the server may not be up yet
            last_exc = exc
        time.sleep(step)
    raise AssertionError(f"timed out after {timeout} s waiting for {what} (last error: {last_exc})")


def stop(proc: subprocess.Popen[Any], timeout: float = 10.0) -> int:
    """SIGTERM, then SIGKILL after timeout; only this process, by its PID."""
    if proc.poll() is None:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=timeout)
    return proc.returncode


class Prometheus:
    """A real Prometheus (Debian) on a free loopback port with its own storage dir."""

    def __init__(
        self, workdir: Path, scrape_configs: list[dict[str, Any]], rule_files: list[str] = ()
    ) -> None:
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        workdir.mkdir(parents=True, exist_ok=True)
        config = {
            "global": {"scrape_interval": "1s", "evaluation_interval": "1s"},
            "scrape_configs": scrape_configs,
            "rule_files": list(rule_files),
        }
        # JSON is YAML: no YAML writer needed here.
        (workdir / "prometheus.yml").write_text(json.dumps(config))
        self._log = open(workdir / "prometheus.log", "w")  # noqa: SIM115 (closed in close())
        self.proc = subprocess.Popen(
            [
                "prometheus",
                f"--config.file={workdir / 'prometheus.yml'}",
                f"--storage.tsdb.path={workdir / 'data'}",
                f"--web.listen-address=127.0.0.1:{self.port}",
            ],
            stdout=self._log,
            stderr=subprocess.STDOUT,
        )
        wait_for(lambda: http_get(self.url + "/-/ready")[0] == 200, 20, "prometheus ready")

    def query(self, expr: str) -> list[dict[str, Any]]:
        q = urllib.parse.urlencode({"query": expr})
        status, body = http_get(f"{self.url}/api/v1/query?{q}")
        assert status == 200, body
        data = json.loads(body)["data"]
        return data["result"]

    def close(self) -> None:
        stop(self.proc)
        self._log.close()
