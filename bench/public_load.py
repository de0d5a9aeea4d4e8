"""The public board under load while the monitor runs: 1,000 requests/s of mixed public pages.

Starts `netwatch demo` (217 villages, 487 devices pinged every 30 s and polled over SNMP in
its private namespace) with its public board, snapshots the same bodies as static files for
nginx (Debian; the peer), then runs rounds of four phases of --duration seconds each:

    quiet (no public traffic) · board under load · quiet · nginx under the same load

The load is wrk (Debian) over a mix of village pages (50 %), district pages (20 %), the
regency page (10 %), badges (10 %) and API answers (10 %), gzip accepted, paced at --rate:
each of --connections connections waits a calibrated pause between requests (wrk has no
fixed-rate mode; its latencies are from each request's send, see docs/performance.md). In
every phase the monitor's scheduler lag (netwatch_scheduler_lag_seconds) and the CPU of the
monitor, the board's process, nginx and wrk are recorded. Last, wrk's closed-loop ceiling
(64 connections, 30 s: a flood) for both servers, with the lag meanwhile.

Targets (issue 12): p99 < 100 ms at 1,000 requests/s, and no growth in the monitor's
scheduler lag: the board's phases against the quiet and the nginx phases of the same run.
Run it under the machine-wide lock:

    flock /work/bench.lock .venv/bin/python bench/public_load.py [--rate 1000] [--duration 60]
"""

from __future__ import annotations

import argparse
import functools
import gzip
import json
import os
import random
import re
import resource
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections.abc import Callable
from pathlib import Path

from prometheus_client.parser import text_string_to_metric_families

REPO = Path(__file__).resolve().parent.parent
TICK = os.sysconf("SC_CLK_TCK")
sys.path.insert(0, str(REPO))


def free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def get(url: str, gz: bool = False, timeout: float = 30) -> bytes:
    req = urllib.request.Request(url, headers={"Accept-Encoding": "gzip"} if gz else {})
    with urllib.request.urlopen(req, timeout=timeout) as r:
        return r.read()


def cpu_seconds(pid: int, children: bool = False) -> float:
    """CPU of a process (and its direct children: nginx's worker), in seconds."""
    total = 0.0
    pids = [pid]
    if children:
        kids = subprocess.run(
            ["ps", "-o", "pid=", "--ppid", str(pid)], capture_output=True, text=True
        )
        pids += map(int, kids.stdout.split())
    for p in pids:
        try:
            fields = Path(f"/proc/{p}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        total += (int(fields[11]) + int(fields[12])) / TICK
    return total


def mix(seed: int = 12) -> list[str]:
    """Weighted mix: village pages 50%, district 20%, regency 10%, badges 10%, API 10%."""
    from netwatch.config import default_config_path, load_inventory

    inv = load_inventory(default_config_path())
    rnd = random.Random(seed)
    villages, districts = sorted(inv.villages), sorted(inv.districts)
    paths = []
    for _ in range(2000):
        r = rnd.random()
        if r < 0.5:
            paths.append(f"/{rnd.choice(villages)}")
        elif r < 0.7:
            paths.append(f"/{rnd.choice(districts)}")
        elif r < 0.8:
            paths.append("/35.10")
        elif r < 0.9:
            paths.append(f"/{rnd.choice(villages)}/badge.svg")
        else:
            paths.append(f"/api/v1/villages/{rnd.choice(villages)}")
    return paths


# -- the monitor's scheduler lag ----------------------------------------------------------


def lag_buckets(admin: str) -> dict[float, float]:
    text = get(admin + "/metrics").decode()
    buckets: dict[float, float] = {}
    total_sum = 0.0
    for fam in text_string_to_metric_families(text):
        if fam.name != "netwatch_scheduler_lag_seconds":
            continue
        for s in fam.samples:
            if s.name.endswith("_bucket"):
                le = float(s.labels["le"])
                buckets[le] = buckets.get(le, 0.0) + s.value
            elif s.name.endswith("_sum"):
                total_sum += s.value
    buckets[-1.0] = total_sum  # the sum rides along under a key no bucket uses
    return buckets


def lag_between(a: dict[float, float], b: dict[float, float]) -> dict:
    """Jobs started, mean lag and the bucket holding p99, between two scrapes."""
    delta = {le: b[le] - a.get(le, 0.0) for le in b}
    total = delta.get(float("inf"), 0.0)
    p99 = next((le for le in sorted(k for k in delta if k >= 0) if delta[le] >= 0.99 * total), None)
    return {
        "jobs": int(total),
        "mean_ms": round(1000 * delta[-1.0] / total, 3) if total else None,
        "p99_le_ms": None if p99 is None else 1000 * p99,
    }


# -- nginx, the peer ----------------------------------------------------------------------


def snapshot(public: str, paths: list[str], root: Path) -> None:
    """The board's bodies as static files (and their gzip twins) for nginx."""
    for path in sorted(set(paths)):
        body = get(public + path)
        target = root / path.lstrip("/") / "index.html"
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(body)
        if len(body) > 1024:
            Path(f"{target}.gz").write_bytes(gzip.compress(body, 6, mtime=0))


def start_nginx(root: Path, port: int, work: Path) -> subprocess.Popen[bytes]:
    conf = work / "nginx.conf"
    conf.write_text(
        f"""daemon off; worker_processes 1; pid {work}/nginx.pid; error_log {work}/nginx.err;
events {{ worker_connections 1024; }}
http {{ access_log off; default_type text/html; gzip_static on; sendfile on;
  client_body_temp_path {work}/tmp; proxy_temp_path {work}/tmp; fastcgi_temp_path {work}/tmp;
  uwsgi_temp_path {work}/tmp; scgi_temp_path {work}/tmp;
  server {{ listen 127.0.0.1:{port}; root {root};
    location / {{ try_files $uri/index.html $uri =404; }} }} }}
"""
    )
    (work / "tmp").mkdir(exist_ok=True)
    return subprocess.Popen(["nginx", "-c", str(conf), "-p", str(work)])


def _wrk_script(paths: list[str], work: Path) -> Path:
    script = work / "mix.lua"
    listed = ",".join(json.dumps(p) for p in paths)
    script.write_text(
        f"local paths = {{{listed}}}\nlocal i = 0\nlocal pause = 0\n"
        "init = function(args) pause = tonumber(args[1]) or 0; i = math.random(#paths) end\n"
        "delay = function() return pause end\n"
        "request = function() i = i % #paths + 1\n"
        '  return wrk.format("GET", paths[i], {["Accept-Encoding"] = "gzip"}) end\n'
    )
    return script


_UNITS = {"us": 1e-3, "ms": 1.0, "s": 1000.0}


def _ms(text: str) -> float:
    m = re.fullmatch(r"([\d.]+)(us|ms|s)", text)
    assert m, text
    return round(float(m.group(1)) * _UNITS[m.group(2)], 3)


def wrk(base: str, paths: list[str], work: Path, seconds: float, conns: int, pause: int) -> dict:
    """wrk (Debian) over the mix; pause > 0 paces each connection (ms between requests)."""
    if shutil.which("wrk") is None:
        raise SystemExit("wrk is not installed: run scripts/setup.sh --test")
    script = _wrk_script(paths, work)
    out = subprocess.run(
        ["wrk", "-t2", f"-c{conns}", f"-d{int(seconds)}s", "--latency", "-s", str(script),
         base, "--", str(pause)],
        capture_output=True, text=True, timeout=seconds + 60,
    ).stdout  # fmt: skip
    dist = dict(re.findall(r"^\s+(50|75|90|99)%\s+(\S+)$", out, re.M))
    requests = int(re.search(r"(\d+) requests in", out).group(1))
    bad = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    errors = re.search(r"Socket errors: (.*)$", out, re.M)
    return {
        "connections": conns,
        "pause_ms": pause,
        "requests": requests,
        "achieved_rate": float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1)),
        "p50_ms": _ms(dist["50"]),
        "p90_ms": _ms(dist["90"]),
        "p99_ms": _ms(dist["99"]),
        "max_ms": _ms(re.search(r"Latency\s+\S+\s+\S+\s+(\S+)", out).group(1)),
        "non_2xx": int(bad.group(1)) if bad else 0,
        "socket_errors": errors.group(1) if errors else "",
    }


# -- the run ------------------------------------------------------------------------------


def start_demo(work: Path, interval: float) -> tuple[subprocess.Popen[bytes], str, str]:
    admin, public = free_port(), free_port()
    log = (work / "demo.log").open("wb")
    proc = subprocess.Popen(
        [str(REPO / ".venv/bin/netwatch"), "demo", "--interval", str(interval),
         "--listen", f"127.0.0.1:{admin}", "--public-listen", f"127.0.0.1:{public}",
         "--refresh", "30"],
        stdout=log, stderr=subprocess.STDOUT,
    )  # fmt: skip
    base = f"http://127.0.0.1:{public}"
    deadline = time.monotonic() + 180
    while time.monotonic() < deadline:
        try:
            counts = json.loads(get(base + "/api/v1/regencies/35.10", timeout=5))["counts"]
            if counts["unknown"] == 0:
                return proc, f"http://127.0.0.1:{admin}", base
        except OSError:
            pass
        if proc.poll() is not None:
            raise RuntimeError((work / "demo.log").read_text())
        time.sleep(1)
    raise RuntimeError("the demo's board never knew every village")


def board_pid(demo: int) -> int:
    out = subprocess.run(
        ["ps", "-o", "pid=,args=", "--ppid", str(demo)], capture_output=True, text=True
    )
    for line in out.stdout.splitlines():
        if "netwatch.public.serve" in line:
            return int(line.split()[0])
    raise RuntimeError("no board process under the demo")


def _children_cpu() -> float:
    r = resource.getrusage(resource.RUSAGE_CHILDREN)
    return r.ru_utime + r.ru_stime


def phase(
    admin: str, pids: dict[str, int], seconds: float, load: Callable[[], dict] | None = None
) -> dict:
    before = lag_buckets(admin)
    cpu0 = {k: cpu_seconds(p, k == "nginx") for k, p in pids.items()}
    gen0 = _children_cpu()
    t0 = time.monotonic()
    result = load() if load is not None else time.sleep(seconds)
    wall = time.monotonic() - t0
    after = lag_buckets(admin)
    out = {"lag": lag_between(before, after), "wall_s": round(wall, 1)}
    out["cpu_share"] = {
        k: round((cpu_seconds(p, k == "nginx") - cpu0[k]) / wall, 3) for k, p in pids.items()
    }
    out["cpu_share"]["wrk"] = round((_children_cpu() - gen0) / wall, 3)
    out["loadavg"] = os.getloadavg()[0]
    if result is not None:
        out["load"] = result
    return out


def _lag_ok(phases: list[dict]) -> tuple[str, bool]:
    """Lag under the board's load within what the quiet phases of the same run show.

    The machine is shared and noisy: the board's phases (mean lag averaged over them, worst
    p99 bucket) are compared with the spread of the quiet phases, nginx's shown beside.
    """

    def of(kind: str, key: str) -> list[float]:
        return [p["lag"][key] or 0.0 for p in phases if p["kind"] == kind]

    def avg(xs: list[float]) -> float:
        return round(sum(xs) / len(xs), 3)

    board, quiet, nginx = of("board", "mean_ms"), of("quiet", "mean_ms"), of("nginx", "mean_ms")
    b99, q99, n99 = (
        max(of("board", "p99_le_ms")),
        max(of("quiet", "p99_le_ms")),
        max(of("nginx", "p99_le_ms")),
    )
    text = (
        f"scheduler lag, mean of phase means: board {avg(board)} ms, quiet {avg(quiet)} ms "
        f"(phases {min(quiet)}–{max(quiet)}), nginx {avg(nginx)} ms; worst p99 bucket: board "
        f"{b99} ms, quiet {q99} ms, nginx {n99} ms"
    )
    return text, avg(board) <= max(quiet) and b99 <= q99


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--rate", type=float, default=1000)
    ap.add_argument("--duration", type=float, default=60)
    ap.add_argument("--rounds", type=int, default=2, help="quiet, board, quiet, nginx: how often")
    ap.add_argument("--connections", type=int, default=100)
    ap.add_argument("--interval", type=float, default=30, help="the demo's ping interval")
    ap.add_argument(
        "--board-nice", type=int, help="renice the board's process (default: as it starts, 10)"
    )
    args = ap.parse_args()
    work = Path(tempfile.mkdtemp(prefix="nw-publicload-"))
    work.chmod(0o755)  # nginx's worker (nobody) reads the snapshot below it
    paths = mix()
    demo, admin, public = start_demo(work, args.interval)
    nginx = None
    phases: list[dict] = []
    try:
        pids = {"monitor": demo.pid, "board": board_pid(demo.pid)}
        if args.board_nice is not None:
            os.setpriority(os.PRIO_PROCESS, pids["board"], args.board_nice)
        board_nice = os.getpriority(os.PRIO_PROCESS, pids["board"])
        for p in sorted(set(paths)):  # every page rendered once before measuring
            get(public + p, gz=True)
        root = work / "static"
        snapshot(public, paths, root)
        port = free_port()
        nginx = start_nginx(root, port, work)
        peer = f"http://127.0.0.1:{port}"
        for _ in range(50):
            try:
                get(peer + paths[0])
                break
            except OSError:
                time.sleep(0.1)
        pids["nginx"] = nginx.pid
        # Pace: each connection waits `pause` ms between requests; calibrated once, so that
        # the connections together offer the rate (wrk has no fixed-rate mode).
        pause = round(args.connections * 1000 / args.rate)
        got = wrk(public, paths, work, 10, args.connections, pause)
        pause = max(1, round(pause * got["achieved_rate"] / args.rate))
        time.sleep(max(0.0, args.interval - 10))  # a full ping interval since the start
        targets = {"board": public, "nginx": peer}
        for _ in range(args.rounds):
            for kind in ("quiet", "board", "quiet", "nginx"):
                load = None
                if kind in targets:
                    base = targets[kind]
                    load = functools.partial(
                        wrk, base, paths, work, args.duration, args.connections, pause
                    )
                result = phase(admin, pids, args.duration, load)
                result["kind"] = kind
                phases.append(result)
                print(json.dumps(result), flush=True)
        # Flat out (a flood): what the monitor's lag does while the board takes all it can.
        ceiling = {}
        for kind, base in targets.items():
            flood = functools.partial(wrk, base, paths, work, 30, 64, 0)
            result = phase(admin, pids, 30, flood)
            result["kind"] = f"{kind}-flood"
            phases.append(result)
            print(json.dumps(result), flush=True)
            ceiling[kind] = result["load"]["achieved_rate"]
    finally:
        if nginx is not None:
            nginx.send_signal(signal.SIGQUIT)
            nginx.wait(10)
        demo.send_signal(signal.SIGINT)
        try:
            demo.wait(30)
        except subprocess.TimeoutExpired:
            demo.kill()
    result = {
        "rate": args.rate,
        "duration_s": args.duration,
        "board_nice": board_nice,
        "phases": phases,
        "wrk_ceiling_requests_per_s": ceiling,
    }
    board = [p["load"] for p in phases if p["kind"] == "board"]
    ng = [p["load"] for p in phases if p["kind"] == "nginx"]
    checks = [
        (
            "achieved " + ", ".join(f"{b['achieved_rate']:.0f}" for b in board) + " req/s",
            all(b["achieved_rate"] >= 0.98 * args.rate for b in board),
        ),
        (
            "p99 " + ", ".join(f"{b['p99_ms']} ms" for b in board) + " < 100 ms",
            all(b["p99_ms"] < 100 for b in board),
        ),
        (
            "no error or non-2xx answer",
            all(not b["non_2xx"] and not b["socket_errors"] for b in board),
        ),
        _lag_ok(phases),
    ]
    for name, passed in checks:
        print(f"{'PASS' if passed else 'FAIL'}  {name}")
    for b, n in zip(board, ng, strict=True):
        ratio = b["p99_ms"] / n["p99_ms"]
        print(f"ratio p99 board/nginx: {ratio:.2f} ({b['p99_ms']} ms vs {n['p99_ms']} ms)")
    cb, cn = ceiling["board"], ceiling["nginx"]
    print(f"wrk closed loop, 64 connections: board {cb:.0f} req/s, nginx {cn:.0f} ({cb / cn:.2f})")
    for kind in ("board-flood", "nginx-flood"):
        lag = next(p["lag"] for p in phases if p["kind"] == kind)
        print(
            f"scheduler lag during the {kind}: mean {lag['mean_ms']} ms, p99 {lag['p99_le_ms']} ms"
        )
    results = REPO / "bench" / "results"
    results.mkdir(exist_ok=True)
    (results / f"public_load-{int(time.time())}.json").write_text(json.dumps(result, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
