"""Poll every shared recording through snmpsim; expectations are read from the .snmprec files."""

from __future__ import annotations

import asyncio
import dataclasses
import math
import re
from pathlib import Path

import pytest

from netwatch.collectors.snmp.collector import probe
from netwatch.collectors.snmp.engine import SnmpEngine
from netwatch.collectors.snmp.observation import SnmpObservation
from tests.collectors.snmp.support import SETTINGS, device, v2c
from tests.helpers import snmprec

GETNEXT_PDU = 0xA1
RECORDINGS = (
    "airos_airos8", "aruba-instant", "ciscowlc_cbw240ac", "edgeos", "edgeosolt", "epmp",
    "ios_2960x", "jetstream_t1600g-28ts", "junos_mx5t-isis", "linux_ntc", "routeros",
    "routeros_rb750gr3", "routeros_rblhgr", "ruijie", "smartax", "swos", "vrp_5720",
    "vsolution_v1600d", "zxa10_c320",
)  # fmt: skip
# Which profile should claim each device: the point of the sysObjectID/probe/sysDescr rules.
EXPECTED_PROFILE = {
    "airos_airos8": "ubiquiti-airos", "aruba-instant": "aruba-instant",
    "ciscowlc_cbw240ac": "cisco-wlc", "edgeos": "ubiquiti-edgeos",
    "edgeosolt": "ubiquiti-ufiber-olt", "epmp": "cambium-epmp", "ios_2960x": "cisco-ios",
    "jetstream_t1600g-28ts": "generic", "junos_mx5t-isis": "juniper-junos", "linux_ntc": "linux",
    "routeros": "mikrotik-routeros", "routeros_rb750gr3": "mikrotik-routeros",
    "routeros_rblhgr": "mikrotik-routeros", "ruijie": "generic", "smartax": "huawei-smartax",
    "swos": "mikrotik-swos", "vrp_5720": "huawei-vrp", "vsolution_v1600d": "vsol-olt",
    "zxa10_c320": "zte-c320",
}  # fmt: skip

IF_DESCR, IF_OPER, IF_IN32 = "1.3.6.1.2.1.2.2.1.2", "1.3.6.1.2.1.2.2.1.8", "1.3.6.1.2.1.2.2.1.10"
IF_SPEED = "1.3.6.1.2.1.2.2.1.5"
IF_NAME, IF_HCIN, IF_HCOUT = (
    "1.3.6.1.2.1.31.1.1.1.1",
    "1.3.6.1.2.1.31.1.1.1.6",
    "1.3.6.1.2.1.31.1.1.1.10",
)


@pytest.fixture(scope="module")
def polls(recordings_agent, recordings_dir: Path) -> dict[str, list[SnmpObservation]]:
    """Three polls of each recording (one snmpsim, one engine), and the PDU types each sent.

    The first walks the columns (no rows hint); the second and third ask each column where
    the poll before found its rows (predict.py): the tests below read the third."""
    from netwatch.collectors.snmp import collector

    collector._last_stack.clear()  # other tests polled these agents: the first poll is a first

    async def run() -> dict[str, list[SnmpObservation]]:
        async with SnmpEngine() as engine:
            sent: list[int] = []
            request = engine._request

            async def spy(target, pdu_type, oids, *args, **kwargs):  # type: ignore[no-untyped-def]
                sent.append(pdu_type)
                return await request(target, pdu_type, oids, *args, **kwargs)

            engine._request = spy  # type: ignore[method-assign]
            out: dict[str, list] = {}
            for name in RECORDINGS:
                cred = v2c(name, recordings_agent[1])
                out[name] = []
                for _ in range(3):
                    sent.clear()
                    out[name].append(await probe(device(name), cred, SETTINGS, engine))
                out[name].append(list(sent))  # the third poll's PDU types
            return out

    return asyncio.run(run())


@pytest.fixture(scope="module")
def polled(polls) -> dict[str, SnmpObservation]:
    return {name: got[2] for name, got in polls.items()}


@pytest.mark.parametrize("name", RECORDINGS)
def test_the_steady_poll_reads_what_the_first_read(polls, name):
    # The recordings do not change: the poll asked where the rows were (GETNEXTs) must read
    # every value the first poll's walk read (GETBULKs from each column's root).
    first, *steady, pdus = polls[name]
    assert GETNEXT_PDU in pdus, pdus
    for obs in steady:  # the second poll is the first asked where the rows were
        assert obs.error is None and not obs.partial_errors, obs.partial_errors
        assert dataclasses.replace(obs, time=0.0, duration=0.0) == dataclasses.replace(
            first, time=0.0, duration=0.0
        )
        assert obs.samples or obs.interfaces


def recs(recordings_dir: Path, name: str) -> dict:
    return snmprec.read(recordings_dir / f"{name}.snmprec")


def by_labels(samples, metric: str | None = None) -> dict[tuple, float]:
    return {s.labels: s.value for s in samples if metric is None or s.metric == metric}


@pytest.mark.parametrize("name", RECORDINGS)
def test_interfaces_uptime_and_profile(polled, recordings_dir, name):
    obs = polled[name]
    r = recs(recordings_dir, name)
    assert obs.error is None, obs.message
    assert obs.profiles[-1] == EXPECTED_PROFILE[name]
    assert obs.uptime_ticks == snmprec.scalar(r, "1.3.6.1.2.1.1.3.0").number
    descr, names = snmprec.column(r, IF_DESCR), snmprec.column(r, IF_NAME)
    assert {i.index for i in obs.interfaces} == {k[0] for k in (*descr, *names)}
    hc_in, hc_out, in32 = (snmprec.column(r, IF_HCIN), snmprec.column(r, IF_HCOUT),
                           snmprec.column(r, IF_IN32))  # fmt: skip
    oper = snmprec.column(r, IF_OPER)
    for iface in obs.interfaces:
        key = (iface.index,)
        expected_name = names[key].text if key in names and names[key].text else None
        if expected_name is None:
            expected_name = descr[key].text if key in descr and descr[key].text else str(key[0])
        assert iface.name == expected_name.strip()
        if key in hc_in:
            assert (iface.in_octets, iface.counter_bits) == (hc_in[key].number, 64)
            assert iface.out_octets == hc_out[key].number
        elif key in in32:
            assert (iface.in_octets, iface.counter_bits) == (in32[key].number, 32)
        if key in oper:
            assert iface.oper_status == oper[key].number


def test_routeros_wifi_clients_per_interface(polled, recordings_dir):
    r = recs(recordings_dir, "routeros")
    names = snmprec.column(r, IF_NAME)
    counts = snmprec.column(r, "1.3.6.1.4.1.14988.1.1.1.3.1.6")
    expected = {names[k].text: v.number for k, v in counts.items()}
    got = {dict(s.labels)["interface"]: s.value for s in polled["routeros"].wifi_clients
           if dict(s.labels)["scope"] == "interface"}  # fmt: skip
    assert got == expected
    assert [expected[n] for n in sorted(expected)] == [7, 0, 0, 4]
    radios = {i.name for i in polled["routeros"].interfaces if i.radio}
    types = snmprec.column(r, "1.3.6.1.2.1.2.2.1.3")
    assert radios == {names[k].text for k, v in types.items() if v.number == 71}


def test_routeros_sfp_optics_in_millidbm(polled, recordings_dir):
    r = recs(recordings_dir, "routeros")
    rx = snmprec.column(r, "1.3.6.1.4.1.14988.1.1.19.1.1.10")
    got = by_labels(polled["routeros"].optical, "optical_rx_dbm")
    assert got == {(("port", "sfp1"),): rx[(25,)].number / 1000}


def test_ufiber_onu_rx_power_and_down_onus(polled, recordings_dir):
    r = recs(recordings_dir, "edgeosolt")
    rx = snmprec.column(r, "1.3.6.1.4.1.41112.1.5.6.2.1.9")
    serials = snmprec.column(r, "1.3.6.1.4.1.41112.1.5.6.2.1.1")
    got = {dict(s.labels)["onu_serial"]: s.value
           for s in polled["edgeosolt"].optical if s.metric == "optical_rx_dbm"}  # fmt: skip
    expected = {serials[k].text: v.number / 100 for k, v in rx.items() if v.number != 0}
    assert got == pytest.approx(expected)
    assert -17.37 in got.values()
    assert len(rx) - len(expected) == 13  # ONUs down report 0: no sample, per MANIFEST


def test_smartax_rx_sentinel_gives_no_sample(polled, recordings_dir):
    r = recs(recordings_dir, "smartax")
    rx = snmprec.column(r, "1.3.6.1.4.1.2011.6.128.1.1.2.23.1.5")
    tx = snmprec.column(r, "1.3.6.1.4.1.2011.6.128.1.1.2.23.1.4")
    assert rx and all(v.number == 2147483647 for v in rx.values())
    optical = polled["smartax"].optical
    assert not [s for s in optical if s.metric == "optical_rx_dbm"]
    names = snmprec.column(r, IF_NAME)
    got = {dict(s.labels)["pon"]: s.value for s in optical if s.metric == "optical_tx_dbm"}
    # pon: frame/slot/port of the ifName "GPON 0/1/0"
    assert got == pytest.approx({names[k].text.split()[-1]: v.number / 100 for k, v in tx.items()})


def test_vrp_microwatts_to_dbm(polled, recordings_dir):
    r = recs(recordings_dir, "vrp_5720")
    rx = snmprec.column(r, "1.3.6.1.4.1.2011.5.25.31.1.1.3.1.8")
    ent = snmprec.column(r, "1.3.6.1.2.1.47.1.1.1.1.7")
    expected = {ent[k].text: 10 * math.log10(v.number / 1000) for k, v in rx.items()
                if v.number != -1}  # fmt: skip
    got = {dict(s.labels)["port"]: s.value
           for s in polled["vrp_5720"].optical if s.metric == "optical_rx_dbm"}  # fmt: skip
    assert got == pytest.approx(expected)
    assert got["XGigabitEthernet0/0/1"] == pytest.approx(10 * math.log10(0.536))
    assert round(got["XGigabitEthernet0/0/1"], 2) == -2.71


def test_vsol_string_optics(polled, recordings_dir):
    r = recs(recordings_dir, "vsolution_v1600d")
    onu_rx = snmprec.column(r, "1.3.6.1.4.1.37950.1.1.5.12.2.1.8.1.7")
    onu_names = snmprec.column(r, "1.3.6.1.4.1.37950.1.1.5.12.1.25.1.9")
    pon_tx = snmprec.column(r, "1.3.6.1.4.1.37950.1.1.5.10.13.1.1.5")
    dbm = re.compile(r"\((-?[\d.]+) dBm\)")
    expected = {(str(k[0]), onu_names[k].text): float(dbm.search(v.text).group(1))
                for k, v in onu_rx.items() if dbm.search(v.text)}  # fmt: skip
    obs = polled["vsolution_v1600d"]
    got = {(dict(s.labels)["pon"], dict(s.labels)["onu_name"]): s.value for s in obs.optical
           if s.metric == "optical_rx_dbm" and dict(s.labels).get("side") == "onu"}  # fmt: skip
    assert got == expected and -14.61 in got.values()
    olt = {dict(s.labels)["pon"]: s.value for s in obs.optical
           if s.metric == "optical_tx_dbm" and dict(s.labels)["side"] == "olt"}  # fmt: skip
    assert olt == {str(k[0]): float(v.text.split()[0]) for k, v in pon_tx.items()}


def test_cisco_entity_sensor_scale_precision(polled, recordings_dir):
    r = recs(recordings_dir, "ios_2960x")
    base = "1.3.6.1.4.1.9.9.91.1.1.1.1"
    types, scales = snmprec.column(r, f"{base}.1"), snmprec.column(r, f"{base}.2")
    precs, values = snmprec.column(r, f"{base}.3"), snmprec.column(r, f"{base}.4")
    ent = snmprec.column(r, "1.3.6.1.2.1.47.1.1.1.1.7")
    assert {scales[k].number for k in types if types[k].number == 14} == {9}  # units: 10^0
    expected = {ent[k].text: values[k].number / 10 ** precs[k].number
                for k, t in types.items() if t.number == 14}  # fmt: skip
    got = by_labels(polled["ios_2960x"].optical)
    assert {dict(k)["port"]: v for k, v in got.items()} == pytest.approx(expected)
    assert expected["Gi1/0/52 Receive Power Sensor"] == pytest.approx(-4.7)


def test_juniper_dom_centi_dbm(polled, recordings_dir):
    r = recs(recordings_dir, "junos_mx5t-isis")
    rx = snmprec.column(r, "1.3.6.1.4.1.2636.3.60.1.1.1.1.5")
    names = snmprec.column(r, IF_NAME)
    got = {dict(s.labels)["port"]: s.value
           for s in polled["junos_mx5t-isis"].optical if s.metric == "optical_rx_dbm"}  # fmt: skip
    assert got == pytest.approx({names[k].text: v.number / 100 for k, v in rx.items()})
    assert got[names[(516,)].text] == pytest.approx(-26.77)


def test_cisco_wlc_clients_per_ssid_and_ap_radio(polled, recordings_dir):
    r = recs(recordings_dir, "ciscowlc_cbw240ac")
    ssids = snmprec.column(r, "1.3.6.1.4.1.14179.2.1.1.1.2")
    counts = snmprec.column(r, "1.3.6.1.4.1.14179.2.1.1.1.38")
    aps = snmprec.column(r, "1.3.6.1.4.1.14179.2.2.1.1.3")
    radio = snmprec.column(r, "1.3.6.1.4.1.14179.2.2.2.1.15")
    samples = polled["ciscowlc_cbw240ac"].wifi_clients
    per_ssid = {dict(s.labels)["ssid"]: s.value for s in samples
                if dict(s.labels)["scope"] == "ssid"}  # fmt: skip
    assert per_ssid == {ssids[k].text: v.number for k, v in counts.items()}
    assert per_ssid["ssid1"] == 23
    per_radio = {(dict(s.labels)["ap"], dict(s.labels)["radio"]): s.value for s in samples
                 if dict(s.labels)["scope"] == "radio"}  # fmt: skip
    assert per_radio == {(aps[k[:6]].text, str(k[6])): v.number for k, v in radio.items()}


def test_airos_32bit_fallback_and_clients(polled, recordings_dir):
    r = recs(recordings_dir, "airos_airos8")
    obs = polled["airos_airos8"]
    assert not snmprec.column(r, "1.3.6.1.2.1.31.1.1.1")  # no ifXTable at all
    speeds = snmprec.column(r, IF_SPEED)
    for iface in obs.interfaces:
        assert iface.counter_bits == 32
        assert iface.speed_bps == speeds[(iface.index,)].number
    sta = snmprec.column(r, "1.3.6.1.4.1.41112.1.4.5.1.15")
    per_radio = [s.value for s in obs.wifi_clients if dict(s.labels)["scope"] == "radio"]
    assert per_radio == [v.number for v in sta.values()] == [1]


def test_epmp_and_aruba_clients(polled, recordings_dir):
    r = recs(recordings_dir, "epmp")
    assert [s.value for s in polled["epmp"].wifi_clients] == [
        snmprec.scalar(r, "1.3.6.1.4.1.17713.21.1.2.10.0").number
    ]
    a = recs(recordings_dir, "aruba-instant")
    names = snmprec.column(a, "1.3.6.1.4.1.14823.2.3.3.1.1.7.1.2")
    counts = snmprec.column(a, "1.3.6.1.4.1.14823.2.3.3.1.1.7.1.4")
    got = {dict(s.labels)["ssid"]: s.value for s in polled["aruba-instant"].wifi_clients
           if dict(s.labels)["scope"] == "ssid"}  # fmt: skip
    assert got == {names[k].text: v.number for k, v in counts.items()}


def test_host_resources_memory(polled, recordings_dir):
    r = recs(recordings_dir, "routeros")
    types = snmprec.column(r, "1.3.6.1.2.1.25.2.3.1.2")
    units = snmprec.column(r, "1.3.6.1.2.1.25.2.3.1.4")
    used = snmprec.column(r, "1.3.6.1.2.1.25.2.3.1.6")
    ram = [k for k, v in types.items() if v.raw == "1.3.6.1.2.1.25.2.1.2"]
    assert polled["routeros"].memory_used_bytes == sum(
        used[k].number * units[k].number for k in ram
    )
    loads = snmprec.column(r, "1.3.6.1.2.1.25.3.3.1.2")
    mean = sum(v.number for v in loads.values()) / len(loads) / 100
    assert polled["routeros"].cpu_load_ratio == pytest.approx(mean)


def test_inventory_profile_wins_and_unknown_profile_is_an_error(recordings_agent, recordings_dir):
    async def run(profile: str) -> SnmpObservation:
        async with SnmpEngine() as engine:
            dev = device("routeros", profile=profile)
            return await probe(dev, v2c("routeros", recordings_agent[1]), SETTINGS, engine)

    forced = asyncio.run(run("if-mib"))
    assert forced.error is None and forced.profiles == ("system", "if-mib")
    assert forced.wifi_clients == []  # the vendor tables are not polled
    bad = asyncio.run(run("no-such-profile"))
    assert bad.error == "profile" and "no-such-profile" in bad.message
