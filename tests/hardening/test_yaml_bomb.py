"""Defect 5: an 8 KB YAML alias bomb made a reload take 101 s, the monitoring process peak at
4.4 GB, log 1.08 million lines and answer with a 160 MB body. Aliases are now bounded in
count and expansion, the loader child in CPU time and memory, and errors are capped.
"""

from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path

from netwatch.config.errors import MAX_ISSUES
from netwatch.config.nodes import MAX_ALIAS_NODES
from tests.helpers.netwatch_proc import config, line_of, running
from tests.helpers.procs import http_post, wait_for


def alias_bomb(levels: int = 9) -> str:
    """Nested aliases: level n is ten copies of level n-1 (10**9 leaves in ~1 KB)."""
    lines = ['a0: &a0 ["lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol"]']
    for n in range(1, levels + 1):
        refs = ", ".join([f"*a{n - 1}"] * 10)
        lines.append(f"a{n}: &a{n} [{refs}]")
    return "\n".join(lines) + "\n"


def _rss_kib(pid: int) -> int:
    status = Path(f"/proc/{pid}/status").read_text()
    return int(next(x for x in status.splitlines() if x.startswith("VmRSS")).split()[1])


def _check(path: Path, env: dict[str, str] | None = None) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "netwatch", "config", "check", str(path)],
        capture_output=True,
        text=True,
        timeout=120,
        env=env,
    )


def test_alias_bomb_is_refused_at_its_line(tmp_path: Path) -> None:
    bomb = alias_bomb()
    text = config().replace("regency:", bomb + "regency:", 1)
    cfg = tmp_path / "bomb.yaml"
    cfg.write_text(text)
    started = time.monotonic()
    r = _check(cfg)
    assert time.monotonic() - started < 30
    assert r.returncode == 1
    # By hand: a0 is 11 nodes, a(n) is 1 + 10 * a(n-1), so a4 is 111,111 nodes. The aliases
    # of a1..a4 expand to 123,440 nodes; the 8th *a4 on a5's line passes 1,000,000.
    line = line_of(text, "a5: &a5")
    assert f"{cfg}:{line}: YAML error: aliases expand to more than" in r.stderr
    assert "(alias *a4)" in r.stderr
    assert str(MAX_ALIAS_NODES) in r.stderr
    assert len(r.stderr) < 2000


def test_errors_are_capped(tmp_path: Path) -> None:
    devices = "".join(
        f"            - {{name: ap-{i}, role: antenna, address: 127.9.{i // 250}.{i % 250 + 1}}}\n"
        for i in range(1000)
    )
    text = config() + devices
    cfg = tmp_path / "many.yaml"
    cfg.write_text(text)
    r = _check(cfg)
    assert r.returncode == 1
    lines = r.stderr.splitlines()
    assert len(lines) == MAX_ISSUES + 2  # the errors shown, the count of the rest, the total
    assert lines[-2].startswith(f"... and {1000 - MAX_ISSUES} more errors")


def test_loader_child_is_bounded_in_cpu_time(tmp_path: Path) -> None:
    devices = "".join(
        f"            - {{name: ap-{i}, role: ap, address: 127.9.{i // 250}.{i % 250 + 1}, "
        "parent: purwodadi-router}\n"
        for i in range(60000)  # 20,000 parsed within the second on this machine (4 Dec)
    )
    cfg = tmp_path / "big.yaml"
    cfg.write_text(config() + devices)
    # `netwatch run` loads through the bounded child; one CPU second is not enough for this.
    r = subprocess.run(
        [sys.executable, "-c", "from netwatch.config.isolated import load; import sys;"
         "load(sys.argv[1])", str(cfg)],
        capture_output=True,
        text=True,
        timeout=120,
        env={"NETWATCH_CONFIG_LOADER_MAX_CPU_SECONDS": "1", "PATH": "/usr/bin:/bin"},
    )  # fmt: skip
    assert r.returncode == 1
    assert "config loader used more than its CPU limit (1 s)" in r.stderr


def test_reload_of_a_bomb_costs_the_monitoring_process_nothing(tmp_path: Path) -> None:
    with running(tmp_path, config()) as nw:
        wait_for(lambda: nw.echoes("purwodadi-router") > 0, 20, "first round")
        rss_before = _rss_kib(nw.proc.pid)
        nw.config.write_text(config().replace("regency:", alias_bomb() + "regency:", 1))
        started = time.monotonic()
        status, body = http_post(nw.url + "/-/reload", timeout=120)
        assert time.monotonic() - started < 30
        assert status == 500 and "aliases expand to more than" in body
        assert len(body) < 2000
        assert _rss_kib(nw.proc.pid) - rss_before < 30_000  # KiB
        assert len(nw.log.read_text().splitlines()) < 50
        before = nw.echoes("purwodadi-router")
        wait_for(lambda: nw.echoes("purwodadi-router") > before, 15, "rounds go on")
