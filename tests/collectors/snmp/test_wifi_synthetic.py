"""Wi-Fi profiles without a real recording here, on synthetic recordings; profile matching.

Synthetic recordings (tests/data/snmprec/synthetic_*) follow the vendors' MIBs; matching is
tested on real recordings whose sysObjectID a copy replaces, so that only sysDescr or a probe
can identify them. Expected values are read from the recordings.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from netwatch.collectors.snmp.observation import SnmpObservation
from tests.collectors.snmp.conftest import DATA_RECORDINGS
from tests.collectors.snmp.profile_support import by, col, mac, poll_all, recs, scope_totals
from tests.helpers.snmpsim import running_snmpsim

NAMES = ("synthetic_routeros7_wifi", "synthetic_unifi_uap", "synthetic_ruckus_sz",
         "synthetic_ruckus_zd")  # fmt: skip


@pytest.fixture(scope="module")
def polled(data_agent) -> dict[str, SnmpObservation]:
    return poll_all(data_agent[1], NAMES)


def band(text: str) -> str:
    return {"2": "2.4GHz", "5": "5GHz"}[text[0]]


def test_routeros7_wifi_package_counts_stations(polled):
    r = recs(DATA_RECORDINGS, "synthetic_routeros7_wifi")
    reg = "1.3.6.1.4.1.14988.1.1.21.4.1"
    ssid, signal, bands = col(r, f"{reg}.3"), col(r, f"{reg}.6"), col(r, f"{reg}.8")
    names = col(r, "1.3.6.1.2.1.31.1.1.1.1")
    obs = polled["synthetic_routeros7_wifi"]
    per_if: dict[str, int] = {}
    per_ssid: dict[str, int] = {}
    per_band: dict[str, int] = {}
    for k in signal:
        per_if[names[k[6:]].text] = per_if.get(names[k[6:]].text, 0) + 1
        per_ssid[ssid[k].text] = per_ssid.get(ssid[k].text, 0) + 1
        per_band[band(bands[k].text)] = per_band.get(band(bands[k].text), 0) + 1
    assert by(obs.wifi_clients, "wifi_clients", ("interface",), scope="interface") == per_if
    assert by(obs.wifi_clients, "wifi_clients", ("ssid",), scope="ssid") == per_ssid
    assert by(obs.wifi_clients, "wifi_clients", ("band",), scope="band") == per_band
    assert scope_totals(obs.wifi_clients) == {
        s: len(signal) for s in ("interface", "ssid", "band", "device")
    }
    weakest: dict[str, int] = {}
    for k, v in signal.items():
        name = names[k[6:]].text
        weakest[name] = min(weakest.get(name, 0), v.number)
    assert by(obs.samples, "wifi_station_signal_min_dbm", ("interface",)) == weakest


def test_unifi_vaps_radios_and_bands(polled):
    r = recs(DATA_RECORDINGS, "synthetic_unifi_uap")
    vap, radio = "1.3.6.1.4.1.41112.1.6.1.2.1", "1.3.6.1.4.1.41112.1.6.1.1.1"
    ifname, sta, vband = col(r, f"{vap}.7"), col(r, f"{vap}.8"), col(r, f"{vap}.9")
    obs = polled["synthetic_unifi_uap"]
    kind = {"ng": "2.4GHz", "na": "5GHz"}
    assert by(obs.wifi_clients, "wifi_clients", ("interface", "band"), scope="interface") == {
        (ifname[k].text, kind[vband[k].text]): v.number for k, v in sta.items()
    }
    assert by(obs.samples, "wifi_link_ccq_ratio", ("interface",)) == pytest.approx(
        {ifname[k].text: v.number / 1000 for k, v in col(r, f"{vap}.3").items()}
    )
    names, cu = col(r, f"{radio}.2"), col(r, f"{radio}.6")
    assert by(obs.samples, "wifi_radio_utilization_ratio", ("radio",)) == pytest.approx(
        {names[k].text: v.number / 100 for k, v in cu.items()}
    )
    # wifi0/wifi1 radios, ath* VAPs: all radios for the rollup, eth0 and lo not.
    radios = {i.name for i in obs.interfaces if i.radio}
    assert radios == {"wifi0", "wifi1", "ath0", "ath1", "ath2"}


@pytest.mark.parametrize(
    ("name", "ap_table", "up_value", "mac_from"),
    [
        ("synthetic_ruckus_sz", "1.3.6.1.4.1.25053.1.4.2.1.1.2.2.1", "Connect", 1),
        ("synthetic_ruckus_zd", "1.3.6.1.4.1.25053.1.2.2.1.1.2.1.1", "1", 0),
    ],
)
def test_ruckus_controllers_ap_state(polled, name, ap_table, up_value, mac_from):
    r = recs(DATA_RECORDINGS, name)
    status = col(r, f"{ap_table}.16" if name.endswith("sz") else f"{ap_table}.3")
    obs = polled[name].samples
    assert by(obs, "wifi_ap_up", ("ap_mac",)) == {
        mac(k[mac_from:]): float(v.raw == up_value) for k, v in status.items()
    }
    up = sum(v.raw == up_value for v in status.values())
    assert by(obs, "wifi_aps", ("state",)) == {
        "known": len(status),
        "connected": up,
        "disconnected": len(status) - up,
    }
    assert 0 < up < len(status)  # the recording holds an AP the controller lost


def test_ruckus_zd_clients_per_radio_and_band(polled):
    r = recs(DATA_RECORDINGS, "synthetic_ruckus_zd")
    base = "1.3.6.1.4.1.25053.1.2.2.1.1.2.2.1"
    kind, sta = col(r, f"{base}.3"), col(r, f"{base}.8")
    bands = {0: "2.4GHz", 1: "5GHz", 2: "2.4GHz", 3: "5GHz", 4: "5GHz"}  # radio11bg..11ac
    per_band: dict[str, int] = {}
    for k, v in sta.items():
        per_band[bands[kind[k].number]] = per_band.get(bands[kind[k].number], 0) + v.number
    wifi = polled["synthetic_ruckus_zd"].wifi_clients
    assert by(wifi, "wifi_clients", ("band",), scope="band") == per_band


def transformed(tmp_path: Path, src: Path, name: str, new_oid: str) -> Path:
    """A copy of one recording with its sysObjectID replaced."""
    out = tmp_path / "rec"
    out.mkdir()
    lines = src.read_text(encoding="latin-1").splitlines()
    lines = [f"1.3.6.1.2.1.1.2.0|6|{new_oid}" if ln.startswith("1.3.6.1.2.1.1.2.0|") else ln
             for ln in lines]  # fmt: skip
    (out / f"{name}.snmprec").write_text("\n".join(lines) + "\n", encoding="latin-1")
    return out


def cli_poll(port: int, community: str, *extra: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "netwatch", "snmp", "poll", "-c", community, *extra,
         f"127.0.0.1:{port}"], capture_output=True, text=True, timeout=60,
    )  # fmt: skip


def test_unlisted_controller_matches_by_sysdescr_and_the_cli_says_why(tmp_path, recordings_dir):
    # A Cisco Business Wireless model whose sysObjectID no profile lists.
    folder = transformed(tmp_path, recordings_dir / "ciscowlc_cbw240ac.snmprec", "cbw",
                         "1.3.6.1.4.1.9.6.1.99.9")  # fmt: skip
    descr = recs(folder, "cbw")[(1, 3, 6, 1, 2, 1, 1, 1, 0)].text
    with running_snmpsim(folder, probe_community="cbw") as (_, port):
        text = cli_poll(port, "cbw")
        doc = json.loads(cli_poll(port, "cbw", "--json").stdout)
    assert text.returncode == 0, text.stderr
    assert doc["profiles"][-1] == "cisco-wlc"
    assert doc["profile_reason"] == (
        "sysDescr matches /^Cisco (Controller|Business Wireless)/; "
        "probe 1.3.6.1.4.1.14179.2.1.1.1.2 answered"
    )
    assert descr.startswith("Cisco Business Wireless")
    line = next(ln for ln in text.stdout.splitlines() if ln.startswith("matched"))
    assert line == f"matched     cisco-wlc (confidence high): {doc['profile_reason']}"
    assert sum(s["value"] for s in doc["wifi_clients"] if ["scope", "ssid"] in s["labels"]) == 23


def test_probing_finds_a_unifi_behind_a_foreign_sysobjectid(tmp_path):
    # UniFi firmware that reports an unrelated sysObjectID: only probing can tell.
    folder = transformed(tmp_path, DATA_RECORDINGS / "synthetic_unifi_uap.snmprec", "uap",
                         "1.3.6.1.4.1.8072.3.2.10")  # fmt: skip
    with running_snmpsim(folder, probe_community="uap") as (_, port):
        doc = json.loads(cli_poll(port, "uap", "--json").stdout)
    assert doc["profiles"][-1] == "ubiquiti-unifi"
    assert doc["profile_reason"].endswith("probe 1.3.6.1.4.1.41112.1.6.1.2.1 answered")


def test_no_match_is_generic_and_says_so(recordings_agent):
    out = cli_poll(recordings_agent[1], "jetstream_t1600g-28ts", "--json")
    doc = json.loads(out.stdout)
    assert doc["profiles"][-1] == "generic" and doc["profile_confidence"] == "low"
    reason = "no vendor profile matched sysObjectID 1.3.6.1.4.1.11863"
    assert doc["profile_reason"].startswith(reason)
