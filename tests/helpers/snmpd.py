"""Start a real net-snmp snmpd (Debian) on a free 127.0.0.1 port, optionally inside a netns.

Reusable by any test or benchmark: `with running_snmpd(users=[...]) as agent: agent.port`.
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
from dataclasses import dataclass, field
from pathlib import Path

SNMPD = shutil.which("snmpd") or "/usr/sbin/snmpd"


@dataclass(frozen=True)
class V3User:
    """A USM user as net-snmp's createUser line names it (e.g. 'SHA-256', 'AES256C')."""

    name: str
    auth: str | None = None  # MD5 | SHA | SHA-224 | SHA-256 | SHA-384 | SHA-512
    auth_key: str | None = None
    priv: str | None = None  # DES | AES | AES-192 | AES-256 | AES192C | AES256C
    priv_key: str | None = None

    @property
    def level(self) -> str:
        if self.priv:
            return "authPriv"
        return "authNoPriv" if self.auth else "noAuthNoPriv"

    def config_lines(self) -> list[str]:
        parts = ["createUser", self.name]
        if self.auth:
            parts += [self.auth, self.auth_key or ""]
            if self.priv:
                parts += [self.priv, self.priv_key or ""]
        return [" ".join(parts), f"rouser {self.name} {self.level}"]


@dataclass
class Snmpd:
    host: str
    port: int
    workdir: str
    proc: subprocess.Popen[bytes]
    netns: str | None = None
    env: dict[str, str] = field(default_factory=dict)

    def tool(self, *args: str) -> list[str]:
        """A net-snmp CLI command line run where the agent runs (its netns, if any)."""
        cmd = list(args)
        return ["ip", "netns", "exec", self.netns, *cmd] if self.netns else cmd

    def run_tool(self, *args: str, timeout: float = 30) -> str:
        out = subprocess.run(
            self.tool(*args), capture_output=True, text=True, timeout=timeout, env=self.env
        )
        if out.returncode != 0:
            raise RuntimeError(f"{args[0]} failed: {out.stderr.strip()}")
        return out.stdout


def free_udp_port(host: str = "127.0.0.1") -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        s.bind((host, 0))
        return s.getsockname()[1]


@contextlib.contextmanager
def running_snmpd(
    *,
    community: str = "public",
    users: Sequence[V3User] = (),
    host: str = "127.0.0.1",
    port: int | None = None,
    netns: str | None = None,
    extra_conf: Sequence[str] = (),
    start_timeout: float = 10.0,
) -> Iterator[Snmpd]:
    """Run snmpd until the block ends; it serves the interfaces of its (net)namespace."""
    work = tempfile.mkdtemp(prefix="nw-snmpd-")
    persist = os.path.join(work, "p")
    os.mkdir(persist)
    if port is None:
        # Inside a netns the host's free port is as good a guess as any: the netns is empty.
        port = free_udp_port("127.0.0.1")
    conf = [
        f"rocommunity {community} {host}",
        "dontLogTCPWrappersConnects yes",
        *[line for u in users for line in u.config_lines()],
        *extra_conf,
    ]
    conf_path = os.path.join(work, "snmpd.conf")
    with open(conf_path, "w") as fh:
        fh.write("\n".join(conf) + "\n")
    env = {**os.environ, "SNMP_PERSISTENT_DIR": persist, "SNMPCONFPATH": work}
    cmd = [SNMPD, "-f", "-Lf", os.path.join(work, "snmpd.log"), "-C", "-c", conf_path]
    cmd += ["-m", "", f"udp:{host}:{port}"]
    if netns:
        cmd = ["ip", "netns", "exec", netns, *cmd]
    proc = subprocess.Popen(cmd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    agent = Snmpd(host, port, work, proc, netns, env)
    try:
        probe = agent.tool(
            "snmpget",
            "-v2c",
            "-c",
            community,
            "-t",
            "0.2",
            "-r",
            "0",
            "-m",
            "",
            f"{host}:{port}",
            "1.3.6.1.2.1.1.3.0",
        )
        deadline = time.monotonic() + start_timeout
        while True:
            if proc.poll() is not None:
                log = Path(work, "snmpd.log").read_text(errors="replace")
                raise RuntimeError(f"snmpd exited with {proc.returncode}: {log[-2000:]}")
            if subprocess.run(probe, capture_output=True, env=env).returncode == 0:
                break
            if time.monotonic() > deadline:
                raise RuntimeError(f"snmpd did not answer on {host}:{port} in {start_timeout}s")
            time.sleep(0.05)
        yield agent
    finally:
        if proc.poll() is None:
            proc.send_signal(signal.SIGTERM)
            try:
                proc.wait(timeout=5)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait(timeout=5)
        shutil.rmtree(work, ignore_errors=True)
