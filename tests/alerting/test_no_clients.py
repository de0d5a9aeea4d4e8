"""An AP that answers, radios up, with no client for hours in office time: a warning.

Real polls of the synthetic UniFi recording through snmpsim (the VAP station counts made
writable, changed with net-snmp's snmpset), applied to State with the alert engine listening;
the engine's clock is set to office hours and outside them.
"""

from __future__ import annotations

import datetime as dt
import re
import zoneinfo
from collections.abc import Iterator
from pathlib import Path

import pytest

from netwatch.alerting.messages import render
from netwatch.alerting.types import Event
from tests.alerting.harness import HOLD_UP, Stream
from tests.alerting.polled_lab import PolledLab
from tests.helpers import snmprec
from tests.helpers.data import SNMPREC_DIR
from tests.helpers.snmpsim import running_writable, snmpset_int

UAP = SNMPREC_DIR.parent / "snmprec-profiles" / "synthetic_unifi_uap.snmprec"
STATIONS = "1.3.6.1.4.1.41112.1.6.1.2.1.8"  # unifiVapNumStations
WIB = zoneinfo.ZoneInfo("Asia/Jakarta")
MONDAY_9 = dt.datetime(2026, 11, 30, 9, 0, tzinfo=WIB).timestamp()
SATURDAY_9 = dt.datetime(2026, 12, 5, 9, 0, tzinfo=WIB).timestamp()
HOURS = 3600.0

CONFIG = """\
settings:
  wifi: {{no_clients_for: 2h, office_hours: "08:00-16:00"}}
  alerting: {{db_path: {db}}}
credentials:
  snmp:
    uap: {{version: 2c, community: {{env: NW_UAP_COMMUNITY}}, port: {port}}}
regency:
  code: "35.10"
  name: Banyuwangi
  districts:
    - code: "35.10.01"
      name: Pesanggaran
      villages:
        - code: "35.10.01.2001"
          name: Sarongan
          kind: desa
          lat: -8.49
          lon: 113.90
          devices:
            - {{name: sarongan-ap, role: ap, address: 127.0.0.1, snmp: uap}}
"""


def station_oids() -> list[str]:
    """unifiVapNumStations of every VAP in the recording (the test's own reading of it)."""
    vaps = snmprec.column(snmprec.read(UAP), STATIONS)
    assert sum(v.number for v in vaps.values()) > 0  # the recording has clients
    return [f"{STATIONS}.{'.'.join(map(str, k))}" for k in vaps]


@pytest.fixture(scope="module")
def agent() -> Iterator[int]:
    with running_writable(UAP, "uap", station_oids()) as port:
        yield port


class Lab(PolledLab):
    def __init__(self, port: int, tmp: Path, monkeypatch: pytest.MonkeyPatch) -> None:
        monkeypatch.setenv("NW_UAP_COMMUNITY", "uap")
        cfg = tmp / "netwatch.yaml"
        cfg.write_text(CONFIG.format(db=tmp / "a.sqlite3", port=port))
        super().__init__(cfg, MONDAY_9)
        self.port = port

    def set_clients(self, n: int) -> None:
        for oid in station_oids():
            snmpset_int(self.port, "uap", oid, n)
            n = 0  # the first VAP gets them all

    def poll_and_evaluate(self) -> None:
        self.poll("sarongan-ap")
        stream = Stream()
        for _ in range(HOLD_UP):  # the AP answers ping (its stream says up)
            self.engine.observe("sarongan-ap", stream.round("sarongan-ap", self.now, 3, 3))
        self.engine.evaluate(self.now)


@pytest.fixture
def lab(agent: int, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Lab]:
    lab = Lab(agent, tmp_path, monkeypatch)
    yield lab
    lab.set_clients(1)
    lab.close()


def test_zero_clients_for_two_office_hours_warns_then_a_client_resolves(lab: Lab):
    lab.set_clients(0)
    lab.poll_and_evaluate()  # 09:00: the zero run starts
    lab.now += 2 * HOURS - 60
    lab.poll_and_evaluate()  # 10:59: not yet
    assert not lab.fired("ApNoClients")
    lab.now += 120
    lab.poll_and_evaluate()  # 11:01: two hours without a client
    [n] = lab.fired("ApNoClients")
    assert n.event is Event.FIRING and n.alert.labels["cause"] == "no_clients"
    assert n.alert.labels["severity"] == "warning"
    text = render(n, "id").text
    assert "AP sarongan-ap (desa 35.10.01.2001)" in text and "semua klien hilang" in text
    assert "DHCP atau captive portal" in text
    assert not re.search(r"mati|down", text + render(n, "id").subject, re.I)
    assert "all clients are gone" in render(n, "en").text
    lab.set_clients(1)
    lab.now += 60
    lab.poll_and_evaluate()
    assert [x.event for x in lab.fired("ApNoClients")] == [Event.FIRING, Event.RESOLVED]


def test_no_warning_outside_office_hours(lab: Lab):
    lab.now = SATURDAY_9
    lab.set_clients(0)
    for _ in range(4):
        lab.poll_and_evaluate()
        lab.now += HOURS
    assert not lab.fired("ApNoClients")


def test_clients_back_within_the_window_start_the_count_again(lab: Lab):
    lab.set_clients(0)
    lab.poll_and_evaluate()
    lab.now += 1.5 * HOURS
    lab.set_clients(2)
    lab.poll_and_evaluate()
    lab.set_clients(0)
    lab.now += 0.25 * HOURS
    lab.poll_and_evaluate()
    lab.now += 1.5 * HOURS  # 3.25 h since the first zero, 1.5 h since the last client
    lab.poll_and_evaluate()
    assert not lab.fired("ApNoClients")
