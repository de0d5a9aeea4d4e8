"""Write the synthetic_*.snmprec recordings: devices no real recording here covers.

Written by hand from the MIB definitions named in README.md (object, column, index, type and
enumeration as the MIB states them); values are invented but plausible for a village network.
Each file starts with a comment line saying it is synthetic. Run by hand after an edit:
`python make_synthetic.py` (the tests read the .snmprec files, never this script).
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path

HERE = Path(__file__).resolve().parent
Row = tuple[str, str, object]  # OID, snmprec type tag, value


def system(descr: str, oid: str, name: str) -> list[Row]:
    return [("1.3.6.1.2.1.1.1.0", "4", descr), ("1.3.6.1.2.1.1.2.0", "6", oid),
            ("1.3.6.1.2.1.1.3.0", "67", 8640000), ("1.3.6.1.2.1.1.5.0", "4", name)]  # fmt: skip


def interfaces(ifs: Iterable[tuple[int, str, int, int]]) -> list[Row]:
    """(ifIndex, name, ifType, ifOperStatus): ifDescr, ifType, ifAdminStatus, ifOperStatus,
    ifName, ifHCIn/OutOctets."""
    rows: list[Row] = []
    for index, name, if_type, oper in ifs:
        rows += [(f"1.3.6.1.2.1.2.2.1.2.{index}", "4", name),
                 (f"1.3.6.1.2.1.2.2.1.3.{index}", "2", if_type),
                 (f"1.3.6.1.2.1.2.2.1.7.{index}", "2", 1),
                 (f"1.3.6.1.2.1.2.2.1.8.{index}", "2", oper),
                 (f"1.3.6.1.2.1.31.1.1.1.1.{index}", "4", name),
                 (f"1.3.6.1.2.1.31.1.1.1.6.{index}", "70", 1000 * index),
                 (f"1.3.6.1.2.1.31.1.1.1.10.{index}", "70", 2000 * index)]  # fmt: skip
    return rows


def mac_sub(mac: str) -> str:
    return ".".join(str(int(b, 16)) for b in mac.split(":"))


def text_sub(text: str) -> str:
    return ".".join([str(len(text)), *(str(ord(c)) for c in text)])


def routeros7_wifi() -> list[Row]:
    """MIKROTIK-MIB mtxrWifiRegistrationTable (14988.1.1.21.4.1, index MAC + ifIndex) and
    mtxrWifiInterfaces (14988.1.1.21.5.1, index ifIndex) of a RouterOS 7 `wifi` package AP."""
    rows = system("RouterOS hAP ax2", "1.3.6.1.4.1.14988.1", "kantor-desa-ap")
    rows += interfaces([(1, "ether1", 6, 1), (2, "wifi1", 71, 1), (3, "wifi2", 71, 1),
                        (4, "wifi3", 71, 1)])  # fmt: skip
    wifi = [(2, "wifi1", "DesaWiFi", "2437"), (3, "wifi2", "DesaWiFi", "5180"),
            (4, "wifi3", "DesaWiFi-Tamu", "5180")]  # fmt: skip
    base = "1.3.6.1.4.1.14988.1.1.21.5.1"
    for index, name, ssid, freq in wifi:
        rows += [(f"{base}.2.{index}", "4", name), (f"{base}.3.{index}", "4", ssid),
                 (f"{base}.4.{index}", "4", freq)]  # fmt: skip
    stations = [("a4:5e:60:11:22:01", 2, "DesaWiFi", -58, "2ghz-ax"),
                ("a4:5e:60:11:22:02", 2, "DesaWiFi", -71, "2ghz-n"),
                ("a4:5e:60:11:22:03", 2, "DesaWiFi", -80, "2ghz-ax"),
                ("f0:18:98:aa:bb:01", 3, "DesaWiFi", -49, "5ghz-ax"),
                ("f0:18:98:aa:bb:02", 3, "DesaWiFi", -66, "5ghz-ac"),
                ("3c:22:fb:00:00:01", 4, "DesaWiFi-Tamu", -62, "5ghz-ax")]  # fmt: skip
    base = "1.3.6.1.4.1.14988.1.1.21.4.1"
    for mac, index, ssid, signal, band in stations:
        idx = f"{mac_sub(mac)}.{index}"
        rows += [(f"{base}.3.{idx}", "4", ssid), (f"{base}.6.{idx}", "2", signal),
                 (f"{base}.8.{idx}", "4", band)]  # fmt: skip
    return rows


def unifi() -> list[Row]:
    """UBNT-UniFi-MIB unifiRadioTable (41112.1.6.1.1.1) and unifiVapTable (41112.1.6.1.2.1) of a
    UAP-AC-Lite: radios wifi0 (ng) and wifi1 (na), VAPs ath0/ath2 on 2.4 GHz, ath1 on 5 GHz."""
    rows = system("Linux 3.3.8 #1 Sat Jan 1 UAP-AC-Lite 4.3.28", "1.3.6.1.4.1.10002.1", "uap-balai")
    rows += interfaces([(1, "lo", 24, 1), (2, "eth0", 6, 1), (3, "wifi0", 6, 1),
                        (4, "wifi1", 6, 2), (5, "ath0", 6, 1), (6, "ath1", 6, 2),
                        (7, "ath2", 6, 1)])  # fmt: skip
    base = "1.3.6.1.4.1.41112.1.6.1.1.1"
    for index, name, radio, cu in ((1, "wifi0", "ng", 35), (2, "wifi1", "na", 12)):
        rows += [(f"{base}.2.{index}", "4", name), (f"{base}.3.{index}", "4", radio),
                 (f"{base}.6.{index}", "2", cu)]  # fmt: skip
    base = "1.3.6.1.4.1.41112.1.6.1.2.1"
    vaps = [(1, 950, 6, "DesaWiFi", "ath0", 7, "ng", 20),
            (2, 0, 36, "DesaWiFi", "ath1", 0, "na", 17),
            (3, 870, 6, "Desa-Tamu", "ath2", 2, "ng", 20)]  # fmt: skip
    for index, ccq, channel, ssid, name, stations, radio, power in vaps:
        rows += [(f"{base}.3.{index}", "2", ccq), (f"{base}.4.{index}", "2", channel),
                 (f"{base}.6.{index}", "4", ssid), (f"{base}.7.{index}", "4", name),
                 (f"{base}.8.{index}", "2", stations), (f"{base}.9.{index}", "4", radio),
                 (f"{base}.21.{index}", "2", power)]  # fmt: skip
    return rows


def ruckus_sz() -> list[Row]:
    """RUCKUS-SZ-WLAN-MIB ruckusSZWLANTable (25053.1.4.2.1.1.1.2.1) and ruckusSZAPTable
    (25053.1.4.2.1.1.2.2.1, MAC index length-prefixed as the real SCG sends it)."""
    rows = system("SmartZone 100", "1.3.6.1.4.1.25053.3.1.11.1", "sz100-kabupaten")
    rows += interfaces([(1, "eth0", 6, 1)])
    base = "1.3.6.1.4.1.25053.1.4.2.1.1.1.2.1"
    for index, ssid, sta in ((1, "DesaWiFi", 12), (2, "DesaWiFi", 3), (3, "Desa-Tamu", 5)):
        rows += [(f"{base}.1.{index}", "4", ssid), (f"{base}.12.{index}", "66", sta)]
    base = "1.3.6.1.4.1.25053.1.4.2.1.1.2.2.1"
    aps = [("2c:c5:d3:00:10:01", "desa-sukamaju-ap1", 9, "Connect"),
           ("2c:c5:d3:00:10:02", "desa-sukamaju-ap2", 11, "Connect"),
           ("2c:c5:d3:00:10:03", "desa-tamansari-ap1", 0, "Disconnect")]  # fmt: skip
    for mac, name, sta, conn in aps:
        idx = f"6.{mac_sub(mac)}"
        rows += [(f"{base}.5.{idx}", "4", name), (f"{base}.15.{idx}", "66", sta),
                 (f"{base}.16.{idx}", "4", conn)]  # fmt: skip
    return rows


def ruckus_zd() -> list[Row]:
    """RUCKUS-ZD-WLAN-MIB ruckusZDWLANTable (25053.1.2.2.1.1.1.1.1), ruckusZDWLANAPTable
    (.2.1.1, index MAC) and ruckusZDWLANAPRadioStatsTable (.2.2.1, index MAC + radio)."""
    rows = system("ZoneDirector 1200", "1.3.6.1.4.1.25053.3.1.5.15", "zd-kecamatan")
    rows += interfaces([(1, "eth0", 6, 1)])
    base = "1.3.6.1.4.1.25053.1.2.2.1.1.1.1.1"
    for index, ssid, sta in ((1, "DesaWiFi", 14), (2, "Desa-Tamu", 4)):
        rows += [(f"{base}.1.{index}", "4", ssid), (f"{base}.12.{index}", "66", sta)]
    aps = [("58:b6:33:00:20:01", "balai-desa", 1, 12), ("58:b6:33:00:20:02", "posyandu", 1, 6),
           ("58:b6:33:00:20:03", "masjid", 0, 0)]  # fmt: skip
    base = "1.3.6.1.4.1.25053.1.2.2.1.1.2.1.1"
    for mac, name, status, sta in aps:
        idx = mac_sub(mac)
        rows += [(f"{base}.2.{idx}", "4", name), (f"{base}.3.{idx}", "2", status),
                 (f"{base}.15.{idx}", "66", sta)]  # fmt: skip
    radios = [
        ("58:b6:33:00:20:01", 0, 2, 6, 8, 41),
        ("58:b6:33:00:20:01", 1, 4, 36, 4, 9),
        ("58:b6:33:00:20:02", 0, 2, 11, 6, 55),
        ("58:b6:33:00:20:02", 1, 3, 149, 0, 3),
    ]
    base = "1.3.6.1.4.1.25053.1.2.2.1.1.2.2.1"
    for mac, radio, kind, channel, sta, util in radios:
        idx = f"{mac_sub(mac)}.{radio}"
        rows += [(f"{base}.3.{idx}", "2", kind), (f"{base}.4.{idx}", "66", channel),
                 (f"{base}.8.{idx}", "66", sta), (f"{base}.40.{idx}", "66", util)]  # fmt: skip
    return rows


def zte_onu() -> list[Row]:
    """ZTE C320 ONU objects (see zte-c320.yaml): ranging 3902.1012.3.11.4.1.2, phase state
    3902.1012.3.28.2.1.4 (0-based, working(3)), last down cause .7, ONU rx 3902.1012.3.50.12.1.1.10
    (raw × 0.002 − 30, 65535 = none), OLT rx zxAnPonRxOpticalPower 3902.1082.500.1.2.4.2.1.2."""
    rows = system("C320 Version V2.1.0 Software, Copyright (c) by ZTE Corporation Compiled",
                  "1.3.6.1.4.1.3902.1082.1001.320.2.1", "olt-genteng")  # fmt: skip
    pon = 268501248  # gpon 1/1/1 (zxGponOltIfIndex)
    rows += interfaces([(pon, "gpon_1/1/1", 250, 1)])
    onus = [  # onu id, distance m, phase, last down cause, onu rx raw, olt rx 0.001 dBm
        (1, 1520, 3, 0, 4750, -23500),  # working, -20.5 dBm
        (2, 2210, 1, 1, 65535, -80000),  # LOS: the fibre is cut
        (3, 880, 4, 9, 65535, -80000),  # dying gasp: the village lost power
        (4, 4010, 3, 0, 950, -29900),  # working, but -28.1 dBm: below class B+ -27 dBm
    ]
    for onu, dist, phase, cause, rx, olt_rx in onus:
        rows += [(f"1.3.6.1.4.1.3902.1012.3.11.4.1.2.{pon}.{onu}", "2", dist),
                 (f"1.3.6.1.4.1.3902.1012.3.28.2.1.4.{pon}.{onu}", "2", phase),
                 (f"1.3.6.1.4.1.3902.1012.3.28.2.1.7.{pon}.{onu}", "2", cause),
                 (f"1.3.6.1.4.1.3902.1012.3.50.12.1.1.10.{pon}.{onu}.1", "2", rx),
                 (f"1.3.6.1.4.1.3902.1082.500.1.2.4.2.1.2.{pon}.{onu}", "2", olt_rx)]  # fmt: skip
    return rows


def huawei_ont() -> list[Row]:
    """HUAWEI-XPON-MIB ONT tables of an MA5800 (index PON ifIndex + ONT id): hwGponDeviceOntTable
    43.1 {9 Despt}, hwGponDeviceOntControlInfoTable 46.1 {15 RunStatus, 20 Ranging,
    24 LastDownCause}, hwGponDeviceOntOpticalDdmInfoTable 51.1 {4 RxPower, 6 OltRxOntPower}."""
    rows = system("Huawei Integrated Access Software", "1.3.6.1.4.1.2011.2.248", "olt-rogojampi")
    pon = 4194312448  # GPON 0/1/0
    rows += interfaces([(pon, "GPON 0/1/0", 250, 1)])
    b = "1.3.6.1.4.1.2011.6.128.1.1.2"
    rows += [(f"{b}.21.1.16.{pon}", "2", 3), (f"{b}.23.1.4.{pon}", "2", 712),
             (f"{b}.23.1.5.{pon}", "2", 2147483647)]  # fmt: skip
    onts = [  # ont id, name, run status, ranging m, last down cause, rx, olt rx (0.01 dBm)
        (0, "desa-kaligondo", 1, 3120, 13, -2150, -2470),
        (1, "desa-gitik", 2, 2780, 1, 2147483647, 2147483647),  # LOS
        (2, "desa-bomo", 2, 1950, 13, 2147483647, 2147483647),  # dying gasp
    ]
    for ont, name, run, rng, cause, rx, olt_rx in onts:
        rows += [
            (f"{b}.43.1.9.{pon}.{ont}", "4", name),
            (f"{b}.46.1.15.{pon}.{ont}", "2", run),
            (f"{b}.46.1.20.{pon}.{ont}", "2", rng),
            (f"{b}.46.1.24.{pon}.{ont}", "2", cause),
            (f"{b}.51.1.4.{pon}.{ont}", "2", rx),
            (f"{b}.51.1.6.{pon}.{ont}", "2", olt_rx),
        ]
    return rows


def vsol_onu() -> list[Row]:
    """V1600D onuAuthInfo2Table (37950.1.1.5.12.1.25.1, index PON + ONU) {4 lineStatus2, 9 name,
    15 DeregReason wire-down(0) power-off(1), 17 Distance} and ONU optics (…12.2.1.8.1 {6, 7})."""
    rows = system("V1600G1", "1.3.6.1.4.1.37950.1.1.5.10.14.1", "olt-srono")
    rows += interfaces([(1, "GPON0/1", 6, 1)])
    onus = [(1, 1, "desa-sumbersari", 1, 0, 1840, "0.0072 mW (-21.43 dBm)"),
            (1, 2, "desa-wonosobo", 0, 0, 2530, ""),
            (1, 3, "desa-kebaman", 0, 1, 760, "")]  # fmt: skip
    base = "1.3.6.1.4.1.37950.1.1.5.12.1.25.1"
    for pon, onu, name, status, reason, dist, _ in onus:
        rows += [
            (f"{base}.4.{pon}.{onu}", "2", status),
            (f"{base}.9.{pon}.{onu}", "4", name),
            (f"{base}.15.{pon}.{onu}", "2", reason),
            (f"{base}.17.{pon}.{onu}", "66", dist),
        ]
    base = "1.3.6.1.4.1.37950.1.1.5.12.2.1.8.1"
    for pon, onu, *_, rx in onus:
        if rx:
            rows += [(f"{base}.6.{pon}.{onu}", "4", "2.2387 mW (3.50 dBm)"),
                     (f"{base}.7.{pon}.{onu}", "4", rx)]  # fmt: skip
    return rows


def bdcom_olt() -> list[Row]:
    """BDCOM GP3600 (NMS-GPON-MIB under 3320): gponOltPonPortConfigTable 3320.10.2.1.1 {4},
    gponOnuInfoTable 3320.10.3.1.1 {4 SN, 8 state, 33 distance, 35 reason}, gponOnuOpticalPower
    3320.10.3.4.1 {2 rx, 3 tx}; nmscardTemperature 3320.3.6.10.1.13; fans 3320.9.187.4.1.{2,3}."""
    rows = system("BDCOM(tm) GP3600-08 Software, Version 10.1.0F Build 91051",
                  "1.3.6.1.4.1.3320.1.321.0", "olt-muncar")  # fmt: skip
    rows += interfaces([(11, "GPON0/1", 250, 1), (21, "GPON0/1:1", 250, 1),
                        (22, "GPON0/1:2", 250, 2)])  # fmt: skip
    rows += [("1.3.6.1.4.1.3320.10.2.1.1.4.11", "2", 1)]
    base = "1.3.6.1.4.1.3320.10.3.1.1"
    for onu, sn, state, dist, reason in ((21, "BDCM1A2B3C4D", 1, 2140, 0),
                                         (22, "BDCM1A2B3C4E", 2, 3310, 2)):  # fmt: skip
        rows += [
            (f"{base}.4.{onu}", "4", sn),
            (f"{base}.8.{onu}", "2", state),
            (f"{base}.33.{onu}", "2", dist),
            (f"{base}.35.{onu}", "2", reason),
        ]
    rows += [
        ("1.3.6.1.4.1.3320.10.3.4.1.2.21", "2", -215),
        ("1.3.6.1.4.1.3320.10.3.4.1.3.21", "2", 23),
    ]
    rows += [("1.3.6.1.4.1.3320.3.6.10.1.13.1", "2", 41)]
    rows += [
        ("1.3.6.1.4.1.3320.9.187.4.1.2.1", "2", 1),
        ("1.3.6.1.4.1.3320.9.187.4.1.2.2", "2", 2),
        ("1.3.6.1.4.1.3320.9.187.4.1.3.1", "2", 4200),
        ("1.3.6.1.4.1.3320.9.187.4.1.3.2", "2", 0),
    ]
    return rows


DEVICES = {
    "synthetic_routeros7_wifi": routeros7_wifi, "synthetic_unifi_uap": unifi,
    "synthetic_ruckus_sz": ruckus_sz, "synthetic_ruckus_zd": ruckus_zd,
    "synthetic_zte_c320_onu": zte_onu, "synthetic_huawei_ma5800_ont": huawei_ont,
    "synthetic_vsol_onu": vsol_onu, "synthetic_bdcom_gpon": bdcom_olt,
}  # fmt: skip


def write(name: str, rows: list[Row]) -> None:
    rows = sorted(rows, key=lambda r: [int(x) for x in r[0].split(".")])
    lines = ["# SYNTHETIC recording written for netwatch from the MIB definitions (see README.md);"
             " not captured from a device"]  # fmt: skip
    for oid, tag, value in rows:
        lines.append(f"{oid}|{tag}|{value}")
    (HERE / f"{name}.snmprec").write_text("\n".join(lines) + "\n", encoding="utf-8")


if __name__ == "__main__":
    for device_name, build in DEVICES.items():
        write(device_name, build())
        print(device_name)
