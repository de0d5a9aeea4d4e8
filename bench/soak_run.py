"""The running parts of the soak (bench/soak.py): netwatch as a child, the sampler, the
webhook receiver, and the report (targets and the per-window table)."""

from __future__ import annotations

import json
import math
import os
import signal
import subprocess
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import TYPE_CHECKING, Any

from bench import soak_faults as faults

if TYPE_CHECKING:
    from bench.soak import Soak

REPO = Path(__file__).resolve().parent.parent
TICK = os.sysconf("SC_CLK_TCK")
SELF_METRICS = (
    "netwatch_scheduler_",
    "netwatch_component_",
    "netwatch_influxdb_",
    "netwatch_config_",
    "netwatch_snmp_traps_",
    "netwatch_poll_duration_seconds_count",
    "netwatch_metrics_renders_total",
    "netwatch_metrics_scrapes_rejected_total",
    "netwatch_http_",
    "netwatch_alert_notifications_total",
    "netwatch_alerts_firing",
    "netwatch_notification",
    "netwatch_alert_evaluation",
    "netwatch_icmp_",
)
LAG = "netwatch_scheduler_lag_seconds_bucket"
MISSED = "netwatch_scheduler_missed_runs_total"
SKIPPED = "netwatch_scheduler_skipped_runs_total"


def http(url: str, timeout: float = 60, data: bytes | None = None) -> tuple[int, str]:
    req = urllib.request.Request(url, data=data, method="POST" if data is not None else "GET")
    try:
        with urllib.request.urlopen(req, timeout=timeout) as resp:
            return resp.status, resp.read().decode()
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read().decode()


class Netwatch:
    """`netwatch run` on 127.0.0.1:port in the caller's network namespace; stopped by PID."""

    def __init__(self, work: Path, text: str, port: int, community: str) -> None:
        self.work = work
        self.config = work / "netwatch.yaml"
        self.config.write_text(text, encoding="utf-8")
        self.url = f"http://127.0.0.1:{port}"
        self.port = port
        self.env = {**os.environ, "NETWATCH_SOAK_COMMUNITY": community}
        self.proc: subprocess.Popen[bytes] | None = None

    def start(self, timeout: float) -> None:
        self.log = open(self.work / "netwatch.log", "wb")  # noqa: SIM115 (closed in stop)
        self.proc = subprocess.Popen(
            [
                str(REPO / ".venv" / "bin" / "netwatch"),
                "run",
                "--config",
                str(self.config),
                "--listen",
                f"127.0.0.1:{self.port}",
                "--log-level",
                "warning",
            ],
            stdout=self.log,
            stderr=subprocess.STDOUT,
            env=self.env,
        )
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"netwatch exited {self.proc.returncode}: {self.tail()}")
            try:
                if self.readyz()[0] == 200:
                    return
            except OSError:
                pass
            time.sleep(0.5)
        raise RuntimeError(f"netwatch not ready in {timeout:.0f} s: {self.tail()}")

    def log_lines(self) -> list[str]:
        return (self.work / "netwatch.log").read_text(errors="replace").splitlines()

    def tail(self) -> str:
        return (self.work / "netwatch.log").read_text(errors="replace")[-3000:]

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=60)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(timeout=30)
        if self.proc is not None:
            self.log.close()

    def readyz(self) -> tuple[int, str]:
        return http(self.url + "/readyz", timeout=30)

    def healthz_seconds(self) -> float:
        t = time.monotonic()
        try:
            http(self.url + "/healthz", timeout=30)
        except OSError:
            return 30.0
        return time.monotonic() - t

    def values(self) -> dict[str, float]:
        """netwatch's own series (not the per-device ones) from one /metrics scrape."""
        _, body = http(self.url + "/metrics", timeout=60)
        out = {}
        for line in body.split("\n"):
            if line.startswith(SELF_METRICS):
                key, _, value = line.rpartition(" ")
                out[key] = float(value)
        return out

    def cpu_seconds(self) -> float:
        assert self.proc is not None
        f = Path(f"/proc/{self.proc.pid}/stat").read_text().rsplit(")", 1)[1].split()
        return sum(int(x) for x in f[11:15]) / TICK  # utime stime cutime cstime

    def rss_mib(self) -> float:
        assert self.proc is not None
        for line in Path(f"/proc/{self.proc.pid}/status").read_text().splitlines():
            if line.startswith("VmRSS"):
                return int(line.split()[1]) / 1024
        return math.nan


@dataclass
class Sample:
    t: float
    rss: float
    cpu: float
    ready: int
    lag: faults.Buckets
    values: dict[str, float]
    scrape_s: float


class Sampler(threading.Thread):
    """Every `every` seconds: RSS, CPU, /readyz and netwatch's own series."""

    def __init__(self, nw: Netwatch, every: float) -> None:
        super().__init__(daemon=True)
        self.nw, self.every = nw, every
        self.samples: list[Sample] = []
        self._halt = threading.Event()

    def stop(self) -> None:
        self._halt.set()
        self.join(timeout=120)
        self.take()

    def run(self) -> None:
        for _ in range(100_000):  # bounded; stop() ends it
            if self._halt.is_set():
                return
            self.take()
            self._halt.wait(self.every)

    def take(self) -> None:
        t = time.time()
        try:
            values = self.nw.values()
            scrape = time.time() - t
            ready = self.nw.readyz()[0]
            rss, cpu = self.nw.rss_mib(), self.nw.cpu_seconds()
        except (OSError, ValueError):
            return  # a missed sample; the next one covers its interval
        lag: faults.Buckets = {}
        for key, v in values.items():
            if key.startswith(LAG):
                le = float(key.split('le="')[1].split('"')[0])
                lag[le] = lag.get(le, 0.0) + v
        # A run dropped for starting later than misfire_grace is in the histogram itself
        # (observed when it is dropped); the echo stream's sends are under collector="ping".
        self.samples.append(Sample(t, rss, cpu, ready, lag, values, scrape))


class WebhookReceiver:
    """Records every notification POSTed to it, with its arrival time."""

    def __init__(self) -> None:
        received: list[dict[str, Any]] = []
        self._received = received
        self._lock = lock = threading.Lock()

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
                try:
                    doc = json.loads(body)
                    doc["_t"] = time.time()
                    with lock:
                        received.append(doc)
                    self.send_response(200)
                except ValueError:
                    self.send_response(400)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *args: object) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"

    def start(self) -> None:
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()

    def bodies(self) -> list[dict[str, Any]]:
        with self._lock:
            return list(self._received)


Series = list[tuple[float, float]]


def influx_gaps(vm_url: str, t_from: float, t_to: float) -> dict[str, dict[str, Any]]:
    """Per device group: devices, points, the largest gap between two stored ping rounds and
    the gaps longer than twice the interval (rounds missing from the store)."""
    groups = {"lab (5 s)": ("lab-.*", 5.0), "loopback sample (30 s)": ("(r|ap)-[0-9]+-1", 30.0)}
    http(vm_url + "/internal/force_flush", timeout=60)
    out = {}
    for name, (rx, interval) in groups.items():
        q = urllib.parse.urlencode(
            {"match[]": f'netwatch_ping_sent{{device=~"{rx}"}}', "start": str(int(t_from))}
        )
        _, body = http(f"{vm_url}/api/v1/export?{q}", timeout=120)
        gaps, points, devices, big = [], 0, 0, 0
        for line in body.splitlines():
            if not line.strip():
                continue
            series = json.loads(line)
            ts = [t / 1000 for t in series["timestamps"] if t_from <= t / 1000 <= t_to]
            devices += 1
            points += len(ts)
            g = faults.max_gap(ts)
            gaps.append(g)
            big += sum(
                1 for a, b in zip(sorted(ts), sorted(ts)[1:], strict=False) if b - a > 2 * interval
            )
        out[name] = {
            "devices": devices,
            "points": points,
            "max_gap_s": round(max(gaps), 1) if gaps else None,
            "gaps_over_2_intervals": big,
        }
    return out


def _fmt(x: float) -> str:
    return "—" if x is None or (isinstance(x, float) and math.isnan(x)) else f"{x:.3f}"


def report(soak: Soak) -> dict[str, Any]:
    from bench.soak import STORMS

    samples = soak.sampler.samples
    t0, p = soak.t0, soak.plan
    lag = [(s.t, s.lag) for s in samples if s.lag]
    storms = [(s, e + 20) for name, s, e in soak.fault_spans if name in STORMS]
    quiet = faults.windowed(lag, t0, math.inf, storms)
    everything = faults.windowed(lag, t0, math.inf)
    q_le, q_interp = faults.quantile(quiet, 0.99)
    a_le, a_interp = faults.quantile(everything, 0.99)
    ref = min(samples, key=lambda s: abs(s.t - (t0 + p.warmup)))
    end = samples[-1]
    verdict = faults.check_notifications(soak.outages, soak.webhook.bodies())
    rows = [
        "| window (min) | faults in it | lag p99 all | lag p99 outside storms | RSS end (MiB) "
        "| RSS max | CPU (1 core) | runs missed / skipped | /readyz 503 samples | notifications |",
        "|---|---|---|---|---|---|---|---|---|---|",
    ]
    table = []
    n_windows = math.ceil((end.t - t0) / p.window - 1e-9)
    for k in range(n_windows):
        a, b = t0 + k * p.window, min(t0 + (k + 1) * p.window, end.t)
        inside = [s for s in samples if a <= s.t <= b]
        if len(inside) < 2:
            continue
        names = sorted({n for n, s, e in soak.fault_spans if s < b and e > a})
        all_le, all_i = faults.quantile(faults.windowed(lag, a, b), 0.99)
        q_le_w, q_i = faults.quantile(faults.windowed(lag, a, b, storms), 0.99)
        cpu = (inside[-1].cpu - inside[0].cpu) / (inside[-1].t - inside[0].t)
        notes = sum(1 for x in soak.webhook.bodies() if a <= x["_t"] < b)
        missed = _sum(inside[-1].values, MISSED) - _sum(inside[0].values, MISSED)
        skipped = _sum(inside[-1].values, SKIPPED) - _sum(inside[0].values, SKIPPED)
        row = {
            "from_min": round((a - t0) / 60, 1),
            "to_min": round((b - t0) / 60, 1),
            "faults": names,
            "lag_p99_all_le": all_le,
            "lag_p99_all": all_i,
            "lag_p99_quiet_le": q_le_w,
            "lag_p99_quiet": q_i,
            "rss_end": round(inside[-1].rss, 1),
            "rss_max": round(max(s.rss for s in inside), 1),
            "cpu_share": round(cpu, 3),
            "not_ready_samples": sum(1 for s in inside if s.ready != 200),
            "notifications": notes,
            "missed_runs": missed,
            "skipped_runs": skipped,
        }
        table.append(row)
        rows.append(
            f"| {row['from_min']}–{row['to_min']} | {', '.join(names) or '—'} "
            f"| {_fmt(all_i)} (≤{all_le}) | {_fmt(q_i)} (≤{q_le_w}) | {row['rss_end']} "
            f"| {row['rss_max']} | {cpu:.1%} | {missed:.0f} / {skipped:.0f} "
            f"| {row['not_ready_samples']} | {notes} |"
        )
    gaps = soak.influx_gaps
    fault_failures = {
        f"{name}@{r.get('start_min')}": r["failed"]
        for name, rs in soak.results.items()
        for r in rs
        if r.get("failed")
    }
    rss_ratio = end.rss / ref.rss
    summary = {
        "devices": soak.args.devices + 2 * soak.lab.villages,
        "minutes": round((end.t - t0) / 60, 1),
        "rss_ref_mib": round(ref.rss, 1),
        "rss_ref_at_min": round((ref.t - t0) / 60, 1),
        "rss_end_mib": round(end.rss, 1),
        "rss_end_over_ref": round(rss_ratio, 3),
        "lag_p99_outside_storms_s": round(q_interp, 3),
        "lag_p99_outside_storms_bucket_le": q_le,
        "lag_p99_all_s": round(a_interp, 3),
        "lag_p99_all_bucket_le": a_le,
        "missed_runs": _sum(end.values, MISSED),
        "skipped_runs": _sum(end.values, SKIPPED),
        "outages": len(soak.outages),
        "notifications_received": len(soak.webhook.bodies()),
        "missed_notifications": verdict.missed,
        "unexpected_notifications": verdict.unexpected,
        "false_villagewifidown": verdict.false_village_down,
        "fault_failures": fault_failures,
        "influx_gaps": gaps,
        "cpu_share_of_one_core": round((end.cpu - samples[0].cpu) / (end.t - samples[0].t), 3),
    }
    influx_ok = all(g["gaps_over_2_intervals"] == 0 for g in gaps.values())
    targets = {
        "RSS end within ±10 % of minute 10": abs(rss_ratio - 1) <= 0.10,
        "lag p99 < 1 s outside storms (missed runs count as late)": q_interp < 1.0,
        "0 missed notifications": not verdict.missed,
        "0 false VillageWifiDown": verdict.false_village_down == 0,
        "0 unexpected notifications": not verdict.unexpected,
        "every fault behaved as documented": not fault_failures,
        "InfluxDB: no stored round missing": influx_ok,
    }
    summary["targets"] = {k: ("PASS" if v else "FAIL") for k, v in targets.items()}
    return {
        "summary": summary,
        "targets": targets,
        "table": "\n".join(rows),
        "windows": table,
        "faults": soak.results,
        "outages": [
            {**o.__dict__, **per} for o, per in zip(soak.outages, verdict.per_outage, strict=True)
        ],
        "notifications": soak.webhook.bodies(),
        "samples": [
            {"t": round(s.t - t0, 1), "rss": s.rss, "ready": s.ready, "scrape_s": s.scrape_s}
            for s in samples
        ],
    }


def _sum(values: dict[str, float], prefix: str) -> float:
    return sum(v for k, v in values.items() if k.startswith(prefix))
