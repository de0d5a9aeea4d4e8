"""An AP whose controller reports every radio down is an AP without Wi-Fi; one radio up is not.

Real polls of the Cisco WLC recording (snmpsim-data, a real controller) through snmpsim, with
one AP's bsnAPIfOperStatus rows made writable and changed with net-snmp's snmpset, applied to
State with the alert engine listening.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from netwatch.alerting.messages import render
from netwatch.alerting.types import Event
from tests.alerting.polled_lab import PolledLab
from tests.helpers.data import SNMPREC_DIR
from tests.helpers.snmpsim import parse_snmprec, running_writable, snmpset_int

WLC = SNMPREC_DIR.parent / "snmprec-profiles" / "snmpsimdata_cisco_wlc.snmprec"
AP_NAME = (1, 3, 6, 1, 4, 1, 14179, 2, 2, 1, 1, 3)  # bsnAPName, index AP MAC
RADIO_OPER = (1, 3, 6, 1, 4, 1, 14179, 2, 2, 2, 1, 12)  # bsnAPIfOperStatus: 1 down, 2 up
AP = "TSHG-AP-3"

CONFIG = """\
settings:
  alerting: {{db_path: {db}}}
credentials:
  snmp:
    wlc: {{version: 2c, community: {{env: NW_WLC_COMMUNITY}}, port: {port}}}
regency:
  code: "35.10"
  name: Banyuwangi
  districts:
    - code: "35.10.01"
      name: Pesanggaran
      devices:
        - {{name: wlc-1, role: other, address: 127.0.0.1, snmp: wlc}}
      villages:
        - code: "35.10.01.2001"
          name: Sarongan
          kind: desa
          lat: -8.49
          lon: 113.90
          devices:
            - {{name: balai-ap, role: ap, address: 127.0.0.9,
               controller: {{device: wlc-1, ap: {ap}}}}}
"""


def radios() -> list[str]:
    """The OIDs of the AP's radios' oper status, found by its name in the recording."""
    rows = parse_snmprec(WLC)
    mac = next(o[len(AP_NAME):] for o, _t, v in rows if o[: len(AP_NAME)] == AP_NAME
               and v == AP.encode())  # fmt: skip
    oids = [o for o, _t, _v in rows if o[: len(RADIO_OPER) + 6] == RADIO_OPER + mac]
    assert len(oids) == 2 and all(v == 2 for o, _t, v in rows if o in oids)  # both up
    return [".".join(map(str, o)) for o in oids]


@pytest.fixture(scope="module")
def agent() -> Iterator[int]:
    with running_writable(WLC, "wlc", radios()) as port:
        yield port


class Lab(PolledLab):
    def __init__(self, port: int, tmp: Path, monkeypatch: pytest.MonkeyPatch) -> None:
        monkeypatch.setenv("NW_WLC_COMMUNITY", "wlc")
        cfg = tmp / "netwatch.yaml"
        cfg.write_text(CONFIG.format(db=tmp / "a.sqlite3", port=port, ap=AP))
        super().__init__(cfg, 1_796_000_000.0)
        self.port = port

    def set_radio(self, oid: str, up: bool) -> None:
        snmpset_int(self.port, "wlc", oid, 2 if up else 1)

    def poll_and_evaluate(self) -> None:
        self.poll("wlc-1")
        self.engine.evaluate(self.now)
        self.now += 10


@pytest.fixture
def lab(agent: int, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Lab]:
    lab = Lab(agent, tmp_path, monkeypatch)
    yield lab
    for oid in radios():
        lab.set_radio(oid, True)
    lab.close()


def test_every_radio_down_alerts_one_radio_up_does_not(lab: Lab):
    first, second = radios()
    lab.poll_and_evaluate()  # as recorded: joined, both radios up
    assert not lab.sent
    lab.set_radio(first, False)
    lab.poll_and_evaluate()  # a dual-radio AP with one radio up still serves Wi-Fi
    assert not lab.fired("ApRadiosDown")
    lab.set_radio(second, False)
    lab.poll_and_evaluate()
    [n] = lab.fired("ApRadiosDown")
    assert n.alert.labels["cause"] == "radio_down" and n.alert.labels["device"] == "balai-ap"
    text = render(n, "id").text
    assert "Radio Wi-Fi AP balai-ap (desa 35.10.01.2001) mati: controller wlc-1 melaporkan " in text
    assert "2 / 2 radio mati" in text
    assert "reports 2 / 2 radios down" in render(n, "en").text
    assert not lab.fired("ApControllerLost")  # still joined
    lab.set_radio(first, True)
    lab.poll_and_evaluate()
    assert [x.event for x in lab.fired("ApRadiosDown")] == [Event.FIRING, Event.RESOLVED]
