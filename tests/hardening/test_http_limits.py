"""Defect 4: slowloris. A half-open request held its connection for minutes; 1,100 of them
exhausted the open-files limit and /metrics timed out. Now a request's headers must arrive
within header_timeout, one client holds at most max_connections_per_client, and the soft
open-files limit is raised to the hard one.
"""

from __future__ import annotations

import contextlib
import socket
import time
from pathlib import Path

from tests.helpers.netwatch_proc import config, running
from tests.helpers.procs import http_get, wait_for

WEB = "  web: {header_timeout: 2s, max_connections_per_client: 20, max_connections: 200}\n"


def _slow_client(port: int) -> socket.socket:
    """A connection from 127.0.0.2 that starts a request and never finishes its headers."""
    s = socket.socket()
    s.bind(("127.0.0.2", 0))
    s.connect(("127.0.0.1", port))
    s.sendall(b"GET /metrics HTTP/1.1\r\nHost: 127.0.0.1\r\n")
    s.setblocking(False)
    return s


def _closed(s: socket.socket) -> bool:
    try:
        return s.recv(4096) == b""
    except BlockingIOError:
        return False
    except ConnectionResetError:
        return True


def test_slow_headers_are_cut_and_one_client_cannot_take_every_connection(tmp_path: Path):
    with running(tmp_path, config(settings=WEB)) as nw:
        port = int(nw.url.rsplit(":", 1)[1])
        limits = Path(f"/proc/{nw.proc.pid}/limits").read_text()
        row = next(line for line in limits.splitlines() if line.startswith("Max open files"))
        soft, hard = row.split()[3:5]
        assert soft == hard, row
        clients = [_slow_client(port) for _ in range(60)]
        try:
            started = time.monotonic()
            # Beyond 20 from one address: closed at once.
            wait_for(lambda: sum(map(_closed, clients)) >= 40, 5, "over-cap connections closed")
            survivors = [s for s in clients if not _closed(s)]
            assert len(survivors) == 20
            # A scrape from another address is served meanwhile.
            status, body = http_get(nw.url + "/metrics", timeout=5)
            assert status == 200 and "netwatch_device_info" in body

            # The survivors trickle a header byte every 0.3 s: cut 2 s after their first byte.
            def trickle_until_closed() -> bool:
                for s in survivors:
                    with contextlib.suppress(OSError):
                        s.send(b"X")
                time.sleep(0.3)
                return all(_closed(s) for s in survivors)

            wait_for(trickle_until_closed, 15, "slow requests cut", step=0)
            assert time.monotonic() - started >= 1.5  # by the timeout, not at once
            closed = 'netwatch_http_connections_closed_total{reason="%s"}'
            assert nw.value(closed % "max_connections_per_client") >= 40
            assert nw.value(closed % "header_timeout") >= 20
            assert nw.value("netwatch_http_connections_open") <= 2
        finally:
            for s in clients:
                s.close()
        # Nothing per connection in the log.
        assert len(nw.log.read_text().splitlines()) < 40
