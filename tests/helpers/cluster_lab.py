"""A regency in network namespaces, watched by a netwatch cluster with its real neighbours.

    core ─┬─ p1 (district POP, snmpd) ─┬─ v11 (village: router .2, AP .3)
          │                            └─ v12 ... v15
          └─ p2 ... p4

`core` holds everything that watches: the netwatch replicas (one process each, own port), a
two-node Alertmanager cluster, Prometheus, etcd when asked, and the webhook receiver behind
Alertmanager. The villages and districts are the first five villages of four Banyuwangi
districts of the packaged default inventory, with addresses of this lab. Everything started
here is stopped by PID and every namespace removed when the Netlab closes. Over 400 lines
on purpose: one lab that the HA tests share, each part small (Regency, Hook,
AlertmanagerCluster, Prometheus, Instances, EchoWatch).
"""

from __future__ import annotations

import contextlib
import itertools
import json
import os
import socket
import subprocess
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from netwatch.config import load_inventory
from netwatch.config.loader import default_config_path
from tests.helpers.netns import Namespace, Netlab
from tests.helpers.procs import free_port, http_get, http_post, netwatch_bin, stop, wait_for
from tests.helpers.snmpd import running_snmpd

ROOT = Path(__file__).resolve().parents[2]
CUT = "table inet nwcut {\n chain in {\n  type filter hook input priority 0; drop\n }\n}\n"


@dataclass
class Village:
    code: str
    name: str
    district: str
    router: str  # address
    ap: str
    ns: Namespace


@dataclass
class District:
    code: str
    name: str
    pop: str  # the POP router's address (snmpd answers there)
    villages: list[Village] = field(default_factory=list)


class Regency:
    """Namespaces, links and routes of the lab; cut() and restore() a village."""

    def __init__(self, lab: Netlab, codes: tuple[str, ...], villages: int = 5) -> None:
        self.lab = lab
        self.core = lab.add("core")
        inv = load_inventory(default_config_path())
        self.districts: list[District] = []
        self._snmpd: contextlib.ExitStack = contextlib.ExitStack()
        for di, code in enumerate(codes, 1):
            pop = lab.add(f"p{di}", router=True)
            lab.link(self.core, f"127.100.{di}.1", pop, f"127.100.{di}.2")
            self.core.run("ip", "route", "add", f"127.{110 + di}.0.0/16", "via", f"127.100.{di}.2")
            d = District(code, inv.districts[code].name, f"127.100.{di}.2")
            for vi, vcode in enumerate(inv.districts[code].villages[:villages], 1):
                ns = lab.add(f"v{di}{vi}")
                link = lab.link(pop, f"127.{110 + di}.{vi}.1", ns, f"127.{110 + di}.{vi}.2")
                ns.run("ip", "addr", "add", f"127.{110 + di}.{vi}.3/32", "dev", link.dev_b,
                       "scope", "global")  # fmt: skip
                ns.run("ip", "route", "add", "127.100.0.0/16", "via", f"127.{110 + di}.{vi}.1")
                v = inv.villages[vcode]
                base = f"127.{110 + di}.{vi}"
                d.villages.append(Village(vcode, v.name, code, f"{base}.2", f"{base}.3", ns))
            self.districts.append(d)
            self._snmpd.enter_context(
                running_snmpd(
                    host=d.pop,
                    port=161,
                    netns=pop.name,
                    extra_conf=["rocommunity public 127.100.0.0/16"],
                )
            )

    def village(self, code: str) -> Village:
        return next(v for d in self.districts for v in d.villages if v.code == code)

    def cut(self, code: str) -> None:
        """The village's Wi-Fi office goes dark: nothing it receives is answered."""
        self.village(code).ns.nft(CUT)

    def restore(self, code: str) -> None:
        self.village(code).ns.run("nft", "delete", "table", "inet", "nwcut")

    def close(self) -> None:
        self._snmpd.close()

    def config(self, settings: str) -> str:
        """The inventory of the lab under `settings` (YAML text indented by two)."""
        districts = []
        for d in self.districts:
            pop = f"pop-{d.code[-2:]}"
            villages = []
            for v in d.villages:
                r = f"r-{v.code[-7:].replace('.', '-')}"
                devices = [
                    {"name": r, "role": "router", "address": v.router, "parent": pop},
                    {"name": f"ap-{r[2:]}", "role": "ap", "address": v.ap, "parent": r},
                ]
                villages.append(
                    {"code": v.code, "name": v.name, "kind": "desa", "devices": devices}
                )
            pop_device = {"name": pop, "role": "router", "address": d.pop, "snmp": "pop-v2"}
            districts.append(
                {"code": d.code, "name": d.name, "devices": [pop_device], "villages": villages}
            )
        regency = {"code": "35.10", "name": "Banyuwangi", "districts": districts}
        credentials = {
            "snmp": {"pop-v2": {"version": "2c", "community": {"env": "NETWATCH_SNMP_COMMUNITY"}}}
        }
        # JSON is YAML: one line each for the credentials and the regency.
        return (
            f"settings:\n{settings.rstrip()}\ncredentials: {json.dumps(credentials)}\n"
            f"regency: {json.dumps(regency)}\n"
        )


class Host:
    """The machine's own network, with a Namespace's popen/call (servers on 127.0.0.1)."""

    def __init__(self) -> None:
        self.procs: list[subprocess.Popen[bytes]] = []

    def popen(self, *argv: str, **kwargs: Any) -> subprocess.Popen[bytes]:
        proc = subprocess.Popen(argv, **kwargs)
        self.procs.append(proc)
        return proc

    def call(self, fn: Any, *args: Any) -> Any:
        return fn(*args)

    def close(self) -> None:
        for proc in self.procs:
            stop(proc)


def in_core(core: Namespace | Host, fn: Any, *args: Any) -> Any:
    """fn(*args) with its sockets inside core (HTTP to the servers there)."""
    return core.call(fn, *args)


class Hook:
    """Alertmanager's webhook receiver, listening inside core; records every payload."""

    def __init__(self, core: Namespace | Host) -> None:
        from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

        self.payloads: list[dict[str, Any]] = []
        self.lock = threading.Lock()
        hook = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
                with hook.lock:
                    hook.payloads.append({"at": time.time(), **json.loads(body)})
                self.send_response(200)
                self.end_headers()

            def log_message(self, *args: object) -> None:
                pass

        self.server = core.call(lambda: ThreadingHTTPServer(("127.0.0.1", 0), Handler))
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/hook"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def alerts(self) -> list[tuple[str, dict[str, str], dict[str, str], float]]:
        """(status, labels, annotations, received) of every alert of every notification."""
        with self.lock:
            return [(a["status"], a["labels"], a.get("annotations", {}), p["at"])
                    for p in self.payloads for a in p["alerts"]]  # fmt: skip

    def told(self) -> str:
        """Every notification, one a line: when, which Alertmanager node, status, labels."""
        with self.lock:
            return "\n".join(
                f"{p['at']:.2f} {p.get('externalURL')} {a['status']} {sorted(a['labels'].items())}"
                for p in self.payloads
                for a in p["alerts"]
            )

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


AM_CONFIG = """\
global:
  resolve_timeout: 30s
route:
  receiver: hook
  group_by: [alertname, village, device, shard]
  group_wait: 1s
  group_interval: 2s
  repeat_interval: 1h
receivers:
  - name: hook
    webhook_configs:
      - url: {url}
        send_resolved: true
"""


class AlertmanagerCluster:
    """Two Alertmanager nodes in core gossiping with each other (TESTBED.md)."""

    def __init__(
        self, core: Namespace | Host, work: Path, hook_url: str, peer_timeout: str = "2s"
    ) -> None:
        self.core = core
        self.ports = [in_core(core, free_port) for _ in range(2)]
        gossip = [in_core(core, free_port) for _ in range(2)]
        (work / "am.yml").write_text(AM_CONFIG.format(url=hook_url))
        self.procs: list[subprocess.Popen[bytes]] = []
        for i in range(2):
            log = open(work / f"am{i}.log", "ab")  # noqa: SIM115 - the child keeps it
            argv = [
                "prometheus-alertmanager",
                f"--config.file={work / 'am.yml'}",
                f"--storage.path={work / f'am{i}'}",
                f"--web.listen-address=127.0.0.1:{self.ports[i]}",
                f"--cluster.listen-address=127.0.0.1:{gossip[i]}",
                f"--cluster.advertise-address=127.0.0.1:{gossip[i]}",
                f"--cluster.peer=127.0.0.1:{gossip[1 - i]}",
                f"--cluster.peer-timeout={peer_timeout}",
                f"--web.external-url=http://127.0.0.1:{self.ports[i]}",  # names the sending node
                "--log.level=warn",
            ]
            self.procs.append(core.popen(*argv, stdout=log, stderr=log))
            log.close()

    @property
    def urls(self) -> list[str]:
        return [f"http://127.0.0.1:{p}" for p in self.ports]

    def settled(self) -> bool:
        for url in self.urls:
            status, body = in_core(self.core, http_get, url + "/api/v2/status")
            cluster = json.loads(body)["cluster"] if status == 200 else {}
            if cluster.get("status") != "ready" or len(cluster.get("peers", [])) != 2:
                return False
        return True

    def alerts(self, i: int = 0) -> list[dict[str, Any]]:
        return json.loads(in_core(self.core, http_get, self.urls[i] + "/api/v2/alerts")[1])


class Prometheus:
    """Prometheus in core: scrapes every instance with shard/replica labels, evaluates the
    shipped cluster rules and sends to the Alertmanager cluster."""

    def __init__(self, core: Namespace, work: Path, targets: dict[str, int], am: list[str]):
        self.core = core
        self.port = in_core(core, free_port)
        self.url = f"http://127.0.0.1:{self.port}"
        rules = work / "cluster.rules.yml"
        rules.write_text(json.dumps({"groups": [shipped_group("netwatch-cluster")]}))
        config = {
            "global": {"scrape_interval": "1s", "evaluation_interval": "1s"},
            "rule_files": [str(rules)],
            "alerting": {"alertmanagers": [{"static_configs": [
                {"targets": [u.removeprefix("http://") for u in am]}]}]},
            "scrape_configs": [{
                "job_name": "netwatch", "scrape_timeout": "1s",
                "static_configs": [
                    {"targets": [f"127.0.0.1:{port}"],
                     "labels": {"shard": inst.split("-")[0], "replica": inst.split("-")[1]}}
                    for inst, port in targets.items()],
            }],
        }  # fmt: skip
        (work / "prometheus.yml").write_text(json.dumps(config))
        log = open(work / "prometheus.log", "ab")  # noqa: SIM115 - the child keeps it
        self.proc = core.popen(
            "prometheus", f"--config.file={work / 'prometheus.yml'}",
            f"--storage.tsdb.path={work / 'prom'}", f"--web.listen-address=127.0.0.1:{self.port}",
            stdout=log, stderr=log,
        )  # fmt: skip
        log.close()

    def query(self, expr: str) -> list[dict[str, Any]]:
        from urllib.parse import urlencode

        status, body = in_core(
            self.core, http_get, f"{self.url}/api/v1/query?" + urlencode({"query": expr})
        )
        assert status == 200, body
        return json.loads(body)["data"]["result"]


def shipped_group(name: str) -> dict[str, Any]:
    """One rule group of rules/netwatch.rules.yml, as shipped."""
    from ruamel.yaml import YAML

    data = YAML(typ="safe").load((ROOT / "rules" / "netwatch.rules.yml").read_text())
    return next(g for g in data["groups"] if g["name"] == name)


class Instances:
    """netwatch run processes in core, one per SHARD-REPLICA, each on its own port."""

    def __init__(self, core: Namespace | Host, work: Path, config: Path) -> None:
        self.core = core
        self.work = work
        self.config = config
        self.ports: dict[str, int] = {}
        self.procs: dict[str, subprocess.Popen[bytes]] = {}

    def port(self, name: str) -> int:
        if name not in self.ports:
            self.ports[name] = in_core(self.core, free_port)
        return self.ports[name]

    def start(self, name: str) -> None:
        log = open(self.work / f"netwatch-{name}.log", "ab")  # noqa: SIM115
        env = {**os.environ, "NETWATCH_SNMP_COMMUNITY": "public"}
        self.procs[name] = self.core.popen(
            netwatch_bin(), "run", "--config", str(self.config), "--instance", name,
            "--listen", f"127.0.0.1:{self.port(name)}", "--log-level", "info",
            stdout=log, stderr=log, env=env, cwd=self.work,
        )  # fmt: skip
        log.close()

    def url(self, name: str) -> str:
        return f"http://127.0.0.1:{self.ports[name]}"

    def ready(self, name: str) -> bool:
        try:
            return in_core(self.core, http_get, self.url(name) + "/readyz")[0] == 200
        except OSError:
            return False

    def wait_ready(self, names: list[str], timeout: float = 90) -> None:
        for name in names:
            wait_for(lambda n=name: self.ready(n), timeout, f"netwatch {name} ready", 0.3)

    def kill9(self, name: str) -> None:
        proc = self.procs[name]
        proc.kill()  # SIGKILL, this PID only
        proc.wait(10)

    def reload(self, name: str) -> tuple[int, str]:
        return in_core(self.core, http_post, self.url(name) + "/-/reload")

    def metric(self, name: str, sample: str, **labels: str) -> float:
        """Sum of the samples called `sample` of instance name's /metrics with these labels."""
        from prometheus_client.parser import text_string_to_metric_families

        body = in_core(self.core, http_get, self.url(name) + "/metrics")[1]
        return sum(
            s.value
            for family in text_string_to_metric_families(body)
            for s in family.samples
            if s.name == sample and all(s.labels.get(k) == v for k, v in labels.items())
        )

    def log(self, name: str) -> str:
        return (self.work / f"netwatch-{name}.log").read_text(errors="replace")[-3000:]


class EchoWatch:
    """Records the ICMP echo requests reaching some addresses, with the sender's ICMP
    identifier (each netwatch process pings with its own): a raw socket in each village's
    namespace sees every echo request arriving there (the kernel answers them itself)."""

    def __init__(self, villages: list[Village]) -> None:
        self.seen: dict[str, list[tuple[float, int]]] = {}
        self.started = time.time()  # nothing before this was watched
        self._stop = threading.Event()
        self._threads = []
        for v in villages:
            sock = v.ns.call(socket.socket, socket.AF_INET, socket.SOCK_RAW, socket.IPPROTO_ICMP)
            sock.settimeout(0.2)
            for address in (v.router, v.ap):
                self.seen[address] = []
            t = threading.Thread(target=self._read, args=(sock,), daemon=True)
            t.start()
            self._threads.append((t, sock))

    def _read(self, sock: socket.socket) -> None:
        while not self._stop.is_set():
            try:
                packet = sock.recv(2048)
            except TimeoutError:
                continue
            except OSError:
                return
            ihl = (packet[0] & 0x0F) * 4
            if len(packet) >= ihl + 8 and packet[ihl] == 8:  # echo request
                dst = socket.inet_ntoa(packet[16:20])
                if dst in self.seen:
                    ident = int.from_bytes(packet[ihl + 4 : ihl + 6], "big")
                    self.seen[dst].append((time.time(), ident))

    def senders(self, address: str, since: float = 0.0) -> dict[int, tuple[float, float]]:
        """ICMP identifier → (first, last) echo request it sent to address after since."""
        out: dict[int, tuple[float, float]] = {}
        for t, ident in self.seen[address]:
            if t >= since:
                first, _ = out.get(ident, (t, t))
                out[ident] = (first, t)
        return out

    def gaps(self, address: str, since: float, until: float) -> list[tuple[float, float]]:
        """(start, length) of each silence at address within [since, until], longest first."""
        ts = [since, *(t for t, _ in self.seen[address] if since <= t <= until), until]
        return sorted(((a, b - a) for a, b in itertools.pairwise(ts)), key=lambda g: -g[1])

    def close(self) -> None:
        self._stop.set()
        for t, sock in self._threads:
            t.join(2)
            sock.close()


@contextlib.contextmanager
def closing_all(*things: Any) -> Iterator[None]:
    try:
        yield
    finally:
        for thing in reversed(things):
            with contextlib.suppress(Exception):
                thing.close()
