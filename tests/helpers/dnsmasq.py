"""A real DNS server for tests: Debian's dnsmasq on 127.0.0.1, answering only from its flags.

It forwards nothing (--no-resolv, no servers) and reads no /etc/hosts: every answer comes from
the host records given here, and names under `local` that it does not know are NXDOMAIN.
"""

from __future__ import annotations

import shutil
import socket
import subprocess
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager

import pytest

from tests.helpers.procs import stop


def free_udp_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _answers(port: int) -> bool:
    """A raw query for 'ready.test' (a header, one question): any reply means it is up."""
    query = bytes.fromhex("12340100000100000000000005726561647904746573740000010001")
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        s.settimeout(0.2)
        s.sendto(query, ("127.0.0.1", port))
        try:
            return s.recv(512)[:2] == b"\x12\x34"
        except TimeoutError:
            return False


@contextmanager
def dnsmasq(host_records: Sequence[tuple[str, str]], local: str) -> Iterator[int]:
    """Serve name → address records (and NXDOMAIN under local) on 127.0.0.1; yields the port."""
    binary = shutil.which("dnsmasq") or "/usr/sbin/dnsmasq"
    if not shutil.which(binary):
        pytest.skip("dnsmasq is not installed (scripts/setup.sh --test installs dnsmasq-base)")
    port = free_udp_port()
    args = [binary, "--keep-in-foreground", "--conf-file=/dev/null", "--no-resolv", "--no-hosts",
            "--listen-address=127.0.0.1", "--bind-interfaces", f"--port={port}", "--pid-file=",
            "--user=nobody", f"--local=/{local}/", "--log-facility=-"]  # fmt: skip
    args += [f"--host-record={name},{address}" for name, address in host_records]
    proc = subprocess.Popen(args, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    try:
        deadline = time.monotonic() + 10
        while not _answers(port):
            if proc.poll() is not None:
                raise RuntimeError(f"dnsmasq exited: {proc.stderr.read().decode()}")  # type: ignore[union-attr]
            if time.monotonic() > deadline:
                raise RuntimeError("dnsmasq did not answer within 10 s")
            time.sleep(0.05)
        yield port
    finally:
        stop(proc)
