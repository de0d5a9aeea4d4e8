"""Profile validation errors name file:line; conversions against hand-computed values; rollup."""

from __future__ import annotations

import math

import pytest

from netwatch.collectors.icmp.observation import PingObservation, PingResult
from netwatch.collectors.snmp import normalize
from netwatch.collectors.snmp.observation import SnmpInterface, SnmpObservation
from netwatch.collectors.snmp.profile_load import load_profiles, parse_profile
from netwatch.collectors.snmp.profiles import ProfileError
from netwatch.collectors.snmp.types import Kind, Value, parse_oid
from netwatch.core.model import Inventory, Role, Settings, Village, VillageKind
from netwatch.core.state import State, VillageStatus
from tests.collectors.snmp.support import device

BAD_CONVERSION = """name: broken
walk:
  - oid: 1.3.6.1.4.1.9999.1
    columns:
      - {col: 2, metric: optical_rx_dbm, conversion: furlongs}
"""


def test_unknown_conversion_names_file_and_line():
    with pytest.raises(ProfileError, match=r"^vendor/broken\.yaml:5: conversion 'furlongs'"):
        parse_profile(BAD_CONVERSION, "vendor/broken.yaml")


def test_unknown_key_and_bad_oid_name_the_line():
    with pytest.raises(ProfileError, match=r"x\.yaml:2: .*unknown key 'wlak'"):
        parse_profile("name: x\nwlak: []\n", "x.yaml")
    with pytest.raises(ProfileError, match=r"x\.yaml:3: oid: '1\.3\.six' is not a numeric OID"):
        parse_profile("name: x\nget:\n  - {oid: 1.3.six, metric: m}\n", "x.yaml")


def test_unknown_base_and_lookup_are_rejected(tmp_path):
    (tmp_path / "a.yaml").write_text("name: a\nextends: [nowhere]\n")
    with pytest.raises(ProfileError, match="unknown profile 'nowhere'"):
        load_profiles([tmp_path])
    (tmp_path / "a.yaml").write_text(
        "name: a\nextends: [if-mib]\nwalk:\n  - oid: 1.3.6.1.4.1.1.1\n"
        "    index: [{label: x, lookup: nope.name}]\n    columns: [{col: 2, metric: m}]\n"
    )
    with pytest.raises(ProfileError, match=r"a\.yaml:4: lookup 'nope\.name'"):
        load_profiles([tmp_path])


def test_most_specific_match_wins():
    pset = load_profiles()
    names = [p.name for p in pset.candidates(parse_oid("1.3.6.1.4.1.41112.1.5"), "EdgeOS v4")]
    # The OLT needs its ONU table (a probe); the EdgeOS sysDescr rule comes next; then generic.
    assert names[:2] == ["ubiquiti-ufiber-olt", "ubiquiti-edgeos"] and names[-1] == "generic"
    swos = pset.candidates(parse_oid("1.3.6.1.4.1.14988.2"), "CSS106 SwOS v2.11")
    assert swos[0].name == "mikrotik-swos"
    assert pset.candidates(parse_oid("1.3.6.1.4.1.14988.1"), "router")[0].name == (
        "mikrotik-routeros"
    )


def test_conversions_against_independent_arithmetic():
    assert normalize.convert(Value(Kind.INTEGER, 536), "uw_to_dbm") == pytest.approx(
        10 * math.log10(0.536)
    )
    assert normalize.convert(Value(Kind.INTEGER, -5673), "mdbm_to_dbm") == -5.673
    assert normalize.convert(Value(Kind.INTEGER, 2147483647), "centi_dbm",
                             sentinels=frozenset({2147483647})) is None  # fmt: skip
    assert normalize.convert(Value(Kind.OCTET_STRING, b"0.03 mW (-14.61 dBm)"),
                             "mw_string_to_dbm") == -14.61  # fmt: skip
    assert normalize.convert(Value(Kind.OCTET_STRING, b"2.00 mW"), "mw_string_to_dbm") == (
        pytest.approx(10 * math.log10(2.0))
    )
    assert normalize.convert(Value(Kind.OCTET_STRING, b"6.56 dbm"), "dbm_string") == 6.56
    with pytest.raises(normalize.ConversionError):
        normalize.convert(Value(Kind.OCTET_STRING, b"N/A"), "dbm_string")
    assert normalize.convert(Value(Kind.INTEGER, -47), "cisco_sensor",
                             extra={"scale": 9, "precision": 1}) == pytest.approx(-4.7)  # fmt: skip


def village_state() -> State:
    router = device("r1", role=Role.ROUTER)
    ap = device("ap1", role=Role.AP)
    village = Village("35.10.07.2001", "Purwodadi", VillageKind.DESA, "35.10.07",
                      devices=("r1", "ap1"))  # fmt: skip
    inv = Inventory("35.10", "Banyuwangi", Settings(), {}, {village.code: village},
                    {"r1": router, "ap1": ap}, {})  # fmt: skip
    state = State(inv)
    for name in ("r1", "ap1"):
        res = PingResult(address="127.0.0.1", sent=1, received=1, rtts=[0.001])
        state.record(PingObservation(device=name, time=1.0, result=res))
    return state


def radio_obs(oper: int, t: float) -> SnmpObservation:
    return SnmpObservation(device="ap1", time=t, uptime_ticks=int(t * 100), interfaces=[
        SnmpInterface(index=1, name="ether1", oper_status=1, admin_status=1),
        SnmpInterface(index=2, name="wlan1", oper_status=oper, admin_status=1, radio=True),
    ])  # fmt: skip


def test_ap_answering_ping_with_radio_down_means_wifi_down():
    state = village_state()
    assert state.village_status("35.10.07.2001") is VillageStatus.UP
    state.record(radio_obs(oper=2, t=10.0))
    assert state.village_status("35.10.07.2001") is VillageStatus.DOWN
    state.record(radio_obs(oper=1, t=70.0))
    assert state.village_status("35.10.07.2001") is VillageStatus.UP
    state.record(SnmpObservation(device="ap1", time=130.0, error="timeout"))
    assert state.village_status("35.10.07.2001") is VillageStatus.UP  # SNMP silent: ping decides


def test_scale_then_offset():
    # ZTE ONU rx power: raw × 0.002 − 30 dBm (raw 7500 → -15 dBm), 65535 = no reading.
    sentinel = frozenset({65535.0})
    zte = normalize.convert(Value(Kind.INTEGER, 7500), scale=0.002, offset=-30, sentinels=sentinel)
    assert zte == pytest.approx(7500 * 0.002 - 30)
    assert normalize.convert(Value(Kind.INTEGER, 65535), scale=0.002, offset=-30,
                             sentinels=sentinel) is None  # fmt: skip


def test_a_radio_in_an_unclear_state_is_not_a_dead_ap():
    # ifOperStatus unknown(4)/dormant(5) (some drivers report no carrier) says nothing for sure.
    from netwatch.collectors.snmp.state import SnmpDeviceState

    def state_of(*opers: int) -> bool | None:
        st = SnmpDeviceState()
        ifs = [SnmpInterface(index=i, name=f"ra{i}", oper_status=o, admin_status=1, radio=True)
               for i, o in enumerate(opers)]  # fmt: skip
        st.apply(SnmpObservation(device="ap1", time=1.0, interfaces=ifs))
        return st.wifi_down()

    assert state_of(2, 4) is None and state_of(5) is None
    assert state_of(2, 7) is True and state_of(2, 6) is True
    assert state_of(2, 1) is False


def test_a_stack_follows_profiles_replaced_or_removed_after_it_was_resolved():
    # Stacks are kept per name between polls; a reload that replaces or drops a profile of a
    # stack must be seen at the next poll, not the stack as it was.
    from netwatch.collectors.snmp.profiles import Profile, ProfileSet

    base, top = Profile("base"), Profile("top", extends=("base",))
    pset = ProfileSet({"base": base, "top": top})
    assert pset.stack("top") == [base, top]
    assert pset.stack("top") == [base, top]  # asked again: the same, bases first
    new_base = Profile("base", description="reloaded", extends=("root",))
    root = Profile("root")
    pset.profiles.update({"base": new_base, "root": root})
    assert [p.description for p in pset.stack("top")] == ["", "reloaded", ""]
    assert [p.name for p in pset.stack("top")] == ["root", "base", "top"]
    del pset.profiles["root"]
    with pytest.raises(ProfileError, match="unknown profile 'root'"):
        pset.stack("top")


def test_rows_of_pivots_each_table_by_its_own_columns():
    # Two tables over the same entry OID with other columns (a reloaded profile's table):
    # each pivots its own walked columns, also after the other was pivoted.
    from netwatch.collectors.snmp.evaluate import rows_of
    from netwatch.collectors.snmp.profiles import Column, Table

    entry = (1, 3, 6, 1, 2, 1, 2, 2, 1)
    walked = {
        (*entry, 2): [((*entry, 2, 1), Value(Kind.OCTET_STRING, b"lo"))],
        (*entry, 8): [
            ((*entry, 8, 1), Value(Kind.INTEGER, 1)),
            ((*entry, 8, 2), Value(Kind.NO_SUCH_INSTANCE, None)),  # an exception: no row
        ],
    }
    descr = Table(entry, (Column(2, "label", "descr"),))
    oper = Table(entry, (Column(8, "gauge", "oper"),))
    for _ in range(2):
        assert rows_of(descr, walked) == {(1,): {2: Value(Kind.OCTET_STRING, b"lo")}}
        assert rows_of(oper, walked) == {(1,): {8: Value(Kind.INTEGER, 1)}}


def test_a_row_must_pass_its_column_filters_and_its_label_filters():
    # Column filters are tried before the row's labels are made, label filters after: a row
    # is kept only when it passes both kinds, as when every filter was tried after the labels.
    import re

    from netwatch.collectors.snmp.evaluate import Evaluator
    from netwatch.collectors.snmp.profiles import Column, Filter, IndexPart, Profile, Table

    entry = (1, 3, 6, 1, 4, 1, 9999, 1, 1)
    table = Table(
        entry,
        (Column(2, "label", "kind"), Column(3, "gauge", "used")),
        index=(IndexPart(label="slot"),),
        filters=(
            Filter(column=2, equals=("ram",)),
            Filter(label="slot", regex=re.compile("^[12]$")),
        ),
    )
    rows = {  # slot: (kind, used)
        1: (b"ram", 10),  # kept
        2: (b"disk", 20),  # dropped by the column filter
        3: (b"ram", 30),  # dropped by the label filter
    }
    walked = {
        (*entry, 2): [((*entry, 2, i), Value(Kind.OCTET_STRING, k)) for i, (k, _) in rows.items()],
        (*entry, 3): [((*entry, 3, i), Value(Kind.INTEGER, u)) for i, (_, u) in rows.items()],
    }
    obs = SnmpObservation(device="d", time=0.0)
    ev = Evaluator([Profile("t", walk=(table,))], obs)
    ev.tables(walked)
    assert [(s.metric, s.value, s.labels) for s in obs.samples] == [
        ("used", 10.0, (("kind", "ram"), ("slot", "1")))
    ]
