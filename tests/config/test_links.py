"""Village `onu:`/`uplink:` and AP `controller:`: built as written, every mistake at file:line."""

from __future__ import annotations

import pytest

from netwatch.config import ConfigError, load_inventory
from netwatch.core.model import ControllerLink, OnuLink, PortLink
from tests.helpers.configs import BASE, line_of, write

POP = "        - {name: pop-1, role: router, address: 127.1.0.1, snmp: demo-v2}"
OLT = "        - {name: olt-1, role: olt, address: 127.1.0.2, snmp: demo-v2}"
WLC = "        - {name: wlc-1, role: other, address: 127.1.0.3, snmp: demo-v2}"
AP = "            - {name: sarongan-ap-1, role: ap, address: 127.1.1.2, parent: sarongan-router}"
V = "regency.districts[0].villages[0]"


def config(village: str = "", ap: str = "") -> str:
    """BASE with an OLT and a controller beside the POP, lines under the village, AP keys."""
    text = BASE.replace(POP, f"{POP}\n{OLT}\n{WLC}")
    if village:
        text = text.replace("          lon: 113.904168\n", "          lon: 113.904168\n" + village)
    if ap:
        linked = AP.replace("parent: sarongan-router}", f"parent: sarongan-router,{ap}}}")
        text = text.replace(AP, linked)
    return text


def test_links_are_built_as_written(tmp_path):
    text = config(
        '          onu: {olt: olt-1, pon: "0/1/3", id: 5, rx_min_dbm: -26}\n'
        "          uplink: {device: pop-1, interface: ether5}\n",
        " controller: {device: wlc-1, ap: balai-desa}",
    )
    inv = load_inventory(write(tmp_path, text))
    village = inv.villages["35.10.01.2001"]
    assert village.onu == OnuLink("olt-1", pon="0/1/3", id=5, rx_min_dbm=-26.0)
    assert village.uplink == PortLink("pop-1", "ether5")
    assert village.links() == (village.onu, village.uplink)
    assert inv.devices["sarongan-ap-1"].controller == ControllerLink("wlc-1", ap="balai-desa")
    assert inv.settings.fibre.onu_rx_min_dbm == -27.0  # GPON class B+ (ITU-T G.984.2)
    assert inv.settings.fibre.olt_rx_min_dbm == -28.0


def test_an_onu_named_by_serial_or_description(tmp_path):
    for onu, want in (
        ("{olt: olt-1, serial: ZTEG1A2B3C4D}", OnuLink("olt-1", serial="ZTEG1A2B3C4D")),
        ("{olt: olt-1, name: desa-sarongan}", OnuLink("olt-1", name="desa-sarongan")),
    ):
        inv = load_inventory(write(tmp_path, config(f"          onu: {onu}\n")))
        assert inv.villages["35.10.01.2001"].onu == want


CASES = [
    ("unknown-olt", "          onu: {olt: olt-9, pon: \"0/1/3\", id: 5}  #!\n", "",
     f"{V}.onu.olt", "unknown OLT device 'olt-9'"),
    ("olt-not-an-olt", "          onu: {olt: pop-1, pon: \"0/1/3\", id: 5}  #!\n", "",
     f"{V}.onu.olt", "has role router, not olt"),
    ("two-ways", "          onu: {olt: olt-1, serial: X1, name: desa}  #!\n", "",
     f"{V}.onu", "name the ONU one way"),
    ("pon-without-id", "          onu: {olt: olt-1, pon: \"0/1/3\"}  #!\n", "",
     f"{V}.onu", "pon and id go together"),
    ("bad-pon", "          onu: {olt: olt-1, pon: \"gpon 1\", id: 2}  #!\n", "",
     f"{V}.onu.pon", "is not a PON port such as 0/1/3"),
    ("pon-unquoted", "          onu: {olt: olt-1, pon: 3, id: 2}  #!\n", "",
     f"{V}.onu.pon", "must be a string"),
    ("threshold-range", "          onu: {olt: olt-1, serial: X1, rx_min_dbm: -90}  #!\n", "",
     f"{V}.onu.rx_min_dbm", "-90 must be >= -60"),
    ("unknown-onu-key", "          onu: {olt: olt-1, serial: X1, port: 3}  #!\n", "",
     f"{V}.onu", "unknown key 'port'"),
    ("uplink-unknown", "          uplink: {device: pop-9, interface: ether5}  #!\n", "",
     f"{V}.uplink.device", "unknown uplink device 'pop-9'"),
    ("uplink-no-interface", "          uplink: {device: pop-1}  #!\n", "",
     f"{V}.uplink", "missing required key 'interface'"),
    ("controller-unknown", "", " controller: {device: wlc-9, ap: balai}}  #!",
     f"{V}.devices[1].controller.device", "unknown controller device 'wlc-9'"),
    ("controller-two-ways", "",
     " controller: {device: wlc-1, ap: balai, ap_mac: 'aa:bb:cc:dd:ee:ff'}}  #!",
     f"{V}.devices[1].controller", "name the AP one way"),
]  # fmt: skip


@pytest.mark.parametrize("case", CASES, ids=lambda c: c[0])
def test_mistakes_name_file_and_line(tmp_path, case):
    _id, village, ap, path, message = case
    text = config(village, ap.removesuffix("}  #!") if ap else "")
    if ap:  # the marker goes on the AP's line
        text = text.replace("sarongan-router," + ap.removesuffix("}  #!") + "}",
                            "sarongan-router," + ap.removesuffix("}  #!") + "}  #!")  # fmt: skip
    cfg = write(tmp_path, text)
    with pytest.raises(ConfigError) as err:
        load_inventory(cfg)
    line = line_of(text, "#!")
    found = [i for i in err.value.issues if i.path == path and message in i.message]
    assert found, [(i.path, i.line, i.message) for i in err.value.issues]
    assert found[0].file == str(cfg) and found[0].line == line


def test_two_villages_cannot_share_an_onu(tmp_path):
    second = """\
        - code: "35.10.01.2002"
          name: Pesanggaran
          onu: {olt: olt-1, pon: "0/1/3", id: 5}  #!
          devices:
            - {name: pesanggaran-router, role: router, address: 127.1.2.1, parent: pop-1}
"""
    text = config('          onu: {olt: olt-1, pon: "0/1/3", id: 5}\n') + second
    cfg = write(tmp_path, text)
    with pytest.raises(ConfigError) as err:
        load_inventory(cfg)
    (issue,) = [i for i in err.value.issues if "already the link" in i.message]
    assert issue.line == line_of(text, "#!")
    assert "0/1/3:5 on olt-1 is already the link of village 35.10.01.2001" in issue.message


def test_only_an_ap_has_a_controller(tmp_path):
    router = "- {name: sarongan-router, role: router, address: 127.1.1.1, parent: pop-1}"
    linked = "parent: pop-1, controller: {device: wlc-1, ap: x}}  #!"
    text = config().replace(router, router.replace("parent: pop-1}", linked))
    cfg = write(tmp_path, text)
    with pytest.raises(ConfigError) as err:
        load_inventory(cfg)
    (issue,) = [i for i in err.value.issues if "only an AP" in i.message]
    assert issue.line == line_of(text, "#!")
