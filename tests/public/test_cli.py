"""`netwatch complaints list|close` on a store written through ComplaintStore."""

from __future__ import annotations

import datetime as dt
import json
import subprocess
from pathlib import Path
from zoneinfo import ZoneInfo

from netwatch.public.complaints import ComplaintStore
from tests.helpers.procs import netwatch_bin

T0 = dt.datetime(2026, 12, 2, 6, 53, 20, tzinfo=ZoneInfo("Asia/Jakarta")).timestamp()


def _run(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [netwatch_bin(), "complaints", *args], capture_output=True, text=True, timeout=60
    )


def _store(tmp_path: Path) -> Path:
    path = tmp_path / "c.sqlite3"
    s = ComplaintStore(str(path))
    s.add("35.10.07.2001", "35.10.07", "slow", "lambat\x1b[31m sekali", measured_state="up",
          outage_known=False, now=T0)  # fmt: skip
    s.add("35.10.07.2002", "35.10.07", "no_signal", "", measured_state="down",
          outage_known=True, now=T0 + 86400)  # fmt: skip
    s.add("35.10.08.2001", "35.10.08", "other", "", measured_state="up",
          outage_known=False, now=T0 + 2 * 86400)  # fmt: skip
    s.shutdown()
    return path


def test_list_filters_and_prints_safely(tmp_path: Path) -> None:
    db = str(_store(tmp_path))
    out = _run("list", "--db", db)
    assert out.returncode == 0, out.stderr
    lines = out.stdout.splitlines()
    assert [ln.split()[0] for ln in lines] == ["ID", "3", "2", "1"]  # newest first
    assert "\x1b" not in out.stdout  # a resident's text never drives the terminal
    assert "2026-12-02 06:53:20" in lines[3] and "slow" in lines[3] and "lambat" in lines[3]
    assert "yes" in lines[2] and "down" in lines[2]  # measured down, outage known
    by_district = _run("list", "--db", db, "--district", "35.10.07", "--json")
    assert [json.loads(x)["id"] for x in by_district.stdout.splitlines()] == [2, 1]
    since = _run("list", "--db", db, "--since", "2026-12-03", "--json")
    assert [json.loads(x)["id"] for x in since.stdout.splitlines()] == [3, 2]


def test_close_then_list_open_closed_and_all(tmp_path: Path) -> None:
    db = str(_store(tmp_path))
    done = _run("close", "--db", db, "2", "--by", "noc-budi", "--comment", "ONT diganti")
    assert done.returncode == 0 and done.stdout == "complaint 2: closed\n"
    closed = [
        json.loads(x)
        for x in _run("list", "--db", db, "--closed", "--json").stdout.split("\n")
        if x
    ]
    assert [(c["id"], c["closed_by"], c["close_comment"]) for c in closed] == [
        (2, "noc-budi", "ONT diganti")
    ]
    assert len(_run("list", "--db", db).stdout.splitlines()) == 3  # header + 2 open
    assert len(_run("list", "--db", db, "--all").stdout.splitlines()) == 4


def test_errors_say_what_is_missing(tmp_path: Path) -> None:
    out = _run("list")
    assert out.returncode == 2 and "give --db PATH or --config FILE" in out.stderr
    out = _run("list", "--db", str(tmp_path / "nope.sqlite3"))
    assert out.returncode == 2 and "no complaint store at" in out.stderr
    assert not (tmp_path / "nope.sqlite3").exists()  # listing never creates a store
    db = str(_store(tmp_path))
    out = _run("list", "--db", db, "--since", "yesterday")
    assert out.returncode == 2 and "--since" in out.stderr
