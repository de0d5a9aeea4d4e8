"""Soak: `netwatch run` with 10,000 loopback devices for an hour while faults are injected.

Issue 14's soak point. netwatch runs in a network namespace made here ("core"): 10,000
devices on 127.1.0.0/16 (core's loopback answers them all, they must never page) and a lab
district of villages, each a namespace of its own behind a veth link (router + AP, pinged
every 5 s), whose links are cut at known times: each cut must give exactly one `firing` and
one `resolved` at the webhook receiver run here. Every few minutes one fault, in turn: a
scrape storm, a trap flood, a reload storm (broken and good files), InfluxDB (a real
VictoriaMetrics) down, the disk of the alert database and the spool full (a small tmpfs).
Each fault's documented behaviour is checked (docs/security.md, docs/influxdb.md).

Targets: RSS at the end within ±10 % of minute 10; scheduler lag p99 < 1 s outside the storm
windows (netwatch's own histogram, per window); 0 missed notifications; 0 false
VillageWifiDown. Prints a per-window table; writes everything as JSON beside the work files.

    flock /work/bench.lock .venv/bin/python bench/soak.py --minutes 60

Needs root (namespaces, tmpfs). Every address is 127.0.0.0/8 in namespaces made here; all
are removed at the end, the tmpfs unmounted, every process stopped by its PID, on error too.
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from bench import soak_faults as faults  # noqa: E402
from bench.soak_run import Netwatch, Sampler, WebhookReceiver, influx_gaps  # noqa: E402
from tests.helpers.netns import Netlab  # noqa: E402
from tests.helpers.procs import free_port  # noqa: E402
from tests.helpers.snmpd import free_udp_port, running_snmpd  # noqa: E402
from tests.helpers.victoriametrics import VictoriaMetrics  # noqa: E402

FAULTS = ("scrape_storm", "trap_flood", "reload_storm", "influxdb_down", "disk_full")
STORMS = ("scrape_storm", "trap_flood", "reload_storm")  # excluded from the lag target
BASE_SECONDS = {
    "scrape_storm": 45,
    "trap_flood": 45,
    "reload_storm": 60,
    "influxdb_down": 120,
    "disk_full": 90,
}
SLOT = 264.0  # seconds per fault slot at full length
COMMUNITY = "public"
TRAP_DEVICE = "127.1.0.1"
FOREIGN = "127.250.0.9"
STORM_SOURCES = [f"127.250.0.{i}" for i in range(1, 6)]


@dataclass
class Plan:
    total: float
    warmup: float  # the RSS reference is taken here (minute 10 of an hour)
    faults: list[tuple[float, str, float]]  # (start offset, fault, duration)
    outages: list[tuple[float, float]]  # (start offset, duration), one village each
    window: float  # table row length


def plan(minutes: float) -> Plan:
    total = minutes * 60
    warmup = min(600.0, total / 6)
    tail = min(360.0, total / 8)
    lead = min(30.0, total / 60)  # the RSS reference sample comes before the first fault
    avail = total - warmup - tail - lead
    cycles = max(1, round(avail / (SLOT * len(FAULTS))))  # slots may end a little shorter
    slot = avail / (cycles * len(FAULTS))
    scale = min(1.0, slot / SLOT)
    fs, outs = [], [(warmup * 0.3, max(45.0, 90 * scale))]
    for i in range(cycles * len(FAULTS)):
        start = warmup + lead + i * slot
        name = FAULTS[i % len(FAULTS)]
        fs.append((start, name, max(10.0, BASE_SECONDS[name] * scale)))
        outs.append((start + 10 * scale, max(45.0, 90 * scale)))  # during the fault
        outs.append((start + 0.57 * slot, max(45.0, 90 * scale)))  # after it
    return Plan(total, warmup, fs, outs, window=min(600.0, total / 6))


# --- the config ------------------------------------------------------------------------------


def loop_address(n: int) -> str:
    return f"127.1.{n // 250}.{n % 250 + 1}"


def config_text(
    *,
    devices: int,
    lab_villages: int,
    trap_port: int,
    snmpd_port: int,
    webhook: str,
    influx: str,
    spool: Path,
    db: Path,
    interval: str = "30s",
) -> str:
    lines = [
        "settings:",
        f"  ping: {{interval: {interval}, count: 5, spacing: 200ms, timeout: 1s}}",
        "  scheduler: {max_concurrency: 2000}",
        f"  snmp_traps: {{enabled: true, address: 127.0.0.1, port: {trap_port},"
        " credentials: [soak-v2]}",
        f"  influxdb: {{url: '{influx}', org: soak, bucket: soak, spool_dir: '{spool}'}}",
        f"  alerting: {{db_path: '{db}'}}",
        "  notifications:",
        "    default_contacts: soak",
        f"    contacts: [{{name: soak, webhook: [{{url: '{webhook}'}}]}}]",
        "credentials:",
        "  snmp:",
        "    soak-v2: {version: 2c, community: {env: NETWATCH_SOAK_COMMUNITY},"
        f" port: {snmpd_port}}}",
        "regency:",
        '  code: "35.10"',
        "  name: Soak",
        "  districts:",
    ]
    n = 0
    for d in range(1, (devices // 2 + 124) // 125 + 1):
        lines += [f'    - code: "35.10.{d:02d}"', f"      name: District {d}", "      villages:"]
        for v in range(1, 126):
            if n >= devices:
                break
            snmp = ", snmp: soak-v2" if n == 0 else ""
            lines += [
                f'        - {{code: "35.10.{d:02d}.{2000 + v}", name: Desa {d}-{v}, kind: desa,',
                "           devices: [",
                f"             {{name: r-{d}-{v}, role: router,"
                f" address: {loop_address(n)}{snmp}}},",
                f"             {{name: ap-{d}-{v}, role: ap, address: {loop_address(n + 1)},"
                f" parent: r-{d}-{v}}}]}}",
            ]
            n += 2
    lines += ['    - code: "35.10.90"', "      name: Soak Lab", "      villages:"]
    for v in range(1, lab_villages + 1):
        lines += [
            f'        - {{code: "35.10.90.{2000 + v}", name: Lab {v}, kind: desa, devices: [',
            f"             {{name: lab-r{v}, role: router, address: 127.200.{v}.2,"
            " ping_interval: 5s},",
            f"             {{name: lab-ap{v}, role: ap, address: 127.201.{v}.1,"
            f" parent: lab-r{v}, ping_interval: 5s}}]}}",
        ]
    return "\n".join(lines) + "\n"


# --- the lab ---------------------------------------------------------------------------------


@dataclass
class Lab:
    netlab: Netlab
    villages: int
    links: dict[int, object] = field(default_factory=dict)

    def build(self) -> None:
        core = self.netlab.add("core")
        core.run("ip", "addr", "add", "127.1.0.1/16", "dev", "lo")  # the loopback devices
        core.run("ip", "addr", "add", "127.250.0.1/24", "dev", "lo")  # storm/trap sources
        for v in range(1, self.villages + 1):
            ns = self.netlab.add(f"v{v}")
            self.links[v] = self.netlab.link(core, f"127.200.{v}.1", ns, f"127.200.{v}.2")
            ns.run("ip", "addr", "add", f"127.201.{v}.1/32", "dev", "lo", "scope", "global")
            self._route(v)

    def _route(self, v: int) -> None:
        self.netlab.namespaces["core"].run(
            "ip", "route", "replace", f"127.201.{v}.0/24", "via", f"127.200.{v}.2"
        )

    def cut(self, v: int) -> None:
        """The village's end goes down (power cut there): echoes vanish, nothing answers."""
        self.links[v].set_up(False, side="b")  # type: ignore[attr-defined]

    def restore(self, v: int) -> None:
        self.links[v].set_up(True, side="b")  # type: ignore[attr-defined]
        self._route(v)  # the kernel dropped it with the link


# --- the run ---------------------------------------------------------------------------------


class Soak:
    def __init__(self, args: argparse.Namespace, work: Path, lab: Lab, plan_: Plan) -> None:
        self.args, self.work, self.lab, self.plan = args, work, lab, plan_
        self.disk = work / "soak-disk"
        self.results: dict[str, list[dict]] = {}
        self.outages: list[faults.Outage] = []
        self.fault_spans: list[tuple[str, float, float]] = []  # (fault, start, end) unix
        self.lock = threading.Lock()
        self.t0 = 0.0

    def record(self, fault: str, result: dict) -> None:
        with self.lock:
            self.results.setdefault(fault, []).append(result)

    def run(self) -> dict:
        a = self.args
        self.webhook = WebhookReceiver()
        self.webhook.start()
        self.vm = VictoriaMetrics(self.work / "vm", extra=("-dedup.minScrapeInterval=1ms",))
        self.vm.start()
        snmpd_port = free_udp_port("127.1.0.1")
        with running_snmpd(
            host=TRAP_DEVICE, port=snmpd_port, extra_conf=["rocommunity public 127.0.0.0/8"]
        ):
            self.trap_port = free_udp_port()
            kw = dict(
                devices=a.devices,
                lab_villages=self.lab.villages,
                trap_port=self.trap_port,
                snmpd_port=snmpd_port,
                webhook=self.webhook.url + "/hook",
                influx=self.vm.url,
                spool=self.disk / "spool",
                db=self.disk / "alerts.sqlite3",
            )
            self.good = config_text(**kw)  # type: ignore[arg-type]
            self.bad = config_text(**kw, interval=".nan")  # type: ignore[arg-type]
            self.nw = Netwatch(self.work, self.good, free_port(), COMMUNITY)
            try:
                self.nw.start(timeout=120 + a.devices / 100)
                return self._measure()
            finally:
                self.nw.stop()
                self.vm.stop()
                self.webhook.stop()

    def _measure(self) -> dict:
        self.t0 = time.time()
        self.sampler = Sampler(self.nw, every=self.args.sample_every)
        self.sampler.start()
        actions: list[tuple[float, Callable[[], None]]] = []
        for i, (start, dur) in enumerate(self.plan.outages, 1):
            actions.append((start, lambda v=i, d=dur: self._outage(v, d)))
        for start, name, dur in self.plan.faults:
            actions.append((start, lambda n=name, d=dur: self._fault(n, d)))
        threads = []
        for start, action in sorted(actions, key=lambda x: x[0]):
            _sleep_until(self.t0 + start)
            t = threading.Thread(target=action, daemon=True)
            t.start()
            threads.append(t)
        _sleep_until(self.t0 + self.plan.total)
        for t in threads:
            t.join(timeout=300)
        # Let the last resolutions arrive (bounded), then one last sample.
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline and not self._all_resolved():
            time.sleep(2)
        self.sampler.stop()
        t_end = time.time()
        self.nw.stop()  # flushes what the exporter still holds
        self.influx_gaps = influx_gaps(self.vm.url, self.t0 + 60, t_end - 60)
        return self._report()

    def _all_resolved(self) -> bool:
        v = faults.check_notifications(self.outages, self.webhook.bodies())
        return not v.missed

    def _outage(self, v: int, duration: float) -> None:
        code = f"35.10.90.{2000 + v}"
        self.lab.cut(v)
        outage = faults.Outage(code, time.time())
        with self.lock:
            self.outages.append(outage)
        time.sleep(duration)
        self.lab.restore(v)
        outage.restored = time.time()

    def _fault(self, name: str, duration: float) -> None:
        start = time.time()
        try:
            result = getattr(self, f"_{name}")(duration)
        except Exception as exc:  # a broken injector is a result, not a crash of the soak
            result = {"failed": [f"injector raised {exc!r}"]}
        end = time.time()
        result.update(start_min=round((start - self.t0) / 60, 2), seconds=round(end - start, 1))
        with self.lock:
            self.fault_spans.append((name, start, end))
        self.record(name, result)
        print(f"soak: {name} at minute {result['start_min']}: {json.dumps(result)}", flush=True)

    # Each fault returns {"failed": [...], ...figures}.

    def _scrape_storm(self, duration: float) -> dict:
        t_start = time.monotonic()
        before = self.nw.values()
        health: list[float] = []
        stop = threading.Event()

        def probe() -> None:
            for _ in range(int(duration * 2) + 60):
                if stop.is_set():
                    return
                health.append(self.nw.healthz_seconds())
                time.sleep(1)

        prober = threading.Thread(target=probe, daemon=True)
        prober.start()
        out = subprocess.run(
            [
                sys.executable,
                str(REPO / "bench" / "soak_faults.py"),
                "scrape-storm",
                f"--url={self.nw.url}/metrics",
                f"--sources={','.join(STORM_SOURCES)}",
                "--per-source=40",
                f"--seconds={duration}",
            ],
            capture_output=True,
            text=True,
            timeout=duration + 300,
        )
        stop.set()
        prober.join(timeout=30)
        storm = json.loads(out.stdout.strip().splitlines()[-1]) if out.stdout.strip() else {}
        after = self.nw.values()
        renders = after.get("netwatch_metrics_renders_total", 0) - before.get(
            "netwatch_metrics_renders_total", 0
        )
        rejected = after.get("netwatch_metrics_scrapes_rejected_total", 0) - before.get(
            "netwatch_metrics_scrapes_rejected_total", 0
        )
        failed = []
        # Documented (docs/security.md): at most web.max_concurrent_scrapes responses are
        # written at once; the others get a fast 503 with Retry-After, counted in a metric.
        statuses = storm.get("statuses", {})
        bad = {k: v for k, v in statuses.items() if k not in ("200", "503")}
        if not storm or bad:
            failed.append(
                f"scrapes not answered 200 or 503 + Retry-After: {bad or out.stderr[-500:]}"
            )
        if storm and not statuses.get("200"):
            failed.append("no scrape answered 200 during the storm")
        # The bench's own sampler scrapes /metrics every --sample-every seconds and may be
        # refused too: those 503s are counted by netwatch but not seen by the storm's clients.
        own = (time.monotonic() - t_start) / self.args.sample_every + 3
        if storm and not 0 <= rejected - statuses.get("503", 0) <= own:
            failed.append(f"{rejected} rejected scrapes counted, {statuses.get('503', 0)} seen")
        if storm and (storm.get("rejected_latency_p50_s") or 0) > 1:
            failed.append(f"503 not fast: p50 {storm['rejected_latency_p50_s']} s")
        served = statuses.get("200", 0)
        if storm and served and renders >= served:
            failed.append(f"{renders} renders for {served} scrapes served: not shared")
        if health and max(health) > 5:
            failed.append(f"/healthz took {max(health):.1f} s during the storm")
        return {
            "failed": failed,
            **storm,
            "renders": renders,
            "rejected_counted": rejected,
            "healthz_max_s": round(max(health), 3) if health else None,
        }

    def _trap_flood(self, duration: float) -> dict:
        t0 = time.monotonic()
        before, drops0 = self.nw.values(), faults.udp_receive_errors()
        flood = faults.trap_flood(
            ("127.0.0.1", self.trap_port), TRAP_DEVICE, COMMUNITY, FOREIGN, 400, duration
        )
        time.sleep(5)  # the listener drains its socket
        after, drops = self.nw.values(), faults.udp_receive_errors() - drops0
        got: dict[str, float] = {}
        for k, v in after.items():
            if k.startswith("netwatch_snmp_traps_received_total"):
                result = k.split('result="')[1].split('"')[0]
                got[result] = got.get(result, 0) + v - before.get(k, 0)
        got = {k: v for k, v in got.items() if v}
        polls_key = 'netwatch_poll_duration_seconds_count{collector="snmp"}'
        polls = after.get(polls_key, 0) - before.get(polls_key, 0)
        sent = flood.sent
        failed = []
        counted = sum(got.values())
        if counted + drops != sum(sent.values()):
            failed.append(f"counted {counted} + kernel drops {drops} != sent {sum(sent.values())}")
        results = {"unknown_sender": "unknown_sender", "bad_credentials": "bad_credentials"}
        results |= {"too_big": "too_big", "garbage": "malformed"}  # sent kind -> result
        for kind, res in results.items():
            if got.get(res, 0) + drops < sent[kind] or got.get(res, 0) > sent[kind]:
                failed.append(f"{kind}: counted {got.get(res, 0)} {res} of {sent[kind]} sent")
        valid = got.get("accepted", 0) + got.get("rate_limited", 0)
        if valid > sent["valid"] or valid + drops < sent["valid"]:
            failed.append(f"valid traps: {valid} accepted/rate-limited of {sent['valid']}")
        # Re-polls + scheduled polls over the window the poll count covers (the flood, the
        # drain and the two scrapes), not the flood alone: a 20 s flood is counted over ~27 s.
        window = time.monotonic() - t0
        limit = window / 10 + 2 + window / 60 + 1
        if polls > limit:
            failed.append(f"{polls:.0f} SNMP polls of the trapping device (limit {limit:.0f})")
        return {
            "failed": failed,
            "sent": sent,
            "counted": got,
            "kernel_drops": drops,
            "snmp_polls": polls,
        }

    def _reload_storm(self, duration: float) -> dict:
        turns = faults.reload_storm(
            self.nw.url + "/-/reload", self.nw.config, self.good, self.bad, duration
        )
        v = self.nw.values()
        failed = []
        for which, statuses in turns:
            want = 500 if which == "bad" else 200
            if any(s != want for s in statuses):
                failed.append(f"{which} file: statuses {statuses} (want {want})")
        if v.get("netwatch_config_last_reload_successful") != 1:
            failed.append("netwatch_config_last_reload_successful is not 1 after the good file")
        jobs = v.get('netwatch_scheduler_jobs{collector="ping"}')
        want_jobs = self.args.devices + 2 * self.lab.villages
        if jobs != want_jobs:
            failed.append(f"{jobs} ping jobs after the storm (want {want_jobs})")
        return {
            "failed": failed,
            "turns": len(turns),
            "requests": sum(len(s) for _, s in turns),
            "ping_jobs": jobs,
        }

    def _influxdb_down(self, duration: float) -> dict:
        before = self.nw.values()
        queued0 = before.get("netwatch_influxdb_points_queued", 0)
        self.vm.stop()
        down = time.time()
        time.sleep(duration)
        queued_max = self.nw.values().get("netwatch_influxdb_points_queued", 0)
        self.vm.start()
        up = time.time()
        # Drained: a write acknowledged after the return and the queue back to its usual size.
        drained = None
        for _ in range(180):
            v = self.nw.values()
            last = v.get("netwatch_influxdb_last_success_timestamp_seconds", 0)
            if last > up and v.get("netwatch_influxdb_points_queued", 1e9) <= 2 * queued0 + 2000:
                drained = round(time.time() - up, 1)
                break
            time.sleep(1)
        after = self.nw.values()
        dropped = _sum(after, "netwatch_influxdb_points_dropped_total") - _sum(
            before, "netwatch_influxdb_points_dropped_total"
        )
        errors = _sum(after, "netwatch_influxdb_write_errors_total") - _sum(
            before, "netwatch_influxdb_write_errors_total"
        )
        failed = []
        if dropped:
            failed.append(f"{dropped:.0f} points dropped")
        if drained is None:
            failed.append("the spool did not drain within 180 s of the server's return")
        return {
            "failed": failed,
            "down_s": round(up - down, 1),
            "queued_before": queued0,
            "queued_at_return": queued_max,
            "write_errors": errors,
            "dropped": dropped,
            "drained_after_s": drained,
        }

    def _disk_full(self, duration: float) -> dict:
        before = self.nw.values()
        log0 = self.nw.log_lines()
        filled = faults.fill_disk(self.disk, 1 << 30)
        t_fill = time.time()
        named: set[str] = set()
        down: set[str] = set()
        end = time.monotonic() + duration
        for i in range(int(duration) + 10):
            if time.monotonic() >= end:
                break
            status, body = self.nw.readyz()
            if status == 503:
                named |= {c for c in ("alert_store", "influxdb_spool") if c in body}
                self._last_503 = body
            if i % 5 == 0:
                down |= {
                    k.split('component="')[1].split('"')[0]
                    for k, v in self.nw.values().items()
                    if k.startswith("netwatch_component_up") and v == 0
                }
            time.sleep(1)
        faults.free_disk(self.disk)
        log = self.nw.log_lines()[len(log0) :]
        eval_failed = sum(1 for line in log if "evaluation failed" in line)
        store_write_logged = sum(1 for line in log if "cannot write the alert database" in line)
        t_free = time.time()
        recovered = None
        for _ in range(150):
            if self.nw.readyz()[0] == 200:
                recovered = round(time.time() - t_free, 1)
                break
            time.sleep(1)
        # The spool reports running again 10 s after its last failure at the earliest
        # (hysteresis): count its flaps once that has passed.
        time.sleep(max(0.0, t_free + 15 - time.time()))
        after = self.nw.values()
        dropped = _sum(after, "netwatch_influxdb_points_dropped_total") - _sum(
            before, "netwatch_influxdb_points_dropped_total"
        )
        spool_failures = 'netwatch_component_failures_total{component="influxdb_spool"}'
        log_all = self.nw.log_lines()[len(log0) :]
        spool_recoveries = sum(1 for line in log_all if "influxdb_spool running again" in line)
        failed = []
        if spool_recoveries > 1:
            failed.append(f"the InfluxDB spool's health flapped: {spool_recoveries} recoveries")
        if not named:
            failed.append("/readyz never named alert_store or influxdb_spool while full")
        if recovered is None:
            failed.append("/readyz not 200 within 150 s of freeing the disk")
        if dropped:
            failed.append(f"{dropped:.0f} InfluxDB points dropped")
        if eval_failed and "alert_store" not in named | down:
            failed.append(
                f"alert database writes failed ({eval_failed} 'evaluation failed' log entries)"
                " but /readyz and netwatch_component_up never named alert_store"
            )
        return {
            "components_down_seen": sorted(down),
            "alert_evaluations_failed_logged": eval_failed,
            "alert_store_write_fault_logged": store_write_logged,
            "log_lines_during": sum(1 for line in log if line[:4].isdigit()),
            "log_lines_until_15s_after": sum(1 for line in log_all if line[:4].isdigit()),
            "spool_recoveries_logged": spool_recoveries,
            "spool_fault_reports": after.get(spool_failures, 0) - before.get(spool_failures, 0),
            "failed": failed,
            "filled_mib": round(filled / 2**20, 1),
            "full_s": round(t_free - t_fill, 1),
            "readyz_named": sorted(named),
            "readyz_body": getattr(self, "_last_503", "")[:400],
            "recovered_after_s": recovered,
            "influx_dropped": dropped,
        }

    # --- report ---------------------------------------------------------------------------

    def _report(self) -> dict:
        from bench.soak_run import report

        return report(self)


def _sum(values: dict[str, float], prefix: str) -> float:
    return sum(v for k, v in values.items() if k.startswith(prefix))


def _sleep_until(t: float) -> None:
    while (left := t - time.time()) > 0:
        time.sleep(min(left, 5))


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--minutes", type=float, default=60)
    ap.add_argument("--devices", type=int, default=10_000)
    ap.add_argument("--sample-every", type=float, default=10)
    ap.add_argument("--tmpfs-mib", type=int, default=64)
    ap.add_argument(
        "--end-by",
        help="HH:MM (UTC): shorten the run so that it ends by then (a shared machine's deadline)",
    )
    args = ap.parse_args()
    if os.geteuid() != 0:
        print("soak: needs root (network namespaces, tmpfs)", file=sys.stderr)
        return 2
    if args.end_by:
        hh, mm = (int(x) for x in args.end_by.split(":"))
        now = time.gmtime()
        left = (hh * 60 + mm) - (now.tm_hour * 60 + now.tm_min) - 6  # start + final checks
        if left < args.minutes:
            print(f"soak: only {left} minutes left before {args.end_by} UTC", flush=True)
            args.minutes = max(5.0, float(left))
    # `timeout` or a Ctrl-C must still remove the namespaces, the tmpfs and the processes.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    p = plan(args.minutes)
    work = Path(tempfile.mkdtemp(prefix="nw-soak-"))
    disk = work / "soak-disk"
    disk.mkdir()
    subprocess.run(
        ["mount", "-t", "tmpfs", "-o", f"size={args.tmpfs_mib}m,mode=0700", "nwsoak", str(disk)],
        check=True,
        timeout=30,
    )
    print(f"soak: work dir {work}; {len(p.faults)} faults, {len(p.outages)} outages", flush=True)
    try:
        with Netlab(prefix="nwsoak") as netlab:
            lab = Lab(netlab, villages=len(p.outages))
            lab.build()
            with netlab.namespaces["core"].entered():
                soak = Soak(args, work, lab, p)
                result = soak.run()
    finally:
        subprocess.run(["umount", str(disk)], check=False, timeout=30)
    (work / "soak.json").write_text(json.dumps(result, indent=2, default=str))
    print(json.dumps(result["summary"], indent=2))
    print(result["table"])
    print(f"soak: full result in {work / 'soak.json'}")
    return 0 if all(result["targets"].values()) else 1


if __name__ == "__main__":
    sys.exit(main())
