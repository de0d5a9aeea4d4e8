"""The demo's case: a process in a private network namespace writes to the host's loopback."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.helpers.victoriametrics import VictoriaMetrics

REPO = Path(__file__).resolve().parents[3]


@pytest.mark.root
@pytest.mark.skipif(os.geteuid() != 0, reason="setns back to the host namespace needs root")
def test_sandboxed_process_reaches_host_loopback(
    victoriametrics: VictoriaMetrics, tmp_path: Path
) -> None:
    t0 = float(int(time.time()) - 30)
    out = subprocess.run(
        [sys.executable, "-m", "tests.exporters.influxdb.child_hostnet", victoriametrics.url,
         str(tmp_path / "spool"), "v2", str(t0)],
        cwd=REPO, env=dict(os.environ, PYTHONPATH=str(REPO)), capture_output=True, text=True,
        timeout=60,
    )  # fmt: skip
    assert out.returncode == 0, out.stdout + out.stderr
    assert out.stdout.strip() == "delivered"
    rtt = victoriametrics.samples('{__name__="netwatch_ping_rtt_avg_seconds"}')
    assert [(s[0]["device"], s[1], s[2]) for s in rtt] == [("ap 1", int(t0 * 1000), 0.004)]
