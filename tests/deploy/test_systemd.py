"""deploy/systemd/netwatch@.service: systemd accepts it, and its command line, run as systemd
would for `netwatch@1-b`, starts shard 1 replica b of a 3 x 2 cluster."""

from __future__ import annotations

import re
import shlex
import shutil
import subprocess
from pathlib import Path

import pytest

from tests.config.test_regions import PROVINCE
from tests.helpers.configs import write
from tests.helpers.procs import free_port, http_get, netwatch_bin, repo_root, stop, wait_for

UNIT = repo_root() / "deploy" / "systemd" / "netwatch@.service"
INSTALLED = "/opt/netwatch/.venv/bin/netwatch"


def unit_text() -> str:
    return UNIT.read_text(encoding="utf-8")


def exec_start() -> str:
    (line,) = re.findall(r"^ExecStart=(.+)$", unit_text(), re.M)
    return line


def test_systemd_analyze_verify_accepts_an_instance(tmp_path: Path) -> None:
    if shutil.which("systemd-analyze") is None:
        pytest.fail("systemd-analyze is not installed (Debian package systemd)")
    # The unit as installed, but pointing at this checkout's netwatch (verify checks the binary).
    assert INSTALLED in exec_start()
    (tmp_path / UNIT.name).write_text(unit_text().replace(INSTALLED, netwatch_bin()))
    (tmp_path / "netwatch@1-b.service").symlink_to(UNIT.name)
    done = subprocess.run(
        ["systemd-analyze", "verify", str(tmp_path / "netwatch@1-b.service")],
        capture_output=True, text=True, timeout=60,
    )  # fmt: skip
    assert done.returncode == 0, done.stdout + done.stderr
    # A unit systemd would refuse is refused here too (the check can fail).
    (tmp_path / "broken@.service").write_text(unit_text().replace(INSTALLED, "/nonexistent/nw"))
    (tmp_path / "broken@1-b.service").symlink_to("broken@.service")
    bad = subprocess.run(
        ["systemd-analyze", "verify", str(tmp_path / "broken@1-b.service")],
        capture_output=True, text=True, timeout=60,
    )  # fmt: skip
    assert bad.returncode != 0 and "not executable" in bad.stderr


def test_the_units_command_line_runs_shard_1_replica_b(tmp_path: Path) -> None:
    config = write(tmp_path, "settings:\n  cluster: {shards: 3, replicas: 2}\n" + PROVINCE)
    listen = f"127.0.0.1:{free_port()}"
    # systemd's substitutions for netwatch@1-b with NETWATCH_LISTEN from its instance file.
    line = exec_start().replace("%i", "1-b").replace("${NETWATCH_LISTEN}", listen)
    argv = shlex.split(line.replace(INSTALLED, netwatch_bin()))
    argv[argv.index("/etc/netwatch/netwatch.yaml")] = str(config)
    proc = subprocess.Popen(argv, cwd=tmp_path, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    try:
        url = f"http://{listen}/metrics"

        def member() -> str | None:
            if proc.poll() is not None:
                raise AssertionError(proc.stderr.read().decode() if proc.stderr else "exited")
            try:
                status, body = http_get(url, 2.0)
            except OSError:
                return None
            lines = [ln for ln in body.splitlines() if ln.startswith("netwatch_cluster_member")]
            return lines[0] if status == 200 and lines else None

        got = wait_for(member, 60, "netwatch /metrics", 0.2)
        assert got == 'netwatch_cluster_member_info{member_shard="1",member_replica="b"} 1.0'
    finally:
        stop(proc)
    # Its own alert database, named for the instance, beside the config.
    assert (tmp_path / "netwatch-alerts-shard1-b.sqlite3").exists()
