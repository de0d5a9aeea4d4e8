"""Benchmark: `netwatch ping` vs fping, 3 echoes to each of N loopback hosts (127.x.y.z).

netwatch runs three ways (fping -C style lines, `--json`, `--json-pretty`), fping once; all
as subprocesses in the same run, in turn, under GNU time; wall, CPU (user + sys), peak RSS
and lost replies are the median over the repetitions. Run as root (raw sockets):

    .venv/bin/python bench/ping_bench.py [--hosts 1000 5000 50000] [--repeat 5]
        [--install LABEL=SOURCE ...] [--dev]

By default the netwatch measured is this interpreter's (the development venv: an editable
install, whose import hook costs every start ~10 ms that a pip install does not). --install
measures SOURCE (a checkout, or git:COMMIT of this repository) pip-installed into a venv of
its own, built before the timing, as an operator installs it; several give before and after
in the same run, beside fping (--dev adds the development venv). The exit status and the
"target" line are the last variant's.

From 20,000 hosts up both tools send 1 echo per host instead of 3: fping's sequence map
holds 65,535 echoes per 10 s, and with 3 echoes to 50,000 hosts it stops with "not enough
sequence numbers available" after ~15,500 hosts (a run that measures nothing).
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

COUNT = 3
BIG = 20_000  # hosts from which both tools send one echo each (see the docstring)
GNU_TIME = "/usr/bin/time"  # Debian package `time`
# As installed: netwatch's modules compiled once to __pycache__, like any pip install (a
# PYTHONDONTWRITEBYTECODE=1 environment would recompile them on every run, ~10 ms).
CHILD_ENV = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}
TARGET_CPU_RATIO = 1.5  # at 5,000 hosts (foundation issue)
TARGET_CPU_RATIO_BIG = 1.2  # at 50,000 hosts (issue 10)
REPO = Path(__file__).resolve().parent.parent


@dataclass
class Run:
    wall: float
    cpu: float
    rss_mib: float
    lost: int
    rc: int


def addresses(n: int) -> list[str]:
    """n distinct loopback addresses, 127.1.0.1 upwards, skipping .0 and .255."""
    out = []
    i = 0
    while len(out) < n:
        hi, lo = divmod(i, 254)
        out.append(f"127.{1 + hi // 256}.{hi % 256}.{lo + 1}")
        i += 1
    return out


def count_for(hosts: int) -> int:
    return 1 if hosts >= BIG else COUNT


def lost_echoes(text: str, hosts: int) -> int:
    """Count '-' in fping -C style lines ("addr : 0.05 - 0.04"); missing lines lose all."""
    lost = 0
    lines = 0
    for line in text.splitlines():
        if " : " not in line:
            continue
        lines += 1
        lost += line.split(" : ", 1)[1].split().count("-")
    return lost + (hosts - lines) * count_for(hosts)


def lost_in_json(text: str, hosts: int) -> int:
    """Echoes not answered in `netwatch ping --json` output; hosts missing from it lose all."""
    try:
        results = json.loads(text)
    except ValueError:
        return hosts * count_for(hosts)
    count = count_for(hosts)
    return sum(count - r["received"] for r in results) + (hosts - len(results)) * count


def install(label: str, source: str, where: Path) -> str:
    """A venv of its own with netwatch from source (a directory, or git:COMMIT of this
    repository) pip-installed, without dependencies (`netwatch ping` imports none); its python."""
    if source.startswith("git:"):
        tree = where / f"{label}-src"
        archive = subprocess.run(
            ["git", "-C", str(REPO), "archive", "--format=tar", source[4:]],
            capture_output=True, check=True, timeout=120,
        ).stdout  # fmt: skip
        tree.mkdir()
        subprocess.run(["tar", "-x", "-C", str(tree)], input=archive, check=True, timeout=120)
        source = str(tree)
    venv = where / label
    base = getattr(sys, "_base_executable", sys.executable)
    subprocess.run([base, "-m", "venv", "--without-pip", str(venv)], check=True, timeout=120)
    py = venv / "bin" / "python"
    site = subprocess.run(
        [str(py), "-c", "import sysconfig; print(sysconfig.get_path('purelib'))"],
        capture_output=True, text=True, check=True, timeout=60,
    ).stdout.strip()  # fmt: skip
    subprocess.run(
        [sys.executable, "-m", "pip", "install", "-q", "--disable-pip-version-check",
         "--no-deps", "--target", site, source],
        check=True, timeout=600,
    )  # fmt: skip
    return str(py)


def measure(argv: list[str], hosts: int, output_on_stderr: bool, cwd: str) -> Run:
    """Run argv under GNU time. CPU: wait4 on time (microseconds; includes its waited-for child
    and ~2 ms of time itself). Peak RSS: GNU time's, the program's own (wait4 on a child forked
    from this Python would count the parent's pages from before exec)."""
    json_out = any(a.startswith("--json") for a in argv)
    with (
        tempfile.TemporaryFile() as out,
        tempfile.TemporaryFile() as err,
        tempfile.NamedTemporaryFile("r", suffix=".time") as timing,
    ):
        start = time.monotonic()
        proc = subprocess.Popen(
            [GNU_TIME, "-q", "-o", timing.name, "-f", "%M", *argv],
            stdout=out,
            stderr=err,
            stdin=subprocess.DEVNULL,
            env=CHILD_ENV,
            cwd=cwd,  # not a source tree: `python -m netwatch` would import it from there
        )
        _, status, usage = os.wait4(proc.pid, 0)
        wall = time.monotonic() - start
        proc.returncode = os.waitstatus_to_exitcode(status)
        rss_kib = int(timing.read().split()[-1])
        (err if output_on_stderr else out).seek(0)
        text = (err if output_on_stderr else out).read().decode()
    return Run(
        wall=wall,
        cpu=usage.ru_utime + usage.ru_stime,
        rss_mib=rss_kib / 1024,
        lost=lost_in_json(text, hosts) if json_out else lost_echoes(text, hosts),
        rc=proc.returncode,
    )


def median(runs: list[Run]) -> Run:
    return Run(
        wall=statistics.median(r.wall for r in runs),
        cpu=statistics.median(r.cpu for r in runs),
        rss_mib=statistics.median(r.rss_mib for r in runs),
        lost=max(r.lost for r in runs),
        rc=max(r.rc for r in runs),
    )


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--hosts", type=int, nargs="+", default=[1000, 5000, 50000])
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--install", action="append", default=[], metavar="LABEL=SOURCE")
    parser.add_argument("--dev", action="store_true", help="also the development venv")
    args = parser.parse_args()
    fping = shutil.which("fping")
    if fping is None or not os.path.exists(GNU_TIME):
        print("needs fping and /usr/bin/time (apt-get install fping time)", file=sys.stderr)
        return 2
    with tempfile.TemporaryDirectory(prefix="ping_bench-") as tmp:
        variants: list[tuple[str, str]] = []  # (label, python)
        if args.dev or not args.install:
            variants.append(("netwatch", sys.executable))
        for spec in args.install:
            label, _, source = spec.partition("=")
            if not label or not source:
                parser.error(f"--install wants LABEL=SOURCE, not {spec!r}")
            variants.append((label, install(label, source, Path(tmp))))
            print(f"{label}: {source} installed in its own venv", flush=True)
        return bench(args.hosts, args.repeat, fping, variants, tmp)


def bench(
    hosts_list: list[int], repeat: int, fping: str, variants: list[tuple[str, str]], cwd: str
) -> int:
    ok = True
    width = max(22, *(len(label) + 14 for label, _ in variants))
    print(f"{COUNT} echoes per host ({BIG:,}+ hosts: 1), median of {repeat}; "
          "lost = worst run")  # fmt: skip
    print(f"{'hosts':>6} {'tool':<{width}} {'wall s':>7} {'CPU s':>7} {'RSS MiB':>8} {'lost':>5}")
    for n in hosts_list:
        with tempfile.NamedTemporaryFile("w", suffix=".txt") as f:
            f.write("\n".join(addresses(n)) + "\n")
            f.flush()
            count = str(count_for(n))
            tools = {}  # name -> (argv, output on stderr)
            for label, python in variants:
                ours = [python, "-m", "netwatch", "ping", "-c", count]
                ours += ["-p", "10", "-t", "1", "-f", f.name]
                tools[f"{label} ping"] = (ours, False)
                tools[f"{label} ping --json"] = ([*ours, "--json"], False)
                tools[f"{label} --json-pretty"] = ([*ours, "--json-pretty"], False)
            tools["fping"] = ([fping, "-C", count, "-i", "0", "-p", "10", "-q", "-f", f.name], True)
            runs: dict[str, list[Run]] = {name: [] for name in tools}
            for argv, on_stderr in tools.values():  # warm-up: bytecode, page cache
                measure(argv, n, output_on_stderr=on_stderr, cwd=cwd)
            for _ in range(repeat):  # in turn, so that load changes hit every tool alike
                for name, (argv, on_stderr) in tools.items():
                    runs[name].append(measure(argv, n, output_on_stderr=on_stderr, cwd=cwd))
        med = {name: median(r) for name, r in runs.items()}
        p = med["fping"]
        for name, r in med.items():
            if r.rc > 1:  # 1: some host did not answer; above: the tool itself failed
                print(f"{n:>6} {name} exited {r.rc}: not a complete run", file=sys.stderr)
                ok = False
        for name, r in med.items():
            print(f"{n:>6} {name:<{width}} {r.wall:7.3f} {r.cpu:7.3f} {r.rss_mib:8.1f} {r.lost:>5}")
        for i, (label, _) in enumerate(variants):
            for kind, name in (
                ("ratio", f"{label} ping"),
                ("ratio --json", f"{label} ping --json"),
            ):
                o = med[name]
                ratio = o.cpu / p.cpu if p.cpu else float("inf")
                print(
                    f"{n:>6} {label + ' ' + kind:<{width}} {o.wall / p.wall:7.2f} {ratio:7.2f} "
                    f"{o.rss_mib / p.rss_mib:8.2f}   ({name} / fping)"
                )
                limit = TARGET_CPU_RATIO_BIG if n >= 50_000 else TARGET_CPU_RATIO
                if i == len(variants) - 1 and (o.lost or (n >= 5000 and ratio > limit)):
                    ok = False
    print(
        f"target ({variants[-1][0]}): CPU <= {TARGET_CPU_RATIO}x fping at 5,000 hosts and <= "
        f"{TARGET_CPU_RATIO_BIG}x at 50,000 (plain and --json), no reply lost:",
        end=" ",
    )
    print("met" if ok else "NOT met")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
