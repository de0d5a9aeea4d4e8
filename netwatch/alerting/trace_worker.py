"""A traceroute worker process: one trace at a time, asked for and answered as JSON lines.

    python -m netwatch.alerting.trace_worker   (started by trace_pool.TracePool, never by hand)

stdin:  {"id": 7, "address": "127.101.1.2", "max_hops": 16, "timeout": 1.0}
stdout: {"ready": true} once scapy is imported, then {"id": 7, "path": "127.100.0.2 (hop 1)"}
        (path null: the target answered) or {"id": 7, "error": "PermissionError: ..."}.
scapy's sockets, threads and route re-reads cost this process's CPU, at nice 10, not the
monitoring loop's (issue 10). The worker exits when stdin closes (the monitoring process went away).
"""

from __future__ import annotations

import json
import os
import sys
from collections.abc import Callable, Iterable

NICE = 10


def serve(lines: Iterable[str], write: Callable[[dict[str, object]], None]) -> None:
    # Imported before "ready", so that the first trace does not pay for it.
    import scapy.layers.inet
    import scapy.supersocket  # noqa: F401

    from netwatch.alerting.traceroute import last_hop_text

    write({"ready": True})
    for line in lines:
        ask = json.loads(line)
        try:
            path = last_hop_text(ask["address"], int(ask["max_hops"]), float(ask["timeout"]))
        except Exception as exc:  # reported to the pool, which logs it; the worker goes on
            write({"id": ask["id"], "error": f"{type(exc).__name__}: {exc}"[:500]})
        else:
            write({"id": ask["id"], "path": path})


def main() -> int:
    # Background work: on a busy machine the kernel gives the monitoring process's event loop
    # the CPU first (nice 10 weighs about a tenth of nice 0 under CFS).
    os.nice(NICE)
    out = sys.stdout

    def write(msg: dict[str, object]) -> None:
        out.write(json.dumps(msg) + "\n")
        out.flush()

    # scapy prints warnings on stdout at import on some hosts: the protocol owns stdout.
    sys.stdout = sys.stderr
    serve(sys.stdin, write)
    return 0


if __name__ == "__main__":
    sys.exit(main())
