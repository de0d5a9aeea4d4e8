"""End to end: `netwatch run` names the cause of a village's outage from its OLT, controller, POP.

snmpsim serves three recordings (the synthetic ZTE C320 ONU table, the synthetic Ruckus
ZoneDirector AP table, the real MikroTik routeros recording as the POP) on 127.0.0.2-4, with
the ONU state, the AP state and ifOperStatus made writable (snmpsim's writecache variation):
the test changes them with net-snmp's snmpset, then sends a real trap with net-snmp's
snmptrap from the device's address. SNMP polls run once an hour, so what the alert engine
learns in between comes from the re-poll that a trap asks for; the webhook receives it.
"""

from __future__ import annotations

import asyncio
import json
import re
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from tests.helpers import snmprec
from tests.helpers.cause_lab import (
    DETECT,
    IF_OPER,
    PROFILES,
    V1,
    V2,
    ZD_AP_STATE,
    ZTE_RX,
    ZTE_STATE,
    Lab,
    running_lab,
    until,
)
from tests.helpers.cause_lab import (
    get as _get,
)


@pytest.fixture
async def lab(tmp_path: Path, request: pytest.FixtureRequest) -> AsyncIterator[Lab]:
    async with running_lab(tmp_path, getattr(request, "param", "id")) as lab:
        yield lab


def _rx_of_onu(n: int) -> float:
    r = snmprec.read(PROFILES / "synthetic_zte_c320_onu.snmprec")
    return snmprec.column(r, ZTE_RX)[(n, 1)].number * 0.002 - 30


async def test_onu_dying_gasp_then_los_each_name_their_cause_within_5s_of_a_trap(lab: Lab):
    # The recording's ONU 4 (village 2) receives below GPON class B+ (−27 dBm): a warning.
    rx = _rx_of_onu(4)
    assert rx < -27
    warn = (await until(lambda: lab.hooks("VillageOnuRxLow"), 20, "rx warning"))[0].json()
    assert warn["alert"]["labels"]["village"] == V2 and warn["alert"]["labels"]["side"] == "onu"
    assert f"{rx:.1f} dBm" in warn["text"] and "batas -27 dBm" in warn["text"]
    assert not re.search(r"mati|down", warn["text"] + warn["title"], re.I)  # a warning
    assert not lab.hooks("VillageOnuOffline")  # ONU 1 works in the recording

    # A lone trap with nothing wrong: the re-poll it asks for finds the ONU online, no page.
    before = lab.last_poll("olt-1")
    lab.trap("olt")
    await until(lambda: lab.last_poll("olt-1") > before, DETECT, "re-poll after a trap")
    await asyncio.sleep(1.0)  # several evaluations (tick 200 ms)
    assert not lab.hooks("VillageOnuOffline")

    # Dying gasp (zxGponOntPhaseState 4), then the trap: an alert within 5 s naming it.
    lab.set("olt", f"{ZTE_STATE}.1", 4)
    sent = lab.trap("olt")
    first = (await until(lambda: lab.hooks("VillageOnuOffline"), DETECT + 5, "ONU alert"))[0]
    print(f"trap -> dying-gasp notification: {first.time - sent:.3f} s")
    assert first.time - sent < DETECT, f"{first.time - sent:.2f} s from trap to notification"
    body = first.json()
    assert body["event"] == "firing" and body["alert"]["labels"]["cause"] == "dying_gasp"
    assert body["alert"]["labels"]["village"] == V1 and body["alert"]["labels"]["olt"] == "olt-1"
    assert "ONU desa Sarongan (35.10.01.2001) offline di OLT olt-1 port 1/1/1 ONU 1" in body["text"]
    assert "(dying gasp: listrik padam)" in body["text"]
    # The cause is a line of the village on the status page and in /api/v1/villages.
    page = await until(lambda: "olt-1: dying gasp: listrik padam" in _get(lab.url + "/")[1],
                       5, "status page line")  # fmt: skip
    assert page
    rows = {r["village"]: r for r in json.loads(_get(lab.url + "/api/v1/villages")[1])}
    assert [(c["alert"], c["device"], c["cause"]) for c in rows[V1]["causes"]] == [
        ("VillageOnuOffline", "olt-1", "onu_dying_gasp")
    ]
    onu = rows[V1]["onu"]
    assert (onu["olt"], onu["onu"], onu["up"], onu["state"], onu["cause"]) == (
        "olt-1",
        "1/1/1:1",
        False,
        "dying_gasp",
        "dying_gasp",
    )  # zxGponOntPhaseState 4
    assert rows[V2]["onu"]["up"] is True
    assert rows[V2]["onu"]["rx_onu_dbm"] == pytest.approx(rx)

    # Back online, then loss of signal (state 1): the first resolves, a second names LOS.
    lab.set("olt", f"{ZTE_STATE}.1", 3)
    lab.trap("olt")
    await until(lambda: [r for r in lab.hooks("VillageOnuOffline")
                         if r.json()["event"] == "resolved"], DETECT + 5, "resolved")  # fmt: skip
    lab.set("olt", f"{ZTE_STATE}.1", 1)
    sent = lab.trap("olt")
    los = await until(lambda: [r for r in lab.hooks("VillageOnuOffline")
                               if r.json()["alert"]["labels"]["cause"] == "los"],
                      DETECT + 5, "LOS alert")  # fmt: skip
    print(f"trap -> LOS notification: {los[0].time - sent:.3f} s")
    assert los[0].time - sent < DETECT
    assert "(loss of signal: kabel fiber putus)" in los[0].json()["text"]
    fired = [r.json()["alert"]["labels"]["cause"] for r in lab.hooks("VillageOnuOffline")
             if r.json()["event"] == "firing"]  # fmt: skip
    assert fired == ["dying_gasp", "los"]  # one alert each


async def test_controller_loses_an_ap_that_still_answers_ping(lab: Lab):
    ap_up = 'netwatch_device_up{device="sarongan-ap"'
    await until(lambda: lab.metric(ap_up) == 1, 20, "AP answers ping")
    lab.set("wlc", f"{ZD_AP_STATE}.{lab.ap_index}", 0)  # ruckusZDWLANAPStatus disconnected(0)
    sent = lab.trap("wlc")
    got = (await until(lambda: lab.hooks("ApControllerLost"), DETECT + 5, "AP alert"))[0]
    print(f"trap -> AP-lost notification: {got.time - sent:.3f} s")
    assert got.time - sent < DETECT
    body = got.json()
    assert body["alert"]["labels"]["device"] == "sarongan-ap"
    assert "AP sarongan-ap (desa 35.10.01.2001) terputus dari controller wlc-1" in body["text"]
    assert "status: disconnected" in body["text"]
    assert lab.metric(ap_up) == 1  # it still answers ping
    assert not lab.hooks("VillageWifiDown")


async def test_a_linkdown_trap_on_the_villages_pop_port(lab: Lab):
    lab.set("pop", f"{IF_OPER}.1", 2)
    sent = lab.trap("pop")
    got = (await until(lambda: lab.hooks("VillageUplinkDown"), DETECT + 5, "uplink alert"))[0]
    print(f"linkDown trap -> uplink notification: {got.time - sent:.3f} s")
    assert got.time - sent < DETECT
    assert (
        f"Port uplink desa Sarongan (35.10.01.2001) di pop-1 {lab.uplink} mati"
        in (got.json()["text"])
    )


@pytest.mark.parametrize("lab", ["en"], indirect=True)
async def test_english_by_setting(lab: Lab):
    warn = (await until(lambda: lab.hooks("VillageOnuRxLow"), 20, "rx warning"))[0].json()
    assert (
        "Optical receive power of village Kandangan (35.10.01.2002)'s ONU is low" in (warn["text"])
    )
    assert not re.search(r"\bdown\b", warn["text"], re.I)
    lab.set("olt", f"{ZTE_STATE}.1", 4)
    lab.trap("olt")
    got = (await until(lambda: lab.hooks("VillageOnuOffline"), DETECT + 5, "ONU alert"))[0]
    assert "(dying gasp: power cut at the ONU)" in got.json()["text"]
