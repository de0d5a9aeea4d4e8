"""Wi-Fi profiles on recordings of real devices: clients per scope, AP state, radio figures.

Shared recordings (LibreNMS test data) and excerpts of the snmpsim-data package's recordings
(tests/data/snmprec/snmpsimdata_*). Every expected value is read from the recording here.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from netwatch.collectors.snmp.observation import SnmpObservation
from tests.collectors.snmp.conftest import DATA_RECORDINGS
from tests.collectors.snmp.profile_support import by, col, mac, picked, poll_all, recs, scope_totals

SHARED = ("routeros", "routeros_rb750gr3", "ciscowlc_cbw240ac", "aruba-instant", "airos_airos8")
DATA = ("snmpsimdata_cisco_wlc", "snmpsimdata_huawei_ac", "snmpsimdata_ruckus_scg",
        "snmpsimdata_arubaos_7210", "snmpsimdata_airos_m5")  # fmt: skip
PROFILE = {
    "snmpsimdata_cisco_wlc": "cisco-wlc", "snmpsimdata_huawei_ac": "huawei-wlan-ac",
    "snmpsimdata_ruckus_scg": "ruckus-smartzone", "snmpsimdata_arubaos_7210": "arubaos-controller",
    "snmpsimdata_airos_m5": "ubiquiti-airos",
}  # fmt: skip


def band_of_mhz(mhz: int) -> str:
    return "2.4GHz" if 2400 <= mhz < 2500 else "5GHz" if 4900 <= mhz < 5925 else ""


@pytest.fixture(scope="module")
def shared(recordings_agent) -> dict[str, SnmpObservation]:
    return poll_all(recordings_agent[1], SHARED)


@pytest.fixture(scope="module")
def data(data_agent) -> dict[str, SnmpObservation]:
    return poll_all(data_agent[1], DATA)


@pytest.mark.parametrize("name", DATA)
def test_real_controllers_pick_their_profile_and_say_why(data, name):
    obs = data[name]
    assert obs.error is None, obs.message
    assert obs.profiles[-1] == PROFILE[name]
    assert obs.profile_confidence in ("high", "medium", "low")
    r = recs(DATA_RECORDINGS, name)
    sys_oid = r[(1, 3, 6, 1, 2, 1, 1, 2, 0)].raw
    assert obs.profile_reason.startswith(f"sysObjectID {sys_oid} is under ")
    assert not obs.partial_errors


def test_routeros_clients_per_interface_ssid_band_and_device(shared, recordings_dir):
    r = recs(recordings_dir, "routeros")
    names = col(r, "1.3.6.1.2.1.31.1.1.1.1")
    counts, ssids = col(r, "1.3.6.1.4.1.14988.1.1.1.3.1.6"), col(r, "1.3.6.1.4.1.14988.1.1.1.3.1.4")
    freqs = col(r, "1.3.6.1.4.1.14988.1.1.1.3.1.7")
    wifi = shared["routeros"].wifi_clients
    assert by(wifi, "wifi_clients", ("interface",), scope="interface") == {
        names[k].text: v.number for k, v in counts.items()
    }
    per_ssid: dict[str, int] = {}
    per_band: dict[str, int] = {}
    for k, v in counts.items():
        per_ssid[ssids[k].text] = per_ssid.get(ssids[k].text, 0) + v.number
        band = band_of_mhz(freqs[k].number)
        per_band[band] = per_band.get(band, 0) + v.number
    assert by(wifi, "wifi_clients", ("ssid",), scope="ssid") == per_ssid
    assert by(wifi, "wifi_clients", ("band",), scope="band") == per_band
    total = sum(v.number for v in counts.values())
    assert total == 11
    # No scope is counted into another: each one adds up to the device's total.
    assert scope_totals(wifi) == {s: total for s in ("interface", "ssid", "band", "device")}


def test_routeros_radio_figures_only_for_real_radios(shared, recordings_dir):
    r = recs(recordings_dir, "routeros")
    names = col(r, "1.3.6.1.2.1.31.1.1.1.1")
    freqs = col(r, "1.3.6.1.4.1.14988.1.1.1.3.1.7")
    noise, ccq = col(r, "1.3.6.1.4.1.14988.1.1.1.3.1.9"), col(r, "1.3.6.1.4.1.14988.1.1.1.3.1.10")
    radios = {k for k, v in freqs.items() if v.number}  # virtual APs report frequency 0
    obs = shared["routeros"].samples
    assert by(obs, "wifi_radio_frequency_hertz", ("interface",)) == {
        names[k].text: freqs[k].number * 1e6 for k in radios
    }
    assert by(obs, "wifi_radio_noise_floor_dbm", ("interface",)) == {
        names[k].text: noise[k].number for k in radios
    }
    assert by(obs, "wifi_link_ccq_ratio", ("interface",)) == pytest.approx(
        {names[k].text: ccq[k].number / 100 for k in radios}
    )
    snr = col(r, "1.3.6.1.4.1.14988.1.1.1.2.1.12")
    assert not snr and not picked(obs, "wifi_link_snr_db")  # not in this recording


def test_routeros7_health_gauges(shared, recordings_dir):
    r = recs(recordings_dir, "routeros_rb750gr3")
    names, values = (
        col(r, "1.3.6.1.4.1.14988.1.1.3.100.1.2"),
        col(r, "1.3.6.1.4.1.14988.1.1.3.100.1.3"),
    )
    units = col(r, "1.3.6.1.4.1.14988.1.1.3.100.1.4")
    obs = shared["routeros_rb750gr3"].samples
    temps = {names[k].text: v.number for k, v in values.items() if units[k].number == 1}
    volts = {names[k].text: v.number / 10 for k, v in values.items() if units[k].number == 3}
    assert by(obs, "temperature_celsius", ("sensor",)) == temps == {"temperature": 38}
    assert by(obs, "voltage_volts", ("sensor",))["voltage"] == pytest.approx(volts["voltage"])


def test_cisco_cbw_scopes_bands_and_radio_figures(shared, recordings_dir):
    r = recs(recordings_dir, "ciscowlc_cbw240ac")
    ssid, ess = col(r, "1.3.6.1.4.1.14179.2.1.1.1.2"), col(r, "1.3.6.1.4.1.14179.2.1.1.1.38")
    ap_names = col(r, "1.3.6.1.4.1.14179.2.2.1.1.3")
    types, users = col(r, "1.3.6.1.4.1.14179.2.2.2.1.2"), col(r, "1.3.6.1.4.1.14179.2.2.2.1.15")
    chan, load = col(r, "1.3.6.1.4.1.14179.2.2.2.1.4"), col(r, "1.3.6.1.4.1.14179.2.2.13.1.3")
    band = {1: "2.4GHz", 2: "5GHz"}  # bsnAPIfType dot11b(1), dot11a(2)
    obs = shared["ciscowlc_cbw240ac"]
    wifi = obs.wifi_clients
    assert by(wifi, "wifi_clients", ("ssid",), scope="ssid") == {
        ssid[k].text: v.number for k, v in ess.items()
    }
    assert by(wifi, "wifi_clients", ("ap", "radio"), scope="radio") == {
        (ap_names[k[:6]].text, str(k[6])): v.number for k, v in users.items()
    }
    per_band: dict[str, int] = {}
    for k, v in users.items():
        per_band[band[types[k].number]] = per_band.get(band[types[k].number], 0) + v.number
    assert by(wifi, "wifi_clients", ("band",), scope="band") == per_band
    total = sum(v.number for v in ess.values())
    assert scope_totals(wifi) == {s: total for s in ("ssid", "radio", "band", "device")}
    assert by(obs.samples, "wifi_radio_channel", ("ap_mac", "radio")) == {
        (mac(k[:6]), str(k[6])): v.number for k, v in chan.items()
    }
    assert by(obs.samples, "wifi_radio_utilization_ratio", ("ap_mac", "radio")) == pytest.approx(
        {(mac(k[:6]), str(k[6])): v.number / 100 for k, v in load.items()}
    )
    assert not picked(obs.samples, "wifi_ap_up")  # bsnAPOperationStatus is not recorded


def test_cisco_wlc_ap_state_and_counts(data):
    r = recs(DATA_RECORDINGS, "snmpsimdata_cisco_wlc")
    names, status = col(r, "1.3.6.1.4.1.14179.2.2.1.1.3"), col(r, "1.3.6.1.4.1.14179.2.2.1.1.6")
    obs = data["snmpsimdata_cisco_wlc"].samples
    assert by(obs, "wifi_ap_up", ("ap", "ap_mac")) == {
        (names[k].text, mac(k)): float(v.number == 1) for k, v in status.items()
    }
    up = sum(v.number == 1 for v in status.values())
    assert by(obs, "wifi_aps", ("state",)) == {
        "known": len(status),
        "connected": up,
        "disconnected": len(status) - up,
    }


def test_huawei_ac_ap_state_clients_per_ssid_and_radio(data):
    r = recs(DATA_RECORDINGS, "snmpsimdata_huawei_ac")
    base, radio, vap = ("1.3.6.1.4.1.2011.6.139.13.3.3.1", "1.3.6.1.4.1.2011.6.139.16.1.2.1",
                        "1.3.6.1.4.1.2011.6.139.17.1.1.1")  # fmt: skip
    names, state = col(r, f"{base}.4"), col(r, f"{base}.6")
    obs = data["snmpsimdata_huawei_ac"]
    assert by(obs.samples, "wifi_ap_up", ("ap",)) == {
        names[k].text: float(v.number == 8)
        for k, v in state.items()  # normal(8)
    }
    faults = {names[k].text for k, v in state.items() if v.number == 4}
    assert faults and all(picked(obs.samples, "wifi_ap_up", ap=a, state="fault") for a in faults)
    normal = sum(v.number == 8 for v in state.values())
    assert by(obs.samples, "wifi_aps", ("state",)) == {
        "known": len(state),
        "connected": normal,
        "disconnected": len(state) - normal,
    }
    ssids, online = col(r, f"{vap}.6"), col(r, f"{vap}.9")
    per_ssid: dict[str, int] = {}
    for k, v in online.items():
        per_ssid[ssids[k].text] = per_ssid.get(ssids[k].text, 0) + v.number
    assert by(obs.wifi_clients, "wifi_clients", ("ssid",), scope="ssid") == per_ssid
    assert by(obs.wifi_clients, "wifi_clients", ("scope",), scope="device") == {
        "device": sum(per_ssid.values())
    }
    freq, sta = col(r, f"{radio}.5"), col(r, f"{radio}.40")
    chan, noise, util = col(r, f"{radio}.7"), col(r, f"{radio}.24"), col(r, f"{radio}.25")
    key = {k: (mac(k[:6]), str(k[6])) for k in sta}
    assert by(obs.wifi_clients, "wifi_clients", ("ap_mac", "radio", "band"), scope="radio") == {
        (*key[k], {1: "2.4GHz", 2: "5GHz"}[freq[k].number]): v.number for k, v in sta.items()
    }
    assert by(obs.samples, "wifi_radio_channel", ("ap_mac", "radio")) == {
        key[k]: v.number for k, v in chan.items()
    }
    assert by(obs.samples, "wifi_radio_noise_floor_dbm", ("ap_mac", "radio")) == {
        key[k]: v.number
        for k, v in noise.items()
        if v.number != 0  # 0 = invalid (MIB)
    }
    assert by(obs.samples, "wifi_radio_utilization_ratio", ("ap_mac", "radio")) == pytest.approx(
        {key[k]: v.number / 100 for k, v in util.items()}
    )


def test_ruckus_scg_ssids_and_ap_connection_state(data):
    r = recs(DATA_RECORDINGS, "snmpsimdata_ruckus_scg")
    wlan, ap = "1.3.6.1.4.1.25053.1.3.2.1.1.1.2.1", "1.3.6.1.4.1.25053.1.3.2.1.1.2.2.1"
    ssids, sta = col(r, f"{wlan}.1"), col(r, f"{wlan}.12")
    per_ssid: dict[str, int] = {}
    for k, v in sta.items():
        per_ssid[ssids[k].text] = per_ssid.get(ssids[k].text, 0) + v.number
    obs = data["snmpsimdata_ruckus_scg"]
    assert by(obs.wifi_clients, "wifi_clients", ("ssid",), scope="ssid") == per_ssid
    names, conn, ap_sta = col(r, f"{ap}.5"), col(r, f"{ap}.16"), col(r, f"{ap}.15")
    assert {k[0] for k in conn} == {6}  # the MAC index carries its length first
    assert by(obs.samples, "wifi_ap_up", ("ap", "ap_mac", "state")) == {
        (names[k].text, mac(k[1:]), v.text): float(v.text == "Connect") for k, v in conn.items()
    }
    up = sum(v.text == "Connect" for v in conn.values())
    assert 0 < up < len(conn)
    assert by(obs.samples, "wifi_aps", ("state",)) == {
        "known": len(conn),
        "connected": up,
        "disconnected": len(conn) - up,
    }
    assert by(obs.wifi_clients, "wifi_clients", ("ap",), scope="ap") == {
        names[k].text: v.number for k, v in ap_sta.items()
    }


def test_arubaos_controller_aps_essids_and_radios(data):
    r = recs(DATA_RECORDINGS, "snmpsimdata_arubaos_7210")
    base = "1.3.6.1.4.1.14823.2.2.1.5.2.1"
    status, ess = col(r, f"{base}.4.1.19"), col(r, f"{base}.8.1.2")
    obs = data["snmpsimdata_arubaos_7210"]
    up = sum(v.number == 1 for v in status.values())
    assert by(obs.samples, "wifi_aps", ("state",)) == {
        "known": len(status),
        "connected": up,
        "disconnected": len(status) - up,
    }
    assert 0 < up < len(status)
    # wlsxWlanESSIDTable is indexed by the length-prefixed ESSID.
    assert by(obs.wifi_clients, "wifi_clients", ("ssid",), scope="ssid") == {
        bytes(k[1:]).decode(): v.number for k, v in ess.items()
    }
    chan, power = col(r, f"{base}.5.1.3"), col(r, f"{base}.5.1.4")
    assert by(obs.samples, "wifi_radio_channel", ("ap_mac", "radio")) == {
        (mac(k[:6]), str(k[6])): v.number for k, v in chan.items()
    }
    assert by(obs.samples, "wifi_radio_tx_power_dbm", ("ap_mac", "radio")) == {
        (mac(k[:6]), str(k[6])): v.number / 2
        for k, v in power.items()  # txpwr × 2 (MIB)
    }


def test_aruba_instant_ap_state_and_radio_health(shared, recordings_dir):
    r = recs(recordings_dir, "aruba-instant")
    status = col(r, "1.3.6.1.4.1.14823.2.3.3.1.2.1.1.11")
    radio = "1.3.6.1.4.1.14823.2.3.3.1.2.2.1"
    noise, util = col(r, f"{radio}.6"), col(r, f"{radio}.7")
    obs = shared["aruba-instant"].samples
    assert by(obs, "wifi_ap_up", ("ap_mac",)) == {
        mac(k): float(v.number == 1) for k, v in status.items()
    }
    assert by(obs, "wifi_radio_noise_floor_dbm", ("ap_mac", "radio")) == {
        (mac(k[:6]), str(k[6])): v.number for k, v in noise.items()
    }
    assert by(obs, "wifi_radio_utilization_ratio", ("ap_mac", "radio")) == pytest.approx(
        {(mac(k[:6]), str(k[6])): v.number / 100 for k, v in util.items()}
    )


@pytest.mark.parametrize("name", ["airos_airos8", "snmpsimdata_airos_m5"])
def test_airos_link_and_radio(shared, data, recordings_dir, name):
    folder = DATA_RECORDINGS if name.startswith("snmpsimdata") else recordings_dir
    obs = (data if name.startswith("snmpsimdata") else shared)[name]
    r = recs(Path(folder), name)
    st, rad = "1.3.6.1.4.1.41112.1.4.5.1", "1.3.6.1.4.1.41112.1.4.1.1"
    freq = col(r, f"{rad}.4")
    bands = {str(k[0]): band_of_mhz(v.number) for k, v in freq.items()}
    assert by(obs.wifi_clients, "wifi_clients", ("radio", "band"), scope="radio") == {
        (str(k[0]), bands[str(k[0])]): v.number for k, v in col(r, f"{st}.15").items()
    }
    checks = (("wifi_link_signal_dbm", 5, 1), ("wifi_radio_noise_floor_dbm", 8, 1),
              ("wifi_link_ccq_ratio", 7, 0.01))  # fmt: skip
    for metric, column, scale in checks:
        assert by(obs.samples, metric, ("radio",)) == pytest.approx(
            {str(k[0]): v.number * scale for k, v in col(r, f"{st}.{column}").items()}
        )
    assert by(obs.samples, "wifi_radio_tx_power_dbm", ("radio",)) == {
        str(k[0]): v.number for k, v in col(r, f"{rad}.6").items()
    }
