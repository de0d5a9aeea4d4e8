"""The simulated regency of bench/alert_bench.py: namespaces, the peer stack, the receivers.

25 district namespaces hang off a `core` namespace by one veth link each; every district holds
its POP router and 9 villages × (router + AP) as addresses on its lo (nftables drops them).
"""

from __future__ import annotations

import json
import socket
import sys
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


def am_first(sink: Sink, since: float, status: str, instances: set[str]) -> float | None:
    """When Alertmanager first told the receiver of status for one of instances."""
    for t, body in sink.am(since):
        for a in body["alerts"]:
            if a["status"] == status and a["labels"].get("instance") in instances:
                return t
    return None


def nw_first(sink: Sink, since: float, event: str, village: str) -> tuple[float, Any] | None:
    """netwatch's first VillageWifiDown notification of event for village since: (t, body)."""
    for t, body in sink.hooks(since):
        lab = body["alert"]["labels"]
        if (
            body["event"] == event
            and lab.get("village") == village
            and lab["alertname"] == "VillageWifiDown"
        ):
            return t, body
    return None
