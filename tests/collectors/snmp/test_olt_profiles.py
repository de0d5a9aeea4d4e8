"""GPON OLT profiles: ONU state, receive power both ways, distance, last down cause, environment.

Real recordings (shared zxa10_c320 and smartax) for what they hold; synthetic recordings in
tests/data/snmprec for ONU tables no real recording has. Expected values are read here.
"""

from __future__ import annotations

import pytest

from netwatch.collectors.snmp.observation import SnmpObservation
from tests.collectors.snmp.conftest import DATA_RECORDINGS
from tests.collectors.snmp.profile_support import by, col, poll_all, recs

# ZTE zxGponOltIfIndex → PON port (0x1 type, shelf-1, slot, port bytes: ZTE's published layout,
# as LibreNMS and operators' OID notes decode it): the real C320's ONU tables use these seven.
ZTE_PON = {268501248: "1/1/1", 268501760: "1/1/3", 268502016: "1/1/4", 268502272: "1/1/5",
           268502528: "1/1/6", 268502784: "1/1/7", 268503040: "1/1/8"}  # fmt: skip
SYNTHETIC = ("synthetic_zte_c320_onu", "synthetic_huawei_ma5800_ont", "synthetic_vsol_onu",
             "synthetic_bdcom_gpon", "synthetic_cdata_gpon")  # fmt: skip
PROFILE = {"synthetic_zte_c320_onu": "zte-c320", "synthetic_huawei_ma5800_ont": "huawei-smartax",
           "synthetic_vsol_onu": "vsol-olt", "synthetic_bdcom_gpon": "bdcom-olt",
           "synthetic_cdata_gpon": "cdata-olt"}  # fmt: skip


@pytest.fixture(scope="module")
def synthetic(data_agent) -> dict[str, SnmpObservation]:
    return poll_all(data_agent[1], SYNTHETIC)


@pytest.fixture(scope="module")
def shared(recordings_agent) -> dict[str, SnmpObservation]:
    return poll_all(recordings_agent[1], ("zxa10_c320", "smartax"))


def test_synthetic_files_say_so():
    for name in SYNTHETIC:
        first = (DATA_RECORDINGS / f"{name}.snmprec").read_text().splitlines()[0]
        assert first.startswith("# SYNTHETIC")


@pytest.mark.parametrize("name", SYNTHETIC)
def test_olts_pick_their_profile(synthetic, name):
    obs = synthetic[name]
    assert obs.error is None, obs.message
    assert obs.profiles[-1] == PROFILE[name]
    assert not obs.partial_errors


def test_zte_environment_from_the_real_c320(shared, recordings_dir):
    r = recs(recordings_dir, "zxa10_c320")
    env = "1.3.6.1.4.1.3902.1082.10.10.2"
    temps, fans = col(r, f"{env}.1.6.1.2"), col(r, f"{env}.4.11.1.7")
    fan_oper, psu = col(r, f"{env}.4.11.1.5"), col(r, f"{env}.3.11.1.3")
    obs = shared["zxa10_c320"].samples
    assert by(obs, "temperature_celsius", ("slot",)) == {
        str(k[2]): v.number for k, v in temps.items()
    }
    assert by(obs, "fan_speed_rpm", ("fan",)) == {str(k[2]): v.number for k, v in fans.items()}
    assert by(obs, "fan_up", ("fan",)) == {
        str(k[2]): float(v.number == 1) for k, v in fan_oper.items()
    }
    # zxAnPowerSupplyInVoltageStatus normal(1): this recording has none normal (2 and off(4)).
    assert by(obs, "power_supply_up", ("psu",)) == {
        str(k[2]): float(v.number == 1) for k, v in psu.items()
    }
    dist = col(r, "1.3.6.1.4.1.3902.1012.3.11.4.1.2")
    assert by(obs, "onu_distance_meters", ("pon", "onu")) == {
        (ZTE_PON[k[0]], str(k[1])): v.number for k, v in dist.items()
    }
    # Each decoded PON is one of the OLT's own GPON ports (ifName gpon_1/1/N).
    gpon = {v.text.removeprefix("gpon_") for v in col(r, "1.3.6.1.2.1.31.1.1.1.1").values()
            if v.text.startswith("gpon_")}  # fmt: skip
    assert {ZTE_PON[k[0]] for k in dist} <= gpon


def test_smartax_board_temperature(shared, recordings_dir):
    r = recs(recordings_dir, "smartax")
    temps = col(r, "1.3.6.1.4.1.2011.2.6.7.1.1.2.1.10")
    boards = col(r, "1.3.6.1.4.1.2011.2.6.7.1.1.2.1.7")
    assert by(shared["smartax"].samples, "temperature_celsius", ("slot", "board")) == {
        (str(k[1]), boards[k].text): v.number for k, v in temps.items()
    }


def test_zte_onu_state_rx_both_ways_and_cause(synthetic):
    r = recs(DATA_RECORDINGS, "synthetic_zte_c320_onu")
    phase = col(r, "1.3.6.1.4.1.3902.1012.3.28.2.1.4")
    names = {0: "logging", 1: "los", 2: "sync_mib", 3: "working", 4: "dying_gasp",
             5: "auth_failed", 6: "offline"}  # fmt: skip
    obs = synthetic["synthetic_zte_c320_onu"]
    assert by(obs.samples, "onu_up", ("onu", "state")) == {
        (str(k[1]), names[v.number]): float(v.number == 3) for k, v in phase.items()
    }
    assert {"los", "dying_gasp"} <= {names[v.number] for v in phase.values()}
    onu_rx = col(r, "1.3.6.1.4.1.3902.1012.3.50.12.1.1.10")
    assert by(obs.optical, "optical_rx_dbm", ("onu",), side="onu") == pytest.approx(
        {str(k[1]): v.number * 0.002 - 30 for k, v in onu_rx.items() if v.number != 65535}
    )
    olt_rx = col(r, "1.3.6.1.4.1.3902.1082.500.1.2.4.2.1.2")
    assert by(obs.optical, "optical_rx_dbm", ("onu",), side="olt") == pytest.approx(
        {str(k[1]): v.number / 1000 for k, v in olt_rx.items() if v.number != -80000}
    )
    weak = [o for o, dbm in by(obs.optical, "optical_rx_dbm", ("onu",), side="onu").items()
            if dbm < -27]  # fmt: skip
    assert weak == ["4"]  # the GPON class B+ warning case is in the data
    online = sum(v.number == 3 for v in phase.values())
    pon = ZTE_PON[next(iter(phase))[0]]
    assert by(obs.samples, "pon_onus", ("pon", "state")) == {
        (pon, "known"): len(phase),
        (pon, "online"): online,
        (pon, "offline"): len(phase) - online,
    }


def test_huawei_ont_state_cause_and_optics(synthetic):
    r = recs(DATA_RECORDINGS, "synthetic_huawei_ma5800_ont")
    b = "1.3.6.1.4.1.2011.6.128.1.1.2"
    names, run = col(r, f"{b}.43.1.9"), col(r, f"{b}.46.1.15")
    cause, rng = col(r, f"{b}.46.1.24"), col(r, f"{b}.46.1.20")
    causes = {1: "los", 13: "dying_gasp"}  # HUAWEI-XPON-MIB hwGponDeviceOntControlLastDownCause
    obs = synthetic["synthetic_huawei_ma5800_ont"]
    assert by(obs.samples, "onu_up", ("onu_name",)) == {
        names[k].text: float(v.number == 1) for k, v in run.items()
    }
    assert by(obs.samples, "onu_last_down_cause", ("onu_name", "onu_last_down_cause")) == {
        (names[k].text, causes[v.number]): 1.0 for k, v in cause.items()
    }
    assert by(obs.samples, "onu_distance_meters", ("onu_name",)) == {
        names[k].text: v.number for k, v in rng.items()
    }
    for column, side in ((4, "onu"), (6, "olt")):
        values = col(r, f"{b}.51.1.{column}")
        assert by(obs.optical, "optical_rx_dbm", ("onu_name",), side=side) == pytest.approx(
            {names[k].text: v.number / 100 for k, v in values.items() if v.number != 2147483647}
        )


def test_vsol_onu_state_deregistration_and_distance(synthetic):
    r = recs(DATA_RECORDINGS, "synthetic_vsol_onu")
    base = "1.3.6.1.4.1.37950.1.1.5.12.1.25.1"
    names, status, reason = col(r, f"{base}.9"), col(r, f"{base}.4"), col(r, f"{base}.15")
    obs = synthetic["synthetic_vsol_onu"]
    assert by(obs.samples, "onu_up", ("pon", "onu", "onu_name")) == {
        (str(k[0]), str(k[1]), names[k].text): float(v.number == 1) for k, v in status.items()
    }
    # onuAuthInfo2DeregReason: wire-down(0) is a fibre loss, power-off(1) a dying gasp.
    assert by(obs.samples, "onu_last_down_cause", ("onu_name", "onu_last_down_cause")) == {
        (names[k].text, "los" if v.number == 0 else "dying_gasp"): 1.0 for k, v in reason.items()
    }
    dist = col(r, f"{base}.17")
    assert by(obs.samples, "onu_distance_meters", ("onu_name",)) == {
        names[k].text: v.number for k, v in dist.items()
    }


def test_bdcom_onus_fans_and_temperature(synthetic):
    r = recs(DATA_RECORDINGS, "synthetic_bdcom_gpon")
    names = col(r, "1.3.6.1.2.1.31.1.1.1.1")
    state, rx = col(r, "1.3.6.1.4.1.3320.10.3.1.1.8"), col(r, "1.3.6.1.4.1.3320.10.3.4.1.2")
    obs = synthetic["synthetic_bdcom_gpon"]
    # ONUs are interfaces named "GPON0/1:5": pon 0/1, onu 5.
    pon_onu = {k: tuple(v.text.removeprefix("GPON").split(":")) for k, v in names.items()}
    assert by(obs.samples, "onu_up", ("pon", "onu")) == {
        pon_onu[k]: float(v.number == 1) for k, v in state.items()
    }
    assert by(obs.optical, "optical_rx_dbm", ("pon", "onu")) == pytest.approx(
        {pon_onu[k]: v.number / 10 for k, v in rx.items()}
    )
    fans = col(r, "1.3.6.1.4.1.3320.9.187.4.1.2")
    assert by(obs.samples, "fan_up", ("fan",)) == {
        str(k[0]): float(v.number == 1) for k, v in fans.items()
    }


def test_cdata_onu_state_name_serial_distance_and_optics(synthetic):
    r = recs(DATA_RECORDINGS, "synthetic_cdata_gpon")
    base = "1.3.6.1.4.1.34592.1.5.1.1.2.18"  # CDATA-GPON-MIB gponOnuObjects
    names, serials = col(r, f"{base}.1.1.8"), col(r, f"{base}.1.1.4")
    state, dist, rx = col(r, f"{base}.2.1.1"), col(r, f"{base}.2.1.4"), col(r, f"{base}.6.1.4")
    obs = synthetic["synthetic_cdata_gpon"]

    def pon(k: tuple[int, ...]) -> str:  # gponOltDeviceId/CardId/PortId
        return "/".join(map(str, k[:3]))

    assert by(obs.samples, "onu_up", ("pon", "onu", "onu_name", "onu_serial", "state")) == {
        (pon(k), str(k[3]), names[k].text, serials[k].text,
         "online" if v.number == 1 else "offline"): float(v.number == 1)
        for k, v in state.items()
    }  # fmt: skip
    assert 0.0 in {v for v in by(obs.samples, "onu_up", ("onu",)).values()}
    assert by(obs.samples, "onu_distance_meters", ("onu_name",)) == {
        names[k].text: v.number for k, v in dist.items()
    }
    assert by(obs.optical, "optical_rx_dbm", ("onu_name",), side="onu") == pytest.approx(
        {names[k].text: float(v.text) for k, v in rx.items()}
    )


@pytest.mark.parametrize(
    ("raw", "shown"),
    [
        # G.984.3: a 4-byte vendor id (ASCII) and a 4-byte vendor-specific serial (hex).
        (bytes.fromhex("48575443a1b2c301"), "HWTCA1B2C301"),
        (b"48575443A1B2C301", "HWTCA1B2C301"),  # the same, as 16 hex digits
        (b"CDTC1A2B0001", "CDTC1A2B0001"),  # already as people write it: kept
        (bytes.fromhex("00112233a1b2c301"), "00112233A1B2C301"),  # no vendor id: all hex
    ],
)
def test_gpon_serial_label(raw: bytes, shown: str):
    from netwatch.collectors.snmp.normalize import label_text
    from netwatch.collectors.snmp.types import Kind, Value

    assert label_text(Value(Kind.OCTET_STRING, raw), "gpon_serial") == shown
