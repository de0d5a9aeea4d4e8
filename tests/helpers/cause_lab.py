"""The lab of tests/alerting/test_e2e_causes.py (and bench/trap_detect_bench.py): `netwatch run`
watching an OLT, a wireless controller and a POP that snmpsim answers for from recordings with
writable state (writecache), a webhook sink, and net-snmp's snmpset/snmptrap to change things.
"""

from __future__ import annotations

import asyncio
import contextlib
import shutil
import subprocess
import time
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from pathlib import Path

from tests.helpers import snmprec
from tests.helpers.data import SNMPREC_DIR
from tests.helpers.http_sink import HttpSink, Request
from tests.helpers.procs import free_port, http_get, netwatch_bin, stop
from tests.helpers.snmpd import free_udp_port
from tests.helpers.snmpsim import running_snmpsim

PROFILES = SNMPREC_DIR.parent / "snmprec-profiles"
ZTE_STATE = "1.3.6.1.4.1.3902.1012.3.28.2.1.4.268501248"  # zxGponOntPhaseState, PON 1/1/1
ZTE_RX = "1.3.6.1.4.1.3902.1012.3.50.12.1.1.10.268501248"  # ONU rx (0.002 dB steps − 30)
ZD_AP_NAME = "1.3.6.1.4.1.25053.1.2.2.1.1.2.1.1.2"  # ruckusZDWLANAPDescription
ZD_AP_STATE = "1.3.6.1.4.1.25053.1.2.2.1.1.2.1.1.3"  # ruckusZDWLANAPStatus
IF_OPER = "1.3.6.1.2.1.2.2.1.8"
IF_NAME = "1.3.6.1.2.1.31.1.1.1.1"
LINK_DOWN = "1.3.6.1.6.3.1.1.5.3"
COLD_START = "1.3.6.1.6.3.1.1.5.1"
IF_1_DOWN = (f"{IF_OPER}.1", "i", "2")  # the varbinds of a linkDown: ifOperStatus.1 = down
ADDR = {"olt": "127.0.0.2", "wlc": "127.0.0.3", "pop": "127.0.0.4"}
V1, V2 = "35.10.01.2001", "35.10.01.2002"
DETECT = 5.0  # seconds from trap to notification (issue 11)
# The Huawei SmartAX recording (synthetic, from HUAWEI-XPON-MIB): ONT 0 on PON ifIndex
# 4194312448 ("GPON 0/1/0"), hwGponDeviceOntControlRunStatus (15) and LastDownCause (24).
HW_PON = 4194312448
HW_STATE = f"1.3.6.1.4.1.2011.6.128.1.1.2.46.1.15.{HW_PON}.0"
HW_CAUSE = f"1.3.6.1.4.1.2011.6.128.1.1.2.46.1.24.{HW_PON}.0"


@dataclass(frozen=True)
class OltKind:
    """Which recording answers as the lab's OLT, its writable ONU state, the villages' links."""

    recording: str
    writable: tuple[str, ...]
    onu1: str  # Sarongan's `onu:` line
    onu2: str  # Kandangan's


ZTE = OltKind(
    "synthetic_zte_c320_onu.snmprec",
    (f"{ZTE_STATE}.1",),
    "onu: {olt: olt-1, pon: 1/1/1, id: 1}",
    "onu: {olt: olt-1, pon: 1/1/1, id: 4}",
)
# Its other ONTs are offline in the recording: Kandangan has no ONU there.
HUAWEI = OltKind("synthetic_huawei_ma5800_ont.snmprec", (HW_STATE, HW_CAUSE),
                 "onu: {olt: olt-1, pon: 0/1/0, id: 0}", "# no ONU link")  # fmt: skip

CONFIG = """\
settings:
  language: {language}
  ping: {{interval: 1s, count: 3, spacing: 50ms, timeout: 500ms}}
  snmp: {{interval: 1h, timeout: 1s, retries: 1}}
  snmp_traps: {{enabled: true, address: 127.0.0.1, port: {trap_port}, min_repoll_interval: 0s}}
  alerting: {{db_path: {db}, tick: 200ms, renotify_interval: 0s, escalate_after: 0s,
              traceroute: false, degraded_for: 1s{extra}}}
  notifications:
    default_contacts: noc
    contacts:
      - name: noc
        webhook: [{{url: "{hook}"}}]
credentials:
  snmp:
    olt: {{version: 2c, community: {{env: NW_OLT}}, port: {port}}}
    wlc: {{version: 2c, community: {{env: NW_WLC}}, port: {port}}}
    pop: {{version: 2c, community: {{env: NW_POP}}, port: {port}}}
regency:
  code: "35.10"
  name: Banyuwangi
  districts:
    - code: "35.10.01"
      name: Pesanggaran
      devices:
        - {{name: pop-1, role: router, address: 127.0.0.4, snmp: pop}}
        - {{name: olt-1, role: olt, address: 127.0.0.2, snmp: olt, parent: pop-1}}
        - {{name: wlc-1, role: other, address: 127.0.0.3, snmp: wlc, parent: pop-1}}
      villages:
        - code: "{v1}"
          name: Sarongan
          kind: desa
          lat: -8.49
          lon: 113.90
          {onu1}
          uplink: {{device: pop-1, interface: {uplink}}}
          devices:
            - {{name: sarongan-router, role: router, address: {router}, parent: pop-1}}
            - {{name: sarongan-ap, role: ap, address: {ap_address}, parent: sarongan-router,
               controller: {{device: wlc-1, ap: {ap}}}}}
        - code: "{v2}"
          name: Kandangan
          kind: desa
          lat: -8.50
          lon: 113.91
          {onu2}
          devices:
            - {{name: kandangan-router, role: router, address: 127.0.0.7, parent: pop-1}}
"""


def get(url: str) -> tuple[int, str]:
    try:
        return http_get(url)
    except OSError:  # not listening yet
        return 0, ""


@dataclass
class Lab:
    sink: HttpSink
    port: int  # snmpsim
    trap_port: int
    url: str  # netwatch's web listener
    ap: str  # the AP's name on the controller
    ap_index: str
    uplink: str

    def set(self, community: str, oid: str, value: int) -> None:
        done = subprocess.run(
            ["snmpset", "-v2c", "-c", community, "-m", "", "-t", "2", "-r", "2",
             f"{ADDR[community]}:{self.port}", oid, "i", str(value)],
            capture_output=True, text=True, timeout=20,
        )  # fmt: skip
        assert done.returncode == 0, done.stdout + done.stderr

    def trap(
        self, community: str, oid: str = LINK_DOWN, varbinds: tuple[str, ...] = IF_1_DOWN
    ) -> float:
        """A real v2c trap from the device's own address; returns when it was sent."""
        sent = time.time()
        subprocess.run(
            ["snmptrap", "-v2c", "-c", community, "-m", "", f"--clientaddr={ADDR[community]}",
             f"127.0.0.1:{self.trap_port}", "", oid, *varbinds],
            check=True, capture_output=True, timeout=10,
        )  # fmt: skip
        return sent

    def hooks(self, alertname: str) -> list[Request]:
        return [r for r in self.sink.requests if r.path == "/hook"
                and r.json()["alert"]["labels"]["alertname"] == alertname]  # fmt: skip

    def last_poll(self, device: str) -> float:
        for line in get(self.url + "/metrics")[1].splitlines():
            if line.startswith(f'netwatch_snmp_last_poll_timestamp_seconds{{device="{device}"'):
                return float(line.rsplit(" ", 1)[1])
        return 0.0

    def metric(self, prefix: str) -> float | None:
        for line in get(self.url + "/metrics")[1].splitlines():
            if line.startswith(prefix):
                return float(line.rsplit(" ", 1)[1])
        return None


async def until(check: Callable[[], object], timeout: float, what: str) -> object:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        got = check()
        if got:
            return got
        await asyncio.sleep(0.05)
    raise AssertionError(f"timed out after {timeout}s waiting for {what}")


def _writable(path: Path, oids: set[str]) -> None:
    """Make the records of oids writable (snmpsim writecache), keeping their values."""
    lines = []
    for line in path.read_text(encoding="latin-1").splitlines():
        oid, _, rest = line.partition("|")
        tag, _, value = rest.partition("|")
        if oid in oids:
            line = f"{oid}|{tag}:writecache|value={value}"
        lines.append(line)
    path.write_text("\n".join(lines) + "\n", encoding="latin-1")


@contextlib.asynccontextmanager
async def running_lab(
    tmp_path: Path,
    language: str = "id",
    alerting: str = "",
    village: tuple[str, str] = ("127.0.0.6", "127.0.0.5"),
    olt: OltKind = ZTE,
) -> AsyncIterator[Lab]:
    """netwatch run, snmpsim and the webhook sink, started and polled once; stopped after.

    village: the addresses of Sarongan's router and AP (another namespace's, to silence them:
    tests/helpers/onu_netlab.py).
    """
    src = tmp_path / "rec"
    src.mkdir()
    shutil.copy(PROFILES / olt.recording, src / "olt.snmprec")
    shutil.copy(PROFILES / "synthetic_ruckus_zd.snmprec", src / "wlc.snmprec")
    shutil.copy(SNMPREC_DIR / "routeros.snmprec", src / "pop.snmprec")
    zd = snmprec.read(src / "wlc.snmprec")
    names = snmprec.column(zd, ZD_AP_NAME)
    up = {k: v for k, v in snmprec.column(zd, ZD_AP_STATE).items() if v.number == 1}
    ap_index = next(iter(up))  # an AP the recording has connected
    ap = names[ap_index].text
    uplink = snmprec.column(snmprec.read(src / "pop.snmprec"), IF_NAME)[(1,)].text

    def transform(data: Path) -> None:
        _writable(data / "olt.snmprec", set(olt.writable))
        _writable(data / "wlc.snmprec", {f"{ZD_AP_STATE}.{'.'.join(map(str, ap_index))}"})
        _writable(data / "pop.snmprec", {f"{IF_OPER}.1"})

    port = free_udp_port()
    endpoints = [f"--agent-udpv4-endpoint={a}:{port}" for a in ADDR.values()]
    sink = await HttpSink().start()
    trap_port = free_udp_port()
    cfg = tmp_path / "netwatch.yaml"
    cfg.write_text(CONFIG.format(
        language=language, trap_port=trap_port, db=tmp_path / "alerts.sqlite3",
        hook=sink.url + "/hook", port=port, v1=V1, v2=V2, uplink=uplink, ap=ap, extra=alerting,
        router=village[0], ap_address=village[1], onu1=olt.onu1, onu2=olt.onu2,
    ))  # fmt: skip
    web = free_port()
    env = {"NW_OLT": "olt", "NW_WLC": "wlc", "NW_POP": "pop", "PATH": "/usr/bin:/bin"}
    log = tmp_path / "netwatch.log"
    try:
        with running_snmpsim(src, transform=transform, probe_community="olt",
                             extra_args=endpoints), open(log, "w") as out:  # fmt: skip
            proc = subprocess.Popen(
                [netwatch_bin(), "run", "--config", str(cfg), "--listen", f"127.0.0.1:{web}"],
                stdout=out, stderr=subprocess.STDOUT, env=env,
            )  # fmt: skip
            url = f"http://127.0.0.1:{web}"
            try:
                lab = Lab(sink, port, trap_port, url, ap, ".".join(map(str, ap_index)), uplink)
                await until(lambda: get(url + "/readyz")[0] == 200, 30, "netwatch ready")
                # Hourly polls start anywhere in the hour: a trap from each asks for one now.
                for community in ADDR:
                    lab.trap(community, COLD_START)
                await until(lambda: all(lab.last_poll(d) for d in ("olt-1", "wlc-1", "pop-1")),
                            30, "first SNMP polls")  # fmt: skip
                yield lab
            finally:
                assert stop(proc) == 0, log.read_text()
    finally:
        await sink.stop()
