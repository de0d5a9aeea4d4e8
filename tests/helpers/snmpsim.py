"""Serve the committed recordings (tests/data/snmprec) with snmpsim on a free 127.0.0.1 port.

`running_snmpsim(data_dir)` runs snmpsim on a temporary copy and yields (host, port);
`running_writable(recording, community, oids)` serves one recording with some records settable.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import subprocess
import tempfile
import time
from collections.abc import Callable, Collection, Iterator, Sequence
from pathlib import Path

from tests.helpers.data import SNMPREC_DIR
from tests.helpers.snmpd import free_udp_port

# SNMPSIM_BIN, else the venv scripts/setup.sh makes (SNMPSIM_VENV, default /opt/netwatch-snmpsim).
SNMPSIM = os.environ.get("SNMPSIM_BIN") or os.path.join(
    os.environ.get("SNMPSIM_VENV", "/opt/netwatch-snmpsim"), "bin", "snmpsim-command-responder"
)


def snmprec_dir() -> Path:
    """The real-device recordings committed with the tests."""
    return SNMPREC_DIR


@contextlib.contextmanager
def running_snmpsim(
    source: Path,
    *,
    transform: Callable[[Path], None] | None = None,
    probe_community: str | None = None,
    start_timeout: float = 20.0,
    extra_args: Sequence[str] = (),
) -> Iterator[tuple[str, int]]:
    """snmpsim serving a copy of every *.snmprec in source; transform may edit the copy.

    extra_args go first on the command line (the --v3-engine-id/--v3-user... group).
    """
    work = Path(tempfile.mkdtemp(prefix="nw-snmpsim-"))
    data, cache = work / "data", work / "cache"
    shutil.copytree(source, data, ignore=shutil.ignore_patterns("*.py", "*.md", "COPYING"))
    if transform is not None:
        transform(data)
    cache.mkdir()
    for root, _dirs, files in os.walk(work):  # snmpsim drops to 'nobody'
        os.chmod(root, 0o777 if Path(root) == cache else 0o755)
        for name in files:
            os.chmod(os.path.join(root, name), 0o644)
    port = free_udp_port()
    cmd = [
        SNMPSIM,
        *extra_args,
        f"--data-dir={data}",
        f"--cache-dir={cache}",
        f"--agent-udpv4-endpoint=127.0.0.1:{port}",
        "--log-level=error",
    ]
    if os.geteuid() == 0:
        cmd += ["--process-user=nobody", "--process-group=nogroup"]
    community = probe_community or next(data.glob("*.snmprec")).stem
    probe = [
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
        f"127.0.0.1:{port}",
        "1.3.6.1.2.1.1.3.0",
    ]
    env = {**os.environ, "SNMP_PERSISTENT_DIR": str(work / "p")}
    with open(work / "snmpsim.log", "w") as log:
        proc = subprocess.Popen(cmd, stdout=log, stderr=subprocess.STDOUT)
    try:
        deadline = time.monotonic() + start_timeout
        while subprocess.run(probe, capture_output=True, env=env).returncode != 0:
            if proc.poll() is not None:
                text = (work / "snmpsim.log").read_text(errors="replace")
                raise RuntimeError(f"snmpsim exited: {text[-2000:]}")
            if time.monotonic() > deadline:
                raise RuntimeError(f"snmpsim did not answer within {start_timeout}s")
            time.sleep(0.05)
        yield ("127.0.0.1", port)
    finally:
        if proc.poll() is None:
            proc.send_signal(signal.SIGTERM)
            try:
                proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait(timeout=5)
        shutil.rmtree(work, ignore_errors=True)


def make_writable(path: Path, oids: Collection[str]) -> None:
    """Make the records of oids settable (snmpsim's writecache variation), keeping their values."""
    lines = []
    for line in path.read_text(encoding="latin-1").splitlines():  # latin-1: bytes kept as they are
        oid, _, rest = line.partition("|")
        if oid in oids:
            tag, _, value = rest.partition("|")
            line = f"{oid}|{tag}:writecache|value={value}"
        lines.append(line)
    path.write_text("\n".join(lines) + "\n", encoding="latin-1")


@contextlib.contextmanager
def running_writable(recording: Path, community: str, oids: Collection[str]) -> Iterator[int]:
    """snmpsim serving one recording under community, the records of oids settable; yields port."""
    with tempfile.TemporaryDirectory(prefix="nw-rec-") as src:
        name = f"{community}.snmprec"
        shutil.copy(recording, Path(src) / name)
        with running_snmpsim(
            Path(src), transform=lambda data: make_writable(data / name, oids),
            probe_community=community,
        ) as (_, port):  # fmt: skip
            yield port


def snmpset_int(port: int, community: str, oid: str, value: int) -> None:
    """Set one INTEGER on 127.0.0.1:port with net-snmp's snmpset (a peer tool, not our code)."""
    cmd = ["snmpset", "-v2c", "-c", community, "-m", "", f"127.0.0.1:{port}", oid, "i", str(value)]
    subprocess.run(cmd, check=True, capture_output=True, timeout=20)


def parse_snmprec(path: Path) -> list[tuple[tuple[int, ...], int, object]]:
    """The (oid, type tag, value) lines of a .snmprec file, in file order, decoded.

    Values: ints for numeric tags, bytes for 4/4x/4e/64/68, OID tuples for 6.
    """
    out = []
    for line in path.read_text(encoding="latin-1").splitlines():
        if not line.strip() or line.startswith("#"):
            continue
        # snmpsim strips each whole line (grammar/snmprec.py), trailing spaces of values too.
        oid_text, tag, raw = line.strip().split("|", 2)
        oid = tuple(int(x) for x in oid_text.split("."))
        code = int(tag.rstrip("xe"))
        value: object
        if tag.endswith("x"):
            value = bytes.fromhex(raw)
        elif tag.endswith("e"):
            value = raw.encode("latin-1").decode("unicode_escape").encode("latin-1")
        elif code in (4, 68):
            value = raw.encode("latin-1")
        elif code == 64:
            value = bytes(int(x) for x in raw.split("."))
        elif code == 6:
            value = tuple(int(x) for x in raw.split(".")) if raw else ()
        elif code == 5:
            value = None
        else:
            value = int(raw)
        out.append((oid, code, value))
    return out


def available() -> bool:
    return Path(SNMPSIM).exists()
