"""End to end: a power cut or a fibre cut at a village is ONE page for the village, naming the
ONU fact its OLT reports (alerting/onu_join.py), not an ONU alert beside a village alert.

netwatch, snmpsim (the synthetic ZTE C320 ONU table as the OLT, with the ONU state writable)
and the webhook sink run in a test namespace; Sarongan's router and AP live in another,
behind a veth link that the test takes down (tests/helpers/onu_netlab.py). The OLT's state is
changed with net-snmp's snmpset and announced with a real snmptrap; SNMP polls run hourly, so
what the engine learns comes from the re-poll the trap asks for, and the echo it then sends.
"""

from __future__ import annotations

import asyncio
import json
import time
from pathlib import Path

import pytest

from tests.helpers.cause_lab import (
    DETECT,
    HUAWEI,
    HW_CAUSE,
    HW_STATE,
    V1,
    ZTE_STATE,
    Lab,
    running_lab,
    until,
)
from tests.helpers.cause_lab import get as _get
from tests.helpers.netns import Link, requires_root
from tests.helpers.onu_netlab import AP, ROUTER, cut, restore, village_netlab

pytestmark = [requires_root, pytest.mark.root]

# zxGponOntPhaseState (the ZTE profile's map; tests/data/snmprec-profiles README): 1 los,
# 3 working, 4 dyinggasp. Flapping off: the test's four changes are each a real outage edge.
LOS, WORKING, DYING_GASP = 1, 3, 4
WHERE = "olt-1 port 1/1/1 ONU 1"  # the village's `onu:` link in cause_lab.CONFIG
ROUTER_UP = 'netwatch_device_up{device="sarongan-router"'
AP_UP = 'netwatch_device_up{device="sarongan-ap"'


def _village_hooks(lab: Lab) -> list[dict]:
    return [
        r.json()
        for r in lab.hooks("VillageWifiDown")
        if r.json()["alert"]["labels"]["village"] == V1
    ]


def _status(lab: Lab) -> str:
    rows = {r["village"]: r for r in json.loads(_get(lab.url + "/api/v1/villages")[1] or "[]")}
    return rows[V1]["status"] if V1 in rows else ""


async def _quiet(lab: Lab, seconds: float) -> None:
    """Let several evaluations pass (tick 200 ms) so that a second page would have come."""
    await asyncio.sleep(seconds)


async def _outage(lab: Lab, link: Link, state: int, words: str, n: int, trap: bool = True) -> None:
    cut(link)  # the village goes silent, and its ONU drops off the OLT
    lab.set("olt", f"{ZTE_STATE}.1", state)
    # Without a trap (an OLT that sends none) the echo stream finds the silence, then the
    # engine asks the OLT before it pages.
    sent = lab.trap("olt") if trap else time.time()
    await until(lambda: len(_village_hooks(lab)) > n, DETECT + 15, "the village's page")
    first = lab.hooks("VillageWifiDown")[-1]
    print(f"{'trap' if trap else 'cut'} -> village page ({words}): {first.time - sent:.3f} s")
    if trap:
        assert first.time - sent < DETECT, f"{first.time - sent:.2f} s from trap to page"
    body = _village_hooks(lab)[n]
    key = {LOS: "onu_los", DYING_GASP: "onu_dying_gasp"}[state]
    assert body["event"] == "firing"
    assert body["alert"]["cause"] == f"{key}:{WHERE}"
    assert (
        f"Wi-Fi desa MATI: Sarongan ({V1}), Kec. Pesanggaran: ONU offline di OLT {WHERE} "
        f"({words})" in body["text"]
    )
    # The echo stream then calls the router down: the page stays one, with its cause.
    await until(lambda: lab.metric(ROUTER_UP) == 0, 20, "router down by echo")
    await _quiet(lab, 2.0)
    assert len(_village_hooks(lab)) == n + 1, [h["event"] for h in _village_hooks(lab)]
    assert not lab.hooks("VillageOnuOffline")  # inhibited: the village's page names it
    # One line on the status page and in /api/v1/villages, the OLT's fact in words.
    page = _get(lab.url + "/")[1]
    assert f"olt-1: ONU offline di OLT {WHERE} ({words})" in page
    rows = {r["village"]: r for r in json.loads(_get(lab.url + "/api/v1/villages")[1])}
    assert [(c["alert"], c["device"], c["cause"]) for c in rows[V1]["causes"]] == [
        ("VillageWifiDown", "olt-1", f"{key}:{WHERE}")
    ]


async def _recovery(lab: Lab, link: Link, n: int) -> None:
    restore(link)  # power back: the ONU registers, the router answers
    lab.set("olt", f"{ZTE_STATE}.1", WORKING)
    lab.trap("olt")
    await until(lambda: len(_village_hooks(lab)) > n, 30, "the village's resolution")
    body = _village_hooks(lab)[n]
    assert body["event"] == "resolved"
    assert "PULIH: Wi-Fi desa Sarongan" in body["text"]
    await until(lambda: _status(lab) == "up", 20, "village up")
    await _quiet(lab, 2.0)
    assert len(_village_hooks(lab)) == n + 1
    assert not lab.hooks("VillageOnuOffline")


def _causes(lab: Lab) -> list[tuple[str, str, str]]:
    rows = {r["village"]: r for r in json.loads(_get(lab.url + "/api/v1/villages")[1])}
    return [(c["alert"], c["device"], c["cause"]) for c in rows[V1]["causes"]]


async def _onu_first(lab: Lab, link: Link, n: int) -> None:
    """The ONU drops while the village still answers (its own page), then the village goes
    silent: the village's page inhibits the ONU's (muting.InhibitMuter), never a second one."""
    started = time.monotonic()
    lab.set("olt", f"{ZTE_STATE}.1", DYING_GASP)
    lab.trap("olt")
    await until(lambda: lab.hooks("VillageOnuOffline"), DETECT + 5, "the ONU's own page")
    cut(link)
    await until(lambda: len(_village_hooks(lab)) > n, DETECT + 15, "the village's page")
    assert _village_hooks(lab)[n]["alert"]["cause"] == f"onu_dying_gasp:{WHERE}"
    assert _causes(lab) == [("VillageWifiDown", "olt-1", f"onu_dying_gasp:{WHERE}")]
    restore(link)  # back by the echo stream, its ONU still offline: the ONU's line shows again
    await until(lambda: len(_village_hooks(lab)) > n + 1, 30, "the village's resolution")
    await until(lambda: _status(lab) == "up", 20, "village up")
    assert _causes(lab) == [("VillageOnuOffline", "olt-1", "onu_dying_gasp")]
    lab.set("olt", f"{ZTE_STATE}.1", WORKING)
    lab.trap("olt")
    await until(lambda: len(lab.hooks("VillageOnuOffline")) > 1, DETECT + 5, "ONU resolved")
    onu = [(r.json()["event"], r.json()["alert"]["cause"]) for r in lab.hooks("VillageOnuOffline")]
    assert onu == [("firing", "onu_dying_gasp"), ("resolved", "onu_dying_gasp")]
    print(f"ONU page, then the village's: {time.monotonic() - started:.1f} s")


async def _scenario(tmp: Path, link: Link) -> None:
    async with running_lab(tmp, alerting=", flap_threshold: 100", village=(ROUTER, AP)) as lab:
        await until(lambda: _status(lab) == "up", 30, "Sarongan up before the outage")
        await until(lambda: lab.metric(ROUTER_UP) == 1, 30, "router up")
        await _outage(lab, link, DYING_GASP, "dying gasp: listrik padam", 0)
        await _recovery(lab, link, 1)
        await _outage(lab, link, LOS, "loss of signal: kabel fiber putus", 2)
        await _recovery(lab, link, 3)
        # No trap: the engine asks the OLT before it pages, so the page still names the ONU.
        await _outage(lab, link, DYING_GASP, "dying gasp: listrik padam", 4, trap=False)
        await _recovery(lab, link, 5)
        events = [(h["event"], h["alert"]["cause"]) for h in _village_hooks(lab)]
        assert events == [
            ("firing", f"onu_dying_gasp:{WHERE}"),
            ("resolved", f"onu_dying_gasp:{WHERE}"),
            ("firing", f"onu_los:{WHERE}"),
            ("resolved", f"onu_los:{WHERE}"),
            ("firing", f"onu_dying_gasp:{WHERE}"),
            ("resolved", f"onu_dying_gasp:{WHERE}"),
        ]
        # Nobody else was paged: no ONU alert, no alert for the other village.
        others = [r.json()["alert"]["labels"]["alertname"] for r in lab.sink.requests
                  if r.path == "/hook" and r.json()["alert"]["labels"].get("village") != V1
                  and r.json()["alert"]["labels"]["alertname"] != "VillageOnuRxLow"]  # fmt: skip
        assert others == []
        await _onu_first(lab, link, 6)


def test_power_cut_and_fibre_cut_are_one_page_for_the_village(tmp_path: Path):
    started = time.monotonic()
    with village_netlab() as (core, link), core.entered():
        asyncio.run(_scenario(tmp_path, link))
    assert time.monotonic() - started < 300


# HUAWEI-XPON-TRAP-MIB hwXponDeviceOntAlarmTraps (2011.6.128.1.1.12.2.2) { 0 18 } and { 0 19 }:
# the ONT's dying gasp and its recovery; the MIB's RunStatus up(1)/down(2), LastDownCause
# dying-gasp(13) (configs/profiles/huawei-smartax.yaml).
HW_DG, HW_DG_RECOVER = (
    "1.3.6.1.4.1.2011.6.128.1.1.12.2.2.0.18",
    "1.3.6.1.4.1.2011.6.128.1.1.12.2.2.0.19",
)
HW_WHERE = "olt-1 port 0/1/0 ONU 0"  # the recording's ONT 0 on ifName "GPON 0/1/0"


PAGE = {  # the page's first words, per language (notifications.language)
    "id": f"Wi-Fi desa MATI: Sarongan ({V1}), Kec. Pesanggaran: ONU offline di OLT {HW_WHERE} "
    "(dying gasp: listrik padam)",
    "en": f"Village Wi-Fi DOWN: Sarongan ({V1}), Pesanggaran district: ONU offline on OLT "
    f"{HW_WHERE} (dying gasp: power cut)",
}


async def _huawei(tmp: Path, link: Link, language: str) -> None:
    async with running_lab(tmp, language, alerting=", flap_threshold: 100", village=(ROUTER, AP),
                           olt=HUAWEI) as lab:  # fmt: skip
        await until(lambda: _status(lab) == "up", 30, "Sarongan up before the outage")
        await until(lambda: lab.metric(ROUTER_UP) == 1, 30, "router up")
        # A lone (spoofed) ONT alarm while nothing is wrong: the re-poll it asks for finds the
        # ONT up, and nobody is paged.
        before = lab.last_poll("olt-1")
        lab.trap("olt", HW_DG, ())
        await until(lambda: lab.last_poll("olt-1") > before, DETECT, "re-poll after the trap")
        await _quiet(lab, 2.0)
        assert [r.path for r in lab.sink.requests] == []
        # The power cut, announced by the OLT's dying-gasp alarm: one page, within 5 s.
        cut(link)
        lab.set("olt", HW_STATE, 2)
        lab.set("olt", HW_CAUSE, 13)
        sent = lab.trap("olt", HW_DG, ())
        await until(lambda: _village_hooks(lab), DETECT + 5, "the village's page")
        got = lab.hooks("VillageWifiDown")[0]
        print(f"hwGponProfOntDGAlarmTrap -> village page: {got.time - sent:.3f} s")
        assert got.time - sent < DETECT
        body = got.json()
        assert body["event"] == "firing" and body["alert"]["cause"] == f"onu_dying_gasp:{HW_WHERE}"
        assert PAGE[language] in body["text"], body["text"]
        await until(lambda: lab.metric(ROUTER_UP) == 0, 20, "router down by echo")
        # The AP's own verdict too, as in any real power cut (minutes long); a cut that ends
        # between the router's verdict and the AP's is tests/alerting/test_e2e_short_cut.py.
        await until(lambda: lab.metric(AP_UP) == 0, 20, "AP down by echo")
        restore(link)
        lab.set("olt", HW_STATE, 1)
        lab.trap("olt", HW_DG_RECOVER, ())
        await until(lambda: len(_village_hooks(lab)) > 1, 30, "the village's resolution")
        await until(lambda: _status(lab) == "up", 20, "village up")
        await _quiet(lab, 2.0)
        assert [(h["event"], h["alert"]["cause"]) for h in _village_hooks(lab)] == [
            ("firing", f"onu_dying_gasp:{HW_WHERE}"),
            ("resolved", f"onu_dying_gasp:{HW_WHERE}"),
        ]
        assert len(lab.sink.requests) == 2  # nothing else: no ONU alert beside the page


@pytest.mark.parametrize("language", ["id", "en"])
def test_a_huawei_onts_dying_gasp_trap_pages_the_village_once(tmp_path: Path, language: str):
    with village_netlab() as (core, link), core.entered():
        asyncio.run(_huawei(tmp_path, link, language))
