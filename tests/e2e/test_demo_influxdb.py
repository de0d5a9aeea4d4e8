"""`netwatch demo --influxdb URL`: the sandboxed demo pushes into VictoriaMetrics on the host."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest

from tests.helpers.procs import free_port, netwatch_bin, repo_root
from tests.helpers.victoriametrics import VictoriaMetrics, victoriametrics  # noqa: F401


@pytest.mark.root
@pytest.mark.skipif(os.geteuid() != 0, reason="the demo's way back to the host network needs root")
def test_demo_pushes_pings_and_village_states(
    victoriametrics: VictoriaMetrics,  # noqa: F811
    tmp_path: Path,
) -> None:
    out = subprocess.run(
        [netwatch_bin(), "demo", "--listen", f"127.0.0.1:{free_port()}", "--interval", "2",
         "--duration", "7", "--refresh", "3", "--influxdb", victoriametrics.url],
        capture_output=True, text=True, timeout=90, cwd=repo_root(),
    )  # fmt: skip
    assert out.returncode == 0, out.stdout + out.stderr
    # The demo names its down village; the exporter must have written it as down (code 3).
    down = next(line for line in out.stdout.splitlines() if line.strip().startswith("down:"))
    code = down.split("(")[1].split(")")[0]
    states = victoriametrics.samples(f'netwatch_village_status_code{{village="{code}"}}')
    assert states and states[-1][2] == 3, states
    # "netwatch demo: 217 villages, 487 devices from ...": every village has snapshots.
    announced = int(out.stdout.split(" villages,")[0].split()[-1])
    villages = {s[0]["village"] for s in victoriametrics.samples("netwatch_village_devices")}
    assert len(villages) == announced
    up = victoriametrics.samples('netwatch_ping_up{role="router"}')
    assert any(s[2] == 1 for s in up) and any(s[0].get("village") == code for s in up)
