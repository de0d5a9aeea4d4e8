"""Alerting benchmark: a simulated regency, netwatch vs the stock Prometheus stack, one run.

    sudo .venv/bin/python bench/alert_bench.py [--districts 25] [--loss-minutes 30]

25 district namespaces hang off a `core` namespace by one veth link each; every district holds
its POP router and 9 villages × (router + AP) as addresses (450 village devices + 25 POPs).
In `core`, two monitors watch the same addresses at their default settings:
  netwatch   — shared pinger, scheduler, alert engine (defaults), outbox → webhook sink
  peer       — blackbox_exporter ICMP, Prometheus (15 s scrape, `probe_success == 0` for 1m),
               Alertmanager grouped by district (stock timings) → webhook sink
Phases: (1) APs taken down one by one (nft drop) and restored: detection and resolution times;
(2) one district's uplink cut and restored: notifications sent; (3) 20% random loss on every
link, both directions (nft numgen), for --loss-minutes: down notifications sent.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import socket
import statistics
import sys
import tempfile
import time
from dataclasses import replace
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from aiohttp import web  # noqa: E402

from netwatch.alerting.notifiers.webhook import WebhookTarget  # noqa: E402
from netwatch.core.model import (  # noqa: E402
    AlertingSettings,
    Device,
    District,
    Inventory,
    Role,
    Settings,
    Village,
    VillageKind,
)
from netwatch.core.notifications import ContactList, NotificationSettings  # noqa: E402
from tests.helpers.netns import Namespace, Netlab  # noqa: E402

VILLAGES = 9


def dev_addr(d: int, v: int, ap: bool) -> str:
    return f"127.111.{d}.{2 * v + (1 if ap else 0)}"


def pop_addr(d: int) -> str:
    return f"127.110.{d}.2"


def build_inventory(districts: int, db: str, hook: str) -> Inventory:
    devices: dict[str, Device] = {}
    dmap: dict[str, District] = {}
    vmap: dict[str, Village] = {}
    for d in range(1, districts + 1):
        dcode = f"35.10.{d:02d}"
        pop = f"pop-{d}"
        devices[pop] = Device(pop, Role.ROUTER, pop_addr(d), dcode)
        codes = []
        for v in range(1, VILLAGES + 1):
            code = f"{dcode}.20{v:02d}"
            rtr, ap = f"rtr-{d}-{v}", f"ap-{d}-{v}"
            devices[rtr] = Device(rtr, Role.ROUTER, dev_addr(d, v, False), dcode, code, pop)
            devices[ap] = Device(ap, Role.AP, dev_addr(d, v, True), dcode, code, rtr)
            vmap[code] = Village(code, f"Desa {d}-{v}", VillageKind.DESA, dcode, devices=(rtr, ap))
            codes.append(code)
        dmap[dcode] = District(dcode, f"Kecamatan {d}", tuple(codes), (pop,))
    notify = NotificationSettings(
        contacts=(ContactList("oncall", (WebhookTarget(hook),)),), default_contacts="oncall"
    )
    settings = replace(Settings(), alerting=AlertingSettings(db_path=db), notifications=notify)
    return Inventory("35.10", "Banyuwangi", settings, dmap, vmap, devices, {})


def free_port(ns: Namespace) -> int:
    def pick() -> int:
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            return s.getsockname()[1]

    return ns.call(pick)


NFT = """table inet nwbench {
 set down {
  type ipv4_addr
 }
 chain pre {
  type filter hook prerouting priority 0
 }
 chain inp {
  type filter hook input priority 0
  ip daddr @down drop
 }
 chain out {
  type filter hook output priority 0
 }
}
"""


class Lab:
    def __init__(self, lab: Netlab, districts: int) -> None:
        self.lab = lab
        self.core = lab.add("core")
        self.districts: dict[int, Namespace] = {}
        self.links = {}
        for d in range(1, districts + 1):
            ns = lab.add(f"d{d}")
            self.links[d] = lab.link(self.core, f"127.110.{d}.1", ns, pop_addr(d))
            for v in range(1, VILLAGES + 1):
                for ap in (False, True):
                    ns.run(
                        "ip",
                        "addr",
                        "add",
                        f"{dev_addr(d, v, ap)}/32",
                        "dev",
                        "lo",
                        "scope",
                        "global",
                    )
            self.core.run("ip", "route", "add", f"127.111.{d}.0/24", "via", pop_addr(d))
            ns.nft(NFT)
            self.districts[d] = ns

    def set_down(self, d: int, address: str, down: bool) -> None:
        verb = "add" if down else "delete"
        self.districts[d].run("nft", verb, "element", "inet", "nwbench", "down", f"{{ {address} }}")

    def loss(self, percent: int) -> None:
        rule = f"meta l4proto icmp numgen random mod 100 < {percent} drop"
        for ns in self.districts.values():
            ns.run("nft", "flush", "chain", "inet", "nwbench", "pre")
            ns.run("nft", "flush", "chain", "inet", "nwbench", "out")
            if percent:
                ns.run("nft", "add", "rule", "inet", "nwbench", "pre", *rule.split())
                ns.run("nft", "add", "rule", "inet", "nwbench", "out", *rule.split())


class Sink:
    """Webhook receiver listening inside `core`: records (time, path, body)."""

    def __init__(self) -> None:
        self.got: list[tuple[float, str, Any]] = []
        self.runners: list[web.AppRunner] = []

    async def start(self, ns: Namespace | None) -> int:
        """Listen on 127.0.0.1 inside ns (None: this process's own namespace)."""
        make = lambda: socket.create_server(("127.0.0.1", 0))  # noqa: E731
        sock = ns.call(make) if ns is not None else make()
        app = web.Application(client_max_size=16 * 2**20)
        app.router.add_post("/{tail:.*}", self._handle)
        runner = web.AppRunner(app, access_log=None)
        await runner.setup()
        await web.SockSite(runner, sock).start()
        self.runners.append(runner)
        return sock.getsockname()[1]

    async def _handle(self, request: web.Request) -> web.Response:
        self.got.append((time.time(), request.path, await request.json()))
        return web.json_response({"ok": True})

    def hooks(self, since: float = 0.0) -> list[tuple[float, Any]]:
        return [(t, b) for t, p, b in self.got if p == "/hook" and t >= since]

    def am(self, since: float = 0.0) -> list[tuple[float, Any]]:
        return [(t, b) for t, p, b in self.got if p == "/am" and t >= since]


def start_peer(lab: Lab, work: Path, districts: int, sink_port: int, group_interval: str) -> int:
    core = lab.core
    bb, prom, am = free_port(core), free_port(core), free_port(core)
    (work / "blackbox.yml").write_text(
        "modules:\n  icmp:\n    prober: icmp\n    timeout: 5s\n"
        "    icmp:\n      preferred_ip_protocol: ip4\n"
    )
    targets = []
    for d in range(1, districts + 1):
        addrs = [pop_addr(d)] + [dev_addr(d, v, ap) for v in range(1, 10) for ap in (False, True)]
        targets.append({"targets": addrs, "labels": {"district": f"35.10.{d:02d}"}})
    (work / "targets.json").write_text(json.dumps(targets))
    (work / "rules.yml").write_text(
        "groups:\n- name: stock\n  rules:\n  - alert: ProbeDown\n    expr: probe_success == 0\n"
        "    for: 1m\n    labels: {severity: critical}\n"
    )
    (work / "prometheus.yml").write_text(
        f"""global: {{scrape_interval: 15s, evaluation_interval: 15s}}
rule_files: [{work / "rules.yml"}]
alerting:
  alertmanagers: [{{static_configs: [{{targets: ['127.0.0.1:{am}']}}]}}]
scrape_configs:
- job_name: blackbox
  metrics_path: /probe
  params: {{module: [icmp]}}
  file_sd_configs: [{{files: ['{work / "targets.json"}']}}]
  relabel_configs:
  - {{source_labels: [__address__], target_label: __param_target}}
  - {{source_labels: [__param_target], target_label: instance}}
  - {{target_label: __address__, replacement: '127.0.0.1:{bb}'}}
"""
    )
    (work / "alertmanager.yml").write_text(
        f"""route:
  receiver: hook
  group_by: [district]
  group_interval: {group_interval}
receivers:
- name: hook
  webhook_configs: [{{url: 'http://127.0.0.1:{sink_port}/am', send_resolved: true}}]
"""
    )
    logs = open(work / "peer.log", "ab")  # noqa: SIM115 - children keep it
    core.popen(
        "prometheus-blackbox-exporter",
        f"--config.file={work / 'blackbox.yml'}",
        f"--web.listen-address=127.0.0.1:{bb}",
        stdout=logs,
        stderr=logs,
    )
    core.popen(
        "prometheus-alertmanager",
        f"--config.file={work / 'alertmanager.yml'}",
        f"--storage.path={work / 'am'}",
        f"--web.listen-address=127.0.0.1:{am}",
        "--cluster.listen-address=",
        stdout=logs,
        stderr=logs,
    )
    core.popen(
        "prometheus",
        f"--config.file={work / 'prometheus.yml'}",
        f"--storage.tsdb.path={work / 'tsdb'}",
        f"--web.listen-address=127.0.0.1:{prom}",
        stdout=logs,
        stderr=logs,
    )
    return prom


def am_first(sink: Sink, since: float, status: str, instance: str) -> float | None:
    for t, body in sink.am(since):
        for a in body["alerts"]:
            if a["status"] == status and a["labels"].get("instance") == instance:
                return t
    return None


def nw_first(sink: Sink, since: float, event: str, village: str) -> float | None:
    for t, body in sink.hooks(since):
        lab = body["alert"]["labels"]
        if (
            body["event"] == event
            and lab.get("village") == village
            and lab["alertname"] == "VillageWifiDown"
        ):
            return t
    return None


async def wait(cond, timeout: float, step: float = 0.5) -> bool:
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        if cond():
            return True
        await asyncio.sleep(step)
    return bool(cond())


def med(xs: list[float]) -> str:
    return f"{statistics.median(xs):.1f}" if xs else "n/a"


async def run(args: argparse.Namespace) -> dict[str, Any]:
    from netwatch.alerting.service import AlertService
    from netwatch.alerting.traceroute import last_hop_text
    from netwatch.collectors.icmp import PLUGIN as ICMP
    from netwatch.collectors.icmp import Pinger
    from netwatch.core.scheduler import Scheduler
    from netwatch.core.state import State
    from tests.helpers.village_lab import PingCollector

    out: dict[str, Any] = {}
    work = Path(tempfile.mkdtemp(prefix="nw-alert-bench-"))
    with Netlab() as netlab:
        lab = Lab(netlab, args.districts)
        # Alertmanager runs in `core`; netwatch's outbox in this process's namespace.
        sink = Sink()
        am_port = await sink.start(lab.core)
        hook_port = await sink.start(None)
        start_peer(lab, work, args.districts, am_port, args.am_group_interval)
        inv = build_inventory(
            args.districts, str(work / "alerts.db"), f"http://127.0.0.1:{hook_port}/hook"
        )
        if args.ping_interval:
            inv = replace(
                inv,
                settings=replace(
                    inv.settings, ping=replace(inv.settings.ping, interval=args.ping_interval)
                ),
            )
        pinger = lab.core.call(Pinger.open)
        state = State(inv)
        scheduler = Scheduler([PingCollector(pinger, inv.settings.ping)], state.record)
        s = inv.settings.alerting

        def tracer(address: str) -> str | None:
            return lab.core.call(
                last_hop_text, address, s.traceroute_max_hops, s.traceroute_timeout
            )

        service = AlertService.create(inv, state, scheduler.request_poll, tracer=tracer)
        scheduler.start(inv)
        await service.start()
        try:
            ok = await wait(
                lambda: (
                    len(service.snapshot().recorded) == len(inv.villages)
                    and set(service.snapshot().recorded.values()) == {"up"}
                ),
                120,
            )
            print(f"warm-up: netwatch villages all up: {ok}", flush=True)
            await asyncio.sleep(args.warmup)

            # (1) detection and resolution
            picks = [
                (d, 1 + (d % VILLAGES)) for d in range(1, min(args.trials, args.districts) + 1)
            ]
            down_at: dict[tuple[int, int], float] = {}
            for d, v in picks:
                lab.set_down(d, dev_addr(d, v, True), True)
                down_at[(d, v)] = time.time()
                await asyncio.sleep(args.stagger)

            def village(d: int, v: int) -> str:
                return f"35.10.{d:02d}.20{v:02d}"

            def detected() -> bool:
                return all(
                    nw_first(sink, down_at[p], "firing", village(*p))
                    and am_first(sink, down_at[p], "firing", dev_addr(p[0], p[1], True))
                    for p in picks
                )

            await wait(detected, 300)
            nw_det = [
                t - down_at[p]
                for p in picks
                if (t := nw_first(sink, down_at[p], "firing", village(*p)))
            ]
            am_det = [
                t - down_at[p]
                for p in picks
                if (t := am_first(sink, down_at[p], "firing", dev_addr(p[0], p[1], True)))
            ]
            print(f"detection s: netwatch {sorted(round(x, 1) for x in nw_det)}", flush=True)
            print(f"detection s: peer     {sorted(round(x, 1) for x in am_det)}", flush=True)
            up_at: dict[tuple[int, int], float] = {}
            for d, v in picks:
                lab.set_down(d, dev_addr(d, v, True), False)
                up_at[(d, v)] = time.time()
                await asyncio.sleep(args.stagger)

            def resolved() -> bool:
                return all(
                    nw_first(sink, up_at[p], "resolved", village(*p))
                    and am_first(sink, up_at[p], "resolved", dev_addr(p[0], p[1], True))
                    for p in picks
                )

            await wait(resolved, args.resolve_wait)
            nw_res = [
                t - up_at[p]
                for p in picks
                if (t := nw_first(sink, up_at[p], "resolved", village(*p)))
            ]
            am_res = [
                t - up_at[p]
                for p in picks
                if (t := am_first(sink, up_at[p], "resolved", dev_addr(p[0], p[1], True)))
            ]
            print(f"resolution s: netwatch {sorted(round(x, 1) for x in nw_res)}", flush=True)
            print(f"resolution s: peer     {sorted(round(x, 1) for x in am_res)}", flush=True)
            out["detection"] = {"netwatch": nw_det, "peer": am_det, "trials": len(picks)}
            out["resolution"] = {"netwatch": nw_res, "peer": am_res}

            # (2) district cut
            await asyncio.sleep(5)
            cut_d = args.districts
            t_cut = time.time()
            lab.links[cut_d].set_up(False, side="b")
            await asyncio.sleep(args.cut_seconds)
            nw_cut = [b for _, b in sink.hooks(t_cut)]
            am_cut = [b for _, b in sink.am(t_cut)]
            print(f"cut: netwatch {len(nw_cut)} notifications:", flush=True)
            for b in nw_cut:
                a = b["alert"]
                print(
                    f"   {b['event']} {a['labels']['alertname']} {a['labels'].get('device')} "
                    f"villages={len(a['affected_villages'])} path_break={a['path_break']}"
                )
            am_alerts = sum(len(b["alerts"]) for b in am_cut)
            print(f"cut: peer {len(am_cut)} notifications carrying {am_alerts} alerts", flush=True)
            out["cut"] = {
                "netwatch": [{"event": b["event"], "alert": b["alert"]} for b in nw_cut],
                "peer_notifications": len(am_cut),
                "peer_alerts": am_alerts,
                "peer_names_link": any("pop" in json.dumps(b) for b in am_cut),
            }
            lab.links[cut_d].set_up(True, side="b")
            lab.core.run("ip", "route", "replace", f"127.111.{cut_d}.0/24", "via", pop_addr(cut_d))
            await asyncio.sleep(args.after_cut)

            # (3) loss
            t_loss = time.time()
            lab.loss(args.loss)
            echo0 = sum(ds.part(ICMP).echo_sent_total for ds in state.devices.values())
            got0 = sum(ds.part(ICMP).echo_received_total for ds in state.devices.values())
            await asyncio.sleep(args.loss_minutes * 60)
            lab.loss(0)
            echo = sum(ds.part(ICMP).echo_sent_total for ds in state.devices.values()) - echo0
            got = sum(ds.part(ICMP).echo_received_total for ds in state.devices.values()) - got0
            hooks = [b for _, b in sink.hooks(t_loss)]
            nw_false = [
                b
                for b in hooks
                if b["alert"]["labels"]["severity"] == "critical" and b["event"] == "firing"
            ]
            nw_degraded = [b for b in hooks if b["alert"]["labels"]["severity"] == "warning"]
            am_false = [b for _, b in sink.am(t_loss) if b["status"] == "firing"]
            print(
                f"loss {args.loss}% for {args.loss_minutes} min: netwatch echo loss "
                f"{1 - got / max(echo, 1):.1%}, down notifications {len(nw_false)}, "
                f"degraded {len(nw_degraded)}; peer firing notifications {len(am_false)}",
                flush=True,
            )
            out["loss"] = {
                "minutes": args.loss_minutes,
                "echo_loss": 1 - got / max(echo, 1),
                "netwatch_down": len(nw_false),
                "netwatch_degraded": len(nw_degraded),
                "peer_firing": len(am_false),
                "peer_alerts": sum(len(b["alerts"]) for b in am_false),
            }
            out["engine_errors"] = service.snapshot().errors
        finally:
            await scheduler.shutdown()
            await service.stop()
            pinger.close()
            for runner in sink.runners:
                await runner.cleanup()
    return out


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--districts", type=int, default=25)
    p.add_argument("--trials", type=int, default=12, help="APs taken down (one per district)")
    p.add_argument("--stagger", type=float, default=4.3, help="seconds between AP downs")
    p.add_argument("--loss", type=int, default=20, help="percent per link and direction")
    p.add_argument("--loss-minutes", type=float, default=30)
    p.add_argument("--warmup", type=float, default=45)
    p.add_argument("--cut-seconds", type=float, default=150)
    p.add_argument("--after-cut", type=float, default=60)
    p.add_argument("--resolve-wait", type=float, default=330)
    p.add_argument("--am-group-interval", default="5m", help="Alertmanager's (stock: 5m)")
    p.add_argument("--ping-interval", type=float, default=0, help="override (0 = default)")
    p.add_argument("--json", help="write the figures here")
    args = p.parse_args()
    res = asyncio.run(run(args))
    d, r = res["detection"], res["resolution"]
    print("\n== summary ==")
    print(
        f"median detection s: netwatch {med(d['netwatch'])} ({len(d['netwatch'])}/{d['trials']})"
        f", peer {med(d['peer'])} ({len(d['peer'])}/{d['trials']})"
    )
    if d["netwatch"] and d["peer"]:
        ratio = statistics.median(d["netwatch"]) / statistics.median(d["peer"])
        print(f"  ratio netwatch/peer {ratio:.2f}")
    print(f"median resolution s: netwatch {med(r['netwatch'])}, peer {med(r['peer'])}")
    c = res["cut"]
    print(
        f"district cut: netwatch {len(c['netwatch'])} notifications; peer "
        f"{c['peer_notifications']} notifications with {c['peer_alerts']} alerts"
    )
    lo = res["loss"]
    print(
        f"loss: netwatch down notifications {lo['netwatch_down']} (degraded "
        f"{lo['netwatch_degraded']}); peer {lo['peer_firing']} firing notifications "
        f"({lo['peer_alerts']} alerts)"
    )
    if args.json:
        Path(args.json).write_text(json.dumps(res, indent=1, default=str))


if __name__ == "__main__":
    main()
