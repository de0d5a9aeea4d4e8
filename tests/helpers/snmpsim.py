"""Serve .snmprec recordings with snmpsim on a free 127.0.0.1 port (HOWTO.md recipe).

`with running_snmpsim(data_dir) as agent: agent.port` — the community is the file name.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import socket
import subprocess
import tempfile
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

SNMPSIM = os.environ.get("SNMPSIM_BIN", "/opt/netwatch-snmpsim/bin/snmpsim-command-responder")
SNMPGET = shutil.which("snmpget") or "/usr/bin/snmpget"


@dataclass(frozen=True)
class SimAgent:
    host: str
    port: int
    work: Path
    pid: int


def free_udp_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def available() -> bool:
    return Path(SNMPSIM).exists()


@contextlib.contextmanager
def running_snmpsim(
    sources: Sequence[Path],
    *,
    probe_community: str | None = None,
    v3_args: Sequence[str] = (),
    timeout: float = 15.0,
) -> Iterator[SimAgent]:
    """Copy the .snmprec files/dirs into a temp data dir and serve them; stop by PID."""
    work = Path(tempfile.mkdtemp(prefix="nw-snmpsim-"))
    data, cache = work / "data", work / "cache"
    data.mkdir()
    cache.mkdir()
    for src in sources:
        if src.is_dir():
            for f in src.glob("*.snmprec"):
                shutil.copy(f, data / f.name)
        else:
            shutil.copy(src, data / src.name)
    for root, _dirs, files in os.walk(work):  # readable by 'nobody'
        os.chmod(root, 0o777 if Path(root) == cache else 0o755)
        for f in files:
            os.chmod(os.path.join(root, f), 0o644)
    probe_community = probe_community or sorted(data.glob("*.snmprec"))[0].stem
    port = free_udp_port()
    cmd = [SNMPSIM, *v3_args, f"--data-dir={data}", f"--cache-dir={cache}",
           f"--agent-udpv4-endpoint=127.0.0.1:{port}", "--log-level=error"]  # fmt: skip
    if os.geteuid() == 0:  # snmpsim refuses to run as root
        cmd += ["--process-user=nobody", "--process-group=nogroup"]
    log = open(work / "snmpsim.log", "w")  # noqa: SIM115 - closed in finally
    proc = subprocess.Popen(cmd, stdout=log, stderr=subprocess.STDOUT)
    try:
        probe = [SNMPGET, "-v2c", "-c", probe_community, "-t", "0.2", "-r", "0", "-m", "",
                 f"127.0.0.1:{port}", "1.3.6.1.2.1.1.3.0"]  # fmt: skip
        deadline = time.monotonic() + timeout
        while True:
            if proc.poll() is not None:
                raise RuntimeError(f"snmpsim exited: {(work / 'snmpsim.log').read_text()[-2000:]}")
            if subprocess.run(probe, capture_output=True).returncode == 0:
                break
            if time.monotonic() > deadline:
                raise RuntimeError(f"snmpsim did not answer within {timeout} s")
            time.sleep(0.05)
        yield SimAgent("127.0.0.1", port, work, proc.pid)
    finally:
        proc.send_signal(signal.SIGTERM)  # only the process we started
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=5)
        log.close()
        shutil.rmtree(work, ignore_errors=True)
