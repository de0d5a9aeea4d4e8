"""Soak finding: an alert-database COMMIT failing with "database or disk is full" logged a
traceback every engine tick and never reached /readyz or netwatch_component_up.

Now the fault is named on /readyz and the metric (with the path), logged once, retried every
tick, and the alert the engine could not store is stored and queued once the disk has room.
"""

from __future__ import annotations

import contextlib
import errno
import subprocess
from pathlib import Path

from tests.helpers.netwatch_proc import config, count_lines, running
from tests.helpers.procs import http_get, http_post, wait_for

AP = "purwodadi-ap-1"
# The limited broadcast address of 127/8: the kernel answers no echo to it (and refuses the
# send without SO_BROADCAST), so the AP goes down while every packet stays on loopback.
SILENT = "127.255.255.255"


def _fill(fs: Path) -> Path:
    """Write zeros to a file on fs until the file system is full."""
    filler = fs / "filler"
    block = b"\0" * 65536
    with open(filler, "wb") as f:
        for _ in range(100_000):  # bounded: 6 GB, far beyond the 4 MiB tmpfs
            try:
                f.write(block)
                f.flush()
            except OSError as exc:
                assert exc.errno == errno.ENOSPC, exc
                break
    # Small writes until not one more byte fits (the block above may have left a tail).
    with open(filler, "ab", buffering=0) as f, contextlib.suppress(OSError):
        for _ in range(65536):
            f.write(b"\0" * 512)
    return filler


def test_alert_store_disk_full_is_loud_and_the_alert_survives(tmp_path: Path) -> None:
    fs = tmp_path / "state"
    fs.mkdir()
    subprocess.run(["mount", "-t", "tmpfs", "-o", "size=4m", "tmpfs", str(fs)], check=True)
    db = fs / "alerts.sqlite3"
    settings = f"  alerting: {{db_path: {db}}}\n"
    text = config(settings=settings)
    try:
        with running(tmp_path, text) as nw:
            wait_for(lambda: nw.echoes(AP) > 0, 20, "first echoes")
            filler = _fill(fs)
            # The AP stops answering while the disk is full: the engine must store an alert.
            nw.config.write_text(text.replace("127.7.1.2", SILENT))
            status, body = http_post(nw.url + "/-/reload")
            assert status == 200, body
            ready_body = nw.not_ready("alert_store", timeout=60)
            assert "cannot write the alert database" in ready_body, ready_body
            assert str(db) in ready_body, ready_body
            assert "full" in ready_body, ready_body
            assert nw.value('netwatch_component_up{component="alert_store"}') == 0
            # Retried every tick, logged once, and no traceback per tick.
            failures = 'netwatch_component_failures_total{component="alert_store"}'
            wait_for(lambda: (nw.value(failures) or 0) >= 3, 30, "three failed ticks")
            assert count_lines(nw.log, "alert_store not running") == 1
            assert count_lines(nw.log, "Traceback") == 0, nw.log.read_text()[-3000:]
            # Monitoring goes on meanwhile.
            router = nw.echoes("purwodadi-router")
            wait_for(lambda: nw.echoes("purwodadi-router") > router + 2, 20, "pings go on")
            # The disk has room again: the next tick stores the alert and queues its page.
            filler.unlink()
            wait_for(lambda: http_get(nw.url + "/readyz")[0] == 200, 60, "ready again")
            assert nw.value('netwatch_component_up{component="alert_store"}') == 1
            assert count_lines(nw.log, "alert_store running again") == 1
            wait_for(
                lambda: (nw.value('netwatch_alert_notifications_total{event="firing"}') or 0) >= 1,
                30,
                "the alert stored after the disk was freed",
            )
    finally:
        subprocess.run(["umount", "-l", str(fs)], check=False)
