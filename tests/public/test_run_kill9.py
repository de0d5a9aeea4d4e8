"""`netwatch run` with the board on: complaints survive kill -9 of the monitor, the board's
process dies with it, the store stays 0600, and operators see the reports (CLI and metrics)."""

from __future__ import annotations

import json
import os
import signal
import stat
import subprocess
import time
import urllib.parse
from pathlib import Path

from prometheus_client.parser import text_string_to_metric_families

from tests.helpers.procs import free_port, http_get, netwatch_bin, stop, wait_for
from tests.public.test_app import post, token_of

CONFIG = """\
settings:
  listen: 127.0.0.1:{admin}
  ping: {{interval: 2s, count: 2, spacing: 50ms, timeout: 500ms}}
  alerting: {{db_path: alerts.sqlite3, traceroute: false}}
  public:
    enabled: true
    listen: 127.0.0.1:{public}
    complaints: {{min_fill_seconds: 0.2}}
regency:
  code: "35.10"
  name: Banyuwangi
  districts:
    - code: "35.10.07"
      name: Gambiran
      villages:
        - code: "35.10.07.2001"
          name: Purwodadi
          lat: -8.36
          lon: 114.15
          devices:
            - {{name: purwodadi-router, role: router, address: 127.77.1.1}}
            - {{name: purwodadi-ap-1, role: ap, address: 127.77.1.2, parent: purwodadi-router}}
        - code: "35.10.07.2002"
          name: Wringinpitu
          devices:
            - {{name: wringinpitu-router, role: router, address: 127.77.2.1}}
"""
VILLAGE = "35.10.07.2001"


def _start(config: Path, log: Path) -> subprocess.Popen[bytes]:
    return subprocess.Popen(
        [netwatch_bin(), "run", "--config", str(config)],
        stdout=log.open("ab"),
        stderr=subprocess.STDOUT,
    )


def _children(pid: int) -> list[int]:
    out = subprocess.run(["ps", "-o", "pid=", "--ppid", str(pid)], capture_output=True, text=True)
    return [int(p) for p in out.stdout.split()]


def _complain(public: str, category: str) -> int:
    form = http_get(f"{public}/{VILLAGE}/lapor")[1]
    time.sleep(0.3)
    status, html = post(
        f"{public}/{VILLAGE}/lapor", {"token": token_of(form), "category": category}
    )
    assert status == 200, html
    start = html.index("Laporan nomor ") + len("Laporan nomor ")
    return int(html[start : html.index(" ", start)])


def _cli(config: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [netwatch_bin(), "complaints", *args, "--config", str(config)],
        capture_output=True,
        text=True,
        timeout=60,
    )


def test_complaints_survive_kill_9_and_operators_see_them(tmp_path: Path) -> None:
    admin, public_port = free_port(), free_port()
    config = tmp_path / "netwatch.yaml"
    config.write_text(CONFIG.format(admin=admin, public=public_port), encoding="utf-8")
    public = f"http://127.0.0.1:{public_port}"
    log = tmp_path / "netwatch.log"
    proc = _start(config, log)
    try:
        wait_for(lambda: http_get(f"{public}/healthz")[1] == "ok\n", 60, "the board's first view")
        numbers = [_complain(public, c) for c in ("no_signal", "slow", "cannot_connect")]
        assert numbers == [1, 2, 3]
        board_pids = _children(proc.pid)
        assert board_pids, "the board runs in a process of its own"
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait(10)
        # The board's process goes with the monitor (PR_SET_PDEATHSIG): no orphan serves.
        wait_for(lambda: not any(os.path.exists(f"/proc/{p}") for p in board_pids), 10, "exit")
        db = tmp_path / "netwatch-complaints.sqlite3"
        for path in (db, Path(f"{db}-wal"), Path(f"{db}-shm")):
            if path.exists():
                assert stat.S_IMODE(path.stat().st_mode) == 0o600, path

        listed = _cli(config, "list", "--json")
        assert listed.returncode == 0, listed.stderr
        rows = [json.loads(line) for line in listed.stdout.splitlines()]
        assert sorted(r["id"] for r in rows) == numbers
        assert {r["category"] for r in rows} == {"no_signal", "slow", "cannot_connect"}
        assert all(r["village"] == VILLAGE and r["village_name"] == "Purwodadi" for r in rows)

        proc = _start(config, log)
        wait_for(lambda: http_get(f"{public}/healthz")[1] == "ok\n", 60, "the board again")
        api = json.loads(http_get(f"{public}/api/v1/villages/{VILLAGE}")[1])
        assert api["reports"]["last_24h"] == 3 and api["reports"]["open"] == 3
        page = http_get(f"{public}/{VILLAGE}")[1]
        assert "3 laporan warga diterima dalam 24 jam terakhir" in page

        closed = _cli(config, "close", "1", "2", "--by", "noc-ana", "--comment", "DHCP penuh")
        assert closed.returncode == 0, closed.stderr
        assert closed.stdout.splitlines() == ["complaint 1: closed", "complaint 2: closed"]
        again = _cli(config, "close", "2", "99", "--by", "noc-ana")
        assert again.returncode == 1
        assert again.stdout.splitlines() == [
            "complaint 2: already closed",
            "complaint 99: not found",
        ]
        table = _cli(config, "list").stdout.splitlines()
        assert table[0].split()[:3] == ["ID", "RECEIVED", "VILLAGE"] and len(table) == 2
        assert table[1].split()[0] == "3"

        def metrics() -> dict[tuple[str, str], float]:
            text = http_get(f"http://127.0.0.1:{admin}/metrics")[1]
            out = {}
            for fam in text_string_to_metric_families(text):
                for s in fam.samples:
                    out[(s.name, s.labels.get("village", ""))] = s.value
            return out

        m = wait_for(
            lambda: (m := metrics()).get(("netwatch_complaints_open", VILLAGE)) == 1 and m,
            10,
            "open complaints metric",
        )
        assert m[("netwatch_complaints_received_total", VILLAGE)] == 3
        assert m[("netwatch_complaints_received_total", "35.10.07.2002")] == 0
        assert m[("netwatch_public_up", "")] == 1
        assert m[("netwatch_complaints_store_up", "")] == 1
        q = urllib.parse.urlencode({"q": "x"})
        assert http_get(f"{public}/35.10/cari?{q}")[0] == 200
        children = _children(proc.pid)
        assert stop(proc) == 0
        for p in children:
            assert not os.path.exists(f"/proc/{p}")
    finally:
        stop(proc)


def test_the_board_comes_back_when_its_process_dies_and_follows_reloads(tmp_path: Path) -> None:
    admin, public_port = free_port(), free_port()
    config = tmp_path / "netwatch.yaml"
    config.write_text(CONFIG.format(admin=admin, public=public_port), encoding="utf-8")
    public = f"http://127.0.0.1:{public_port}"
    log = tmp_path / "netwatch.log"
    proc = _start(config, log)
    try:
        wait_for(lambda: http_get(f"{public}/healthz")[1] == "ok\n", 60, "the board's first view")
        [board] = _children(proc.pid)
        os.kill(board, signal.SIGKILL)
        wait_for(lambda: _children(proc.pid) not in ([], [board]), 20, "a new board process")
        wait_for(lambda: http_get(f"{public}/healthz")[1] == "ok\n", 30, "the board again")
        text = http_get(f"http://127.0.0.1:{admin}/metrics")[1]
        restarts = [
            s.value
            for fam in text_string_to_metric_families(text)
            for s in fam.samples
            if s.name == "netwatch_public_restarts_total"
        ]
        assert restarts == [1.0]
        assert "public board: its process exited" in log.read_text()
        # A reload carries new limits to the board's process: one complaint per address now.
        config.write_text(
            CONFIG.format(admin=admin, public=public_port).replace(
                "{min_fill_seconds: 0.2}", "{min_fill_seconds: 0.2, per_address: 1}"
            ),
            encoding="utf-8",
        )
        proc.send_signal(signal.SIGHUP)
        # The settings go to the board's process before "reloaded" is logged.
        wait_for(lambda: "reloaded" in log.read_text(), 30, "the reload")
        assert _complain(public, "slow") == 1
        form = http_get(f"{public}/{VILLAGE}/lapor")[1]
        time.sleep(0.3)
        status, _ = post(f"{public}/{VILLAGE}/lapor", {"token": token_of(form), "category": "slow"})
        assert status == 429
    finally:
        stop(proc)
