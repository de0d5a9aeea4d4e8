"""Defect 16: without ICMP permission `netwatch run` printed a 28-line traceback before the
clear message, and the message advised `setcap` on the system Python (raw sockets for every
Python program). Run for real: stripped of every capability, in a namespace whose
net.ipv4.ping_group_range admits no group. The user stays root without capabilities (no
CAP_NET_RAW, no CAP_DAC_OVERRIDE): `nobody` cannot read a clone under a private directory
(a fresh clone under `mktemp -d` failed so), while root still reads what it owns.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
import uuid
from pathlib import Path

import pytest

from tests.helpers.netwatch_proc import config
from tests.helpers.procs import netwatch_bin


def test_no_icmp_permission_is_one_clear_message(tmp_path: Path) -> None:
    if os.geteuid() != 0 or not shutil.which("setpriv"):
        pytest.skip("needs root (namespaces) and setpriv (util-linux)")
    ns = f"nw-harden-icmp-{uuid.uuid4().hex[:6]}"
    work = Path(tempfile.mkdtemp(prefix="nw-icmp-"))
    cfg = work / "netwatch.yaml"
    cfg.write_text(config())
    subprocess.run(["ip", "netns", "add", ns], check=True)
    try:
        subprocess.run(["ip", "netns", "exec", ns, "ip", "link", "set", "lo", "up"], check=True)
        r = subprocess.run(
            ["ip", "netns", "exec", ns, "setpriv", "--inh-caps=-all", "--bounding-set=-all", "--",
             netwatch_bin(), "run", "--config", str(cfg), "--listen", "127.0.0.1:0"],
            capture_output=True,
            text=True,
            timeout=60,
        )  # fmt: skip
    finally:
        subprocess.run(["ip", "netns", "delete", ns], check=False)
        shutil.rmtree(work, ignore_errors=True)
    assert r.returncode == 1
    err = r.stderr
    assert "Traceback" not in err
    lines = [ln for ln in err.splitlines() if "cannot open an ICMP socket" in ln]
    assert len(lines) == 1, err
    message = lines[0]
    assert "Operation not permitted" in message or "Permission denied" in message
    assert "AmbientCapabilities=CAP_NET_RAW" in message
    assert "python3 -m venv --copies" in message
    gid = os.getgid()  # the advice names the running process's own group
    assert f"ping_group_range='{gid} {gid}'" in message and "(now 1 0)" in message
    assert "setcap cap_net_raw+ep <python>" not in message
    assert "/usr/bin/python" not in message
