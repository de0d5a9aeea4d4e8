"""netwatch.core.link_facts.read: the facts of an SNMP poll that answered, and nothing from
another collector's observation (an echo-stream round of the same device)."""

from __future__ import annotations

from netwatch.collectors.icmp.observation import PingObservation, PingResult
from netwatch.collectors.snmp.observation import SnmpObservation, SnmpSample
from netwatch.core import link_facts as cf
from netwatch.core.model import Device, Role
from netwatch.core.state import State
from tests.helpers import regency

T = 1_700_000_000.0


def _state() -> tuple[State, Device]:
    inventory = regency.build(districts=1, villages=1, aps=1)
    ap = next(d for d in inventory.devices.values() if d.role is Role.AP)
    return State(inventory), ap


def _poll(name: str, clients: float, error: str | None = None) -> SnmpObservation:
    labels = (("scope", "device"),)
    return SnmpObservation(
        name, T, error=error, wifi_clients=[SnmpSample("wifi_clients", clients, labels)]
    )


def _round(name: str, address: str) -> PingObservation:
    rtts = [0.001, 0.002, 0.001, 0.001, 0.002]
    return PingObservation(name, T + 30, PingResult(address, 5, 5, rtts), 30.0, up=True)


def test_an_answered_poll_gives_its_families_and_an_echo_round_gives_none():
    state, ap = _state()
    poll = _poll(ap.name, 7)
    state.record(poll)
    ds = state.devices[ap.name]
    facts = cf.read(ds, poll)
    assert facts is not None
    assert facts.time == T
    assert cf.clients(facts) == 7  # the sample put in above
    # The device's echo round, recorded on top of the poll: its state now holds a ping part
    # too, and the round is no poll (the engine keeps the facts it had).
    ping = _round(ap.name, ap.address)
    state.record(ping)
    assert set(ds.parts) == {"snmp", "ping"}
    assert cf.read(ds, ping) is None
    # The poll's facts are still those of the state: read again after the round.
    again = cf.read(ds, poll)
    assert again is not None and cf.clients(again) == 7


def test_a_failed_poll_and_a_stranger_give_none():
    state, ap = _state()
    failed = _poll(ap.name, 3, error="timeout")
    state.record(failed)
    assert cf.read(state.devices[ap.name], failed) is None
    assert cf.read(state.devices[ap.name], object()) is None  # no collector registered it
    assert cf.read(object(), _poll(ap.name, 3)) is None  # not a device's state


def test_clients_by_scope_and_none_without_client_rows():
    def row(n: float, **labels: str) -> cf.Row:
        return cf.Row(n, labels)

    none = cf.DeviceFacts(T, {cf.OPER_UP: (row(1, interface="eth0"),)})
    assert cf.clients(none) is None and cf.clients(none, "ap-7") is None
    # A controller's rows per AP, and an AP's own per radio (2 + 5) and per band (8, so the
    # scope that counted shows: the first of CLIENT_SCOPES that is there, never a mix).
    controller = cf.DeviceFacts(T, {cf.CLIENTS: (row(4, scope="ap", ap="ap-7"),
                                                 row(6, scope="ap", ap="ap-8"))})  # fmt: skip
    assert cf.clients(controller, "ap-7") == 4 and cf.clients(controller, "ap-9") is None
    assert cf.clients(controller) is None  # not the controller's own clients
    own = cf.DeviceFacts(T, {cf.CLIENTS: (row(2, scope="radio"), row(5, scope="radio"),
                                          row(8, scope="band"))})  # fmt: skip
    assert cf.clients(own) == 7  # 2 + 5 by radio
