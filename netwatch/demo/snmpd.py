"""SNMP for the demo: one net-snmp snmpd inside the demo namespace answers for every 127.x
device address (all addresses are local there), with a generated config.

The default inventory's devices all use credential `demo-v2`, whose community is read from
NETWATCH_SNMP_COMMUNITY. The demo calls start_demo_snmpd() after build_network() (inside the
namespace; it sets that variable when unset) and stop_demo_snmpd() at exit.
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import tempfile
import time
from pathlib import Path

from netwatch.core.model import SecretRef, SnmpCredential

DEMO_COMMUNITY_ENV = "NETWATCH_SNMP_COMMUNITY"  # as configs/banyuwangi.yaml's demo-v2
DEMO_COMMUNITY = "netwatch-demo"


def demo_credential(port: int = 161) -> SnmpCredential:
    """The credential the demo inventory's devices use (community from the environment)."""
    os.environ.setdefault(DEMO_COMMUNITY_ENV, DEMO_COMMUNITY)
    return SnmpCredential(
        name="demo-v2", version="2c", community=SecretRef(env=DEMO_COMMUNITY_ENV), port=port
    )  # fmt: skip


def snmpd_config(community: str) -> str:
    """Read-only v2c for 127.0.0.0/8 only; sysName/sysLocation fixed so the demo is stable."""
    return (
        f"rocommunity {community} 127.0.0.0/8\n"
        "sysName netwatch-demo\n"
        "sysLocation Banyuwangi (demo namespace)\n"
        "sysServices 72\n"
    )


def start_demo_snmpd(
    port: int = 161, timeout: float = 5.0, netns: str | None = None
) -> tuple[subprocess.Popen[bytes], Path]:
    """Start snmpd on every address of this namespace (or of netns); wait until it answers."""
    prefix = ["ip", "netns", "exec", netns] if netns else []
    snmpd = shutil.which("snmpd") or "/usr/sbin/snmpd"
    work = Path(tempfile.mkdtemp(prefix="nw-demo-snmpd-"))
    community = os.environ.setdefault(DEMO_COMMUNITY_ENV, DEMO_COMMUNITY)
    (work / "snmpd.conf").write_text(snmpd_config(community))
    env = {**os.environ, "SNMP_PERSISTENT_DIR": str(work / "p")}
    proc = subprocess.Popen(
        [*prefix, snmpd, "-f", "-Lf", str(work / "snmpd.log"), "-C", "-c", str(work / "snmpd.conf"),
         "-m", "", f"udp:0.0.0.0:{port}"],
        env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )  # fmt: skip
    probe = [*prefix, "snmpget", "-v2c", "-c", community, "-t", "0.2", "-r", "0", "-m", "",
             f"127.0.0.1:{port}", "1.3.6.1.2.1.1.3.0"]  # fmt: skip
    deadline = time.monotonic() + timeout
    while subprocess.run(probe, capture_output=True).returncode != 0:
        if proc.poll() is not None or time.monotonic() > deadline:
            stop_demo_snmpd(proc, work)
            raise RuntimeError(f"demo snmpd did not start (see {work}/snmpd.log)")
        time.sleep(0.05)
    return proc, work


def stop_demo_snmpd(proc: subprocess.Popen[bytes], work: Path) -> None:
    if proc.poll() is None:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(timeout=5)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=5)
    shutil.rmtree(work, ignore_errors=True)
