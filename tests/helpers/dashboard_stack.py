"""A simulated village network watched by netwatch, scraped by Prometheus, written to InfluxDB 1.6.

Everything runs inside one test network namespace (`Netlab`): device addresses are 127.x on its
lo, nftables drops the echoes of the "cut" devices (as the demo does), snmpsim answers SNMP for
one village router from a real MikroTik recording, and `netwatch run`, Prometheus (the repo's rule
file) and InfluxDB 1.6 (netwatch's v1 writes) all listen on 127.0.0.1 there. Queries go through
Namespace.call.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import time
import urllib.parse
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from tests.helpers.influxdb1 import InfluxDB1
from tests.helpers.netns import Namespace, Netlab
from tests.helpers.procs import Prometheus, http_get, netwatch_bin, repo_root, stop, wait_for
from tests.helpers.snmpsim import SNMPSIM, snmprec_dir

SNMP_PORT = 1161
RECORDING = "routeros"  # MikroTik hAP ac lite: interfaces, Wi-Fi clients, optical power

# Villages: A up; B degraded (one of its two APs cut, router answering SNMP from the recording);
# C down (router cut); D up in a second district; E up but lossy (a fifth of echoes dropped:
# a round loses all 5 once in 3,000).
CONFIG = """\
settings:
  language: en
  listen: 127.0.0.1:{port}
  ping: {{interval: 1s, count: 5, spacing: 50ms, timeout: 400ms}}
  snmp: {{interval: 2s, timeout: 1s, retries: 0}}
  alerting: {{db_path: "{alerts}"}}  # in the temp dir, not the working directory
  public: {{enabled: true, listen: "127.0.0.1:9109", complaints_db: "{complaints}"}}
  influxdb: {{url: "http://127.0.0.1:{influx_port}", bucket: netwatch, mode: v1,
    spool_dir: "{spool}", flush_interval: 200ms}}
credentials:
  snmp:
    recording:
      version: 2c
      community: {{env: NW_TEST_COMMUNITY}}
      port: {snmp_port}
regency:
  code: "35.10"
  name: Banyuwangi
  districts:
    - code: "35.10.01"
      name: Pesanggaran
      devices:
        - {{name: pesanggaran-pop, role: router, address: 127.1.0.1}}
      villages:
        - {{code: "35.10.01.2001", name: Sarongan, kind: desa, lat: -8.498369, lon: 113.904168,
           devices: [
             {{name: sarongan-router, role: router, address: 127.1.1.1, parent: pesanggaran-pop}},
             {{name: sarongan-ap-1, role: ap, address: 127.1.1.2, parent: sarongan-router}}]}}
        - {{code: "35.10.01.2002", name: Pesanggaran, kind: desa, lat: -8.587855, lon: 114.091833,
           devices: [
             {{name: pesanggaran-router, role: router, address: 127.1.2.1, parent: pesanggaran-pop,
               snmp: recording}},
             {{name: pesanggaran-ap-1, role: ap, address: 127.1.2.2, parent: pesanggaran-router}},
             {{name: pesanggaran-ap-2, role: ap, address: 127.1.2.3, parent: pesanggaran-router}}]}}
        - {{code: "35.10.01.2004", name: Sumberagung, kind: desa, lat: -8.612791, lon: 114.052311,
           devices: [
             {{name: sumberagung-router, role: router, address: 127.1.3.1,
               parent: pesanggaran-pop}},
             {{name: sumberagung-ap-1, role: ap, address: 127.1.3.2, parent: sumberagung-router}}]}}
    - code: "35.10.02"
      name: Bangorejo
      devices:
        - {{name: bangorejo-pop, role: router, address: 127.2.0.1}}
      villages:
        - {{code: "35.10.02.2001", name: Sambimulyo, kind: desa, lat: -8.486, lon: 114.211,
           devices: [
             {{name: sambimulyo-router, role: router, address: 127.2.1.1, parent: bangorejo-pop}},
             {{name: sambimulyo-ap-1, role: ap, address: 127.2.1.2, parent: sambimulyo-router}}]}}
        - {{code: "35.10.02.2002", name: Sukorejo, kind: desa, lat: -8.449, lon: 114.197,
           devices: [
             {{name: sukorejo-router, role: router, address: 127.2.2.1, parent: bangorejo-pop}},
             {{name: sukorejo-ap-1, role: ap, address: 127.2.2.2, parent: sukorejo-router}}]}}
"""

CUT = ("127.1.2.3", "127.1.3.1")  # pesanggaran-ap-2 (degraded village), sumberagung-router (down)
LOSSY = "127.2.2.1"

NFT = f"""table inet dashtest {{
  chain input {{
    type filter hook input priority 0; policy accept;
    ip daddr {{ {", ".join(CUT)} }} icmp type echo-request drop
    ip daddr {LOSSY} icmp type echo-request numgen random mod 100 < 20 drop
  }}
}}
"""

# The scenario as the test knows it (from the config above, not from netwatch).
VILLAGE_STATES = {
    "35.10.01.2001": "up",
    "35.10.01.2002": "degraded",
    "35.10.01.2004": "down",
    "35.10.02.2001": "up",
}  # 35.10.02.2002 is lossy: usually up, down when a round loses all its echoes
DEVICE_ADDRESSES = dict(re.findall(r"name: ([a-z0-9-]+), role: \w+, address: ([0-9.]+)", CONFIG))
SNMP_DEVICE = "pesanggaran-router"
SNMP_VILLAGE = "35.10.01.2002"
SNMP_DISTRICT = "35.10.01"


def fast_rules(text: str) -> str:
    """The rule file with 1 s group intervals and `for` durations, so a test sees them act."""
    text = re.sub(r"(?m)^(\s+)interval: \S+$", r"\1interval: 1s", text)
    return re.sub(r"(?m)^(\s+)for: \S+$", r"\1for: 1s", text)


@dataclass
class Stack:
    work: Path
    lab: Netlab = field(default_factory=Netlab)
    ns: Namespace | None = None
    prometheus: Prometheus | None = None
    influx: InfluxDB1 | None = None
    netwatch: subprocess.Popen | None = None
    snmpsim: subprocess.Popen | None = None
    port: int = 0

    def start(self) -> None:
        self.lab.__enter__()
        ns = self.ns = self.lab.add("dash")
        for address in DEVICE_ADDRESSES.values():
            ns.run("ip", "addr", "add", f"{address}/32", "dev", "lo", "scope", "global")
        ns.nft(NFT)
        self._start_snmpsim()
        self.influx = InfluxDB1(self.work / "influxdb")
        ns.call(self.influx.start)
        ns.call(self.influx.query, 'CREATE DATABASE "netwatch"')
        self.port = 9108  # a fresh namespace: nothing else listens here
        config = self.work / "netwatch.yaml"
        config.write_text(
            CONFIG.format(
                port=self.port,
                influx_port=self.influx.port,
                spool=self.work / "spool",
                alerts=self.work / "alerts.sqlite3",
                complaints=self.work / "complaints.sqlite3",
                snmp_port=SNMP_PORT,
            )
        )
        env = {**os.environ, "NW_TEST_COMMUNITY": RECORDING}
        log = open(self.work / "netwatch.log", "w")  # noqa: SIM115 (closed with the process)
        self.netwatch = ns.popen(
            netwatch_bin(), "run", "--config", str(config), "--log-level", "warning",
            env=env, stdout=log, stderr=subprocess.STDOUT,
        )  # fmt: skip
        wait_for(
            lambda: ns.call(http_get, f"{self.url}/readyz", 1.0)[0] == 200, 30, "netwatch ready"
        )
        rules = self.work / "netwatch.rules.yml"
        rules.write_text(fast_rules((repo_root() / "rules" / "netwatch.rules.yml").read_text()))
        scrape = [
            {
                "job_name": "netwatch",
                "scrape_interval": "1s",
                "static_configs": [{"targets": [f"127.0.0.1:{self.port}"]}],
            }
        ]
        self.prometheus = ns.call(Prometheus, self.work / "prometheus", scrape, [str(rules)])

    def _start_snmpsim(self) -> None:
        data, cache = self.work / "snmpsim" / "data", self.work / "snmpsim" / "cache"
        data.mkdir(parents=True)
        cache.mkdir()
        shutil.copy(snmprec_dir() / f"{RECORDING}.snmprec", data)
        for path in (self.work, self.work / "snmpsim", data):
            path.chmod(0o755)
        cache.chmod(0o777)
        (data / f"{RECORDING}.snmprec").chmod(0o644)
        address = DEVICE_ADDRESSES[SNMP_DEVICE]
        cmd = [
            SNMPSIM, f"--data-dir={data}", f"--cache-dir={cache}",
            f"--agent-udpv4-endpoint={address}:{SNMP_PORT}", "--log-level=error",
            "--process-user=nobody", "--process-group=nogroup",
        ]  # fmt: skip
        log = open(self.work / "snmpsim.log", "w")  # noqa: SIM115 (closed with the process)
        self.snmpsim = self.ns.popen(*cmd, stdout=log, stderr=subprocess.STDOUT)
        probe = ["snmpget", "-v2c", "-c", RECORDING, "-t", "0.3", "-r", "0", "-m", "",
                 f"{address}:{SNMP_PORT}", "1.3.6.1.2.1.1.3.0"]  # fmt: skip
        wait_for(lambda: self.ns.run(*probe, check=False).returncode == 0, 20, "snmpsim")

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def metrics_text(self) -> str:
        status, body = self.ns.call(http_get, f"{self.url}/metrics")
        assert status == 200
        return body

    def query(self, expr: str) -> list[dict[str, Any]]:
        return self.ns.call(self.prometheus.query, expr)

    def query_range(self, expr: str, seconds: float, step: str = "1s") -> list[dict[str, Any]]:
        end = time.time()
        q = urllib.parse.urlencode(
            {"query": expr, "start": end - seconds, "end": end, "step": step}
        )
        status, body = self.ns.call(http_get, f"{self.prometheus.url}/api/v1/query_range?{q}")
        assert status == 200, body
        return json.loads(body)["data"]["result"]

    def series(self, match: str) -> list[dict[str, str]]:
        q = urllib.parse.urlencode({"match[]": match, "start": time.time() - 300})
        status, body = self.ns.call(http_get, f"{self.prometheus.url}/api/v1/series?{q}")
        assert status == 200, body
        return json.loads(body)["data"]

    def label_values(self, label: str, match: str) -> list[str]:
        q = urllib.parse.urlencode({"match[]": match, "start": time.time() - 300})
        path = f"/api/v1/label/{label}/values?{q}"
        status, body = self.ns.call(http_get, self.prometheus.url + path)
        assert status == 200, body
        return json.loads(body)["data"]

    def influxql(self, q: str) -> dict[str, Any]:
        return self.ns.call(self.influx.query, q, "netwatch")

    def stop_netwatch(self) -> int:
        return stop(self.netwatch) if self.netwatch is not None else 0

    def close(self) -> None:
        try:
            for proc in (self.netwatch, self.snmpsim):
                if proc is not None:
                    stop(proc)
            if self.prometheus is not None:
                self.prometheus.close()
            if self.influx is not None:
                self.influx.stop()
        finally:
            self.lab.close()
