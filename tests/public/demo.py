"""`netwatch demo` as the public board's test bed: its real namespace network, its board."""

from __future__ import annotations

import json
import queue
import re
import subprocess
import threading
import time
from dataclasses import dataclass, field

from tests.helpers.procs import free_port, http_get, netwatch_bin, stop

_SCENARIO = re.compile(r"^\s+(down|degraded|lossy|radio):\s+.*\((\d\d\.\d\d\.\d\d\.\d{4})\)")


@dataclass
class Demo:
    proc: subprocess.Popen[str]
    admin: str
    public: str
    scenario: dict[str, str] = field(default_factory=dict)  # kind → village code
    lines: list[str] = field(default_factory=list)

    def cut(self, addresses: list[str]) -> None:
        """Drop echoes and SNMP to these addresses inside the demo's own namespace."""
        targets = ", ".join(addresses)
        rules = (
            "table inet public_board_test {\n chain input {\n"
            "  type filter hook input priority -10; policy accept;\n"
            f"  ip daddr {{ {targets} }} icmp type echo-request drop\n"
            f"  ip daddr {{ {targets} }} udp dport 161 drop\n }}\n}}\n"
        )
        subprocess.run(
            ["nsenter", f"--net=/proc/{self.proc.pid}/ns/net", "nft", "-f", "-"],
            input=rules,
            text=True,
            check=True,
            capture_output=True,
            timeout=10,
        )

    def close(self) -> None:
        stop(self.proc, timeout=20)


def start_demo(timeout: float = 120.0) -> Demo:
    """Start the demo (ping every 2 s) and wait until its board shows every village known."""
    admin, public = free_port(), free_port()
    proc = subprocess.Popen(
        [
            netwatch_bin(), "demo", "--listen", f"127.0.0.1:{admin}",
            "--public-listen", f"127.0.0.1:{public}", "--interval", "2", "--refresh", "5",
        ],
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
    )  # fmt: skip
    demo = Demo(proc, f"http://127.0.0.1:{admin}", f"http://127.0.0.1:{public}")
    lines: queue.Queue[str] = queue.Queue()

    def read() -> None:
        assert proc.stdout is not None
        for line in proc.stdout:
            lines.put(line.rstrip("\n"))

    threading.Thread(target=read, daemon=True).start()
    deadline = time.monotonic() + timeout
    try:
        while time.monotonic() < deadline:
            while not lines.empty():
                line = lines.get()
                demo.lines.append(line)
                if m := _SCENARIO.match(line):
                    demo.scenario[m.group(1)] = m.group(2)
            if proc.poll() is not None:
                raise AssertionError("demo exited:\n" + "\n".join(demo.lines))
            status, body = _try(f"{demo.public}/api/v1/regencies/35.10")
            if status == 200 and json.loads(body)["counts"]["unknown"] == 0:
                return demo  # the regency's own count (each district has one too)
            time.sleep(0.5)
        raise AssertionError(
            "the demo's board did not know every village:\n" + "\n".join(demo.lines)
        )
    except BaseException:
        demo.close()
        raise


def _try(url: str) -> tuple[int, str]:
    try:
        return http_get(url)
    except OSError:
        return 0, ""
