"""`netwatch demo` starts, reports its down village, and exits cleanly in bounded time."""

from __future__ import annotations

import contextlib
import json
import os
import queue
import re
import signal
import subprocess
import threading
import time

from prometheus_client.parser import text_string_to_metric_families

from tests.helpers.procs import free_port, http_get, netwatch_bin, stop, wait_for

SCENARIO = re.compile(
    r"^\s+(down|degraded|radio):\s+.*\((\d\d\.\d\d\.\d\d\.\d{4})\), .*?(?:router|point) (\S+) "
)


def _reader(stream, lines: queue.Queue[str]) -> None:
    for line in stream:
        lines.put(line.rstrip("\n"))


def _nsping(pid: int, address: str) -> bool:
    """Ping with iputils inside the demo's own namespace: an independent view of the network."""
    r = subprocess.run(
        [
            "nsenter",
            f"--net=/proc/{pid}/ns/net",
            "ping",
            "-c",
            "2",
            "-i",
            "0.2",
            "-W",
            "1",
            "-q",
            address,
        ],
        capture_output=True,
        timeout=10,
    )
    return r.returncode == 0


def test_demo_reports_down_and_degraded_then_stops_cleanly() -> None:
    port = free_port()
    proc = subprocess.Popen(
        [
            netwatch_bin(),
            "demo",
            "--listen",
            f"127.0.0.1:{port}",
            "--interval",
            "2",
            "--refresh",
            "1",
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    lines: queue.Queue[str] = queue.Queue()
    threading.Thread(target=_reader, args=(proc.stdout, lines), daemon=True).start()
    seen: list[str] = []
    scenario: dict[str, tuple[str, str]] = {}
    try:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            try:
                line = lines.get(timeout=1)
            except queue.Empty:
                assert proc.poll() is None, "\n".join(seen)
                continue
            seen.append(line)
            if m := SCENARIO.match(line):
                scenario[m.group(1)] = (m.group(2), m.group(3))
            if "2 degraded, 1 down, 0 unknown" in line:
                break
        else:
            raise AssertionError("no complete summary within 60 s:\n" + "\n".join(seen))
        assert f"http://127.0.0.1:{port}/metrics" in "\n".join(seen)
        down_code, down_device = scenario["down"]
        degraded_code, degraded_device = scenario["degraded"]
        assert f"({down_code})" in seen[-1]

        villages = json.loads(http_get(f"http://127.0.0.1:{port}/api/v1/villages")[1])
        by_code = {v["village"]: v for v in villages}
        assert len(villages) == 217
        assert by_code[down_code]["status"] == "down"
        assert [d["device"] for d in by_code[down_code]["down_devices"]] == [down_device]
        assert by_code[degraded_code]["status"] == "degraded"
        assert sum(v["status"] == "up" for v in villages) == 214
        # The radio-off AP answers ping (iputils agrees below) but SNMP says its radio is down.
        radio_code, radio_device = scenario["radio"]
        assert by_code[radio_code]["status"] == "degraded"
        assert by_code[radio_code]["down_devices"][0]["device"] == radio_device
        assert by_code[radio_code]["down_devices"][0]["reason"] == "radio down"

        metrics = http_get(f"http://127.0.0.1:{port}/metrics")[1]
        addresses = {
            sample.labels["device"]: sample.labels["address"]
            for fam in text_string_to_metric_families(metrics)
            if fam.name == "netwatch_device_info"
            for sample in fam.samples
        }
        # iputils ping in the demo's namespace agrees: cut-off devices are silent, others answer.
        assert not _nsping(proc.pid, addresses[down_device])
        assert not _nsping(proc.pid, addresses[degraded_device])
        up_router = next(n for n in addresses if n.endswith("-router") and n != down_device)
        assert _nsping(proc.pid, addresses[up_router])
        assert _nsping(proc.pid, addresses[radio_device])
        # net-snmp's snmpget, in the demo's namespace, reads the radio's ifOperStatus: down (2).
        oper = subprocess.run(
            [
                "nsenter",
                f"--net=/proc/{proc.pid}/ns/net",
                "snmpwalk",
                "-v2c",
                "-c",
                "netwatch-demo",
                "-m",
                "",
                "-On",
                "-Oqv",
                addresses[radio_device],
                "1.3.6.1.2.1.2.2.1.8",
            ],
            capture_output=True,
            text=True,
            timeout=10,
        ).stdout.split()
        assert "2" in oper and "1" in oper  # the radio down, the ethernet port up

        demo_ns = os.readlink(f"/proc/{proc.pid}/ns/net")
        assert demo_ns != os.readlink("/proc/self/ns/net")  # it really ran in its own namespace
        children = subprocess.run(
            ["ps", "-o", "pid=", "--ppid", str(proc.pid)], capture_output=True, text=True
        ).stdout.split()
        proc.send_signal(signal.SIGINT)
        rc = proc.wait(timeout=15)
        assert rc == 0
        wait_for(lambda: "netwatch demo stopped." in _drain(lines, seen), 5, "goodbye line")
        for child in children:
            assert not os.path.exists(f"/proc/{child}"), f"child {child} left behind"
        # Nothing is left in the demo's namespace: no process holds it any more.
        assert demo_ns not in _namespaces_in_use()
    finally:
        stop(proc)


def _namespaces_in_use() -> set[str]:
    found = set()
    for pid in os.listdir("/proc"):
        if pid.isdigit():
            with contextlib.suppress(OSError):  # the process ended meanwhile
                found.add(os.readlink(f"/proc/{pid}/ns/net"))
    return found


def _drain(lines: queue.Queue[str], seen: list[str]) -> str:
    while True:
        try:
            seen.append(lines.get_nowait())
        except queue.Empty:
            return "\n".join(seen)
