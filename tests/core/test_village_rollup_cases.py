"""The village rollup (State.village_status) case by case: the rule of docs/architecture.md
("up: router and every AP serve; degraded: router and some APs, or a service fails; down:
the router does not serve, or no AP does"), each expected status worked out by hand."""

from __future__ import annotations

import pytest

from netwatch.core.model import Device, Role
from netwatch.core.plugins import Health, Verdict
from netwatch.core.state import State, VillageStatus
from tests.core.inventories import make_inventory

V = "35.10.07.2001"
OK, IMP, NS, DOWN = Health.OK, Health.IMPAIRED, Health.NOT_SERVING, Health.DOWN
U, G, D, X = VillageStatus.UP, VillageStatus.DEGRADED, VillageStatus.DOWN, VillageStatus.UNKNOWN


class _Part:
    """A collector's part whose verdict is fixed (None: it has not judged the device)."""

    version = 0

    def __init__(self, health: Health | None, reachability: bool = True) -> None:
        self.health, self.reachability = health, reachability

    def verdict(self, device: Device) -> Verdict | None:
        if self.health is None:
            return None
        return Verdict(self.health, "", 0.0, reachability=self.reachability)


def _state(*roles: Role) -> State:
    devs = [(f"d{k}", role, f"127.0.7.{k + 1}") for k, role in enumerate(roles)]
    return State(make_inventory({V: devs}))


def _status(roles: tuple[Role, ...], healths: tuple[Health | None, ...]) -> VillageStatus:
    s = _state(*roles)
    for k, health in enumerate(healths):
        s.devices[f"d{k}"].parts["ping"] = _Part(health)  # type: ignore[assignment]
    return s.village_status(V)


R, A, OT = Role.ROUTER, Role.AP, Role.OTHER

CASES = [
    # (roles, each device's health, the status by the rule)
    ((R, A, A), (OK, OK, OK), U),  # router and every AP serve
    ((R, A, A), (OK, OK, DOWN), G),  # router and one of two APs
    ((R, A, A), (OK, NS, OK), G),  # an AP with every radio down serves nobody
    ((R, A, A), (OK, DOWN, NS), D),  # router answers, no AP serves
    ((R, A, A), (DOWN, OK, OK), D),  # router down
    ((R, A, A), (NS, OK, OK), D),  # a router that does not serve is down for the rollup
    ((R, A, A), (IMP, OK, OK), G),  # a service of the router fails: degraded
    ((R, A, A), (OK, IMP, OK), G),  # an impaired AP still serves, the village is degraded
    ((R, A, A), (OK, IMP, DOWN), G),  # one AP serves (impaired), one does not
    ((R, A, A), (OK, OK, None), X),  # an AP not judged yet: unknown
    ((R, A, A), (None, DOWN, DOWN), X),  # the router not judged yet: unknown, not down
    ((R, A, A), (DOWN, None, OK), X),  # undecided wins over a down router
    ((R, A, OT), (OK, OK, IMP), G),  # another device's failing service degrades the village
    ((R, A, OT), (OK, OK, DOWN), U),  # another device down does not count
    ((R, A, OT), (OK, OK, None), U),  # nor does one not judged
    ((R,), (OK,), U),  # a router alone: every AP (none) serves
    ((R,), (IMP,), G),
    ((A,), (DOWN,), D),  # an AP alone that does not serve
    ((A, A), (OK, DOWN), G),  # no router: the APs decide
    ((OT,), (OK,), X),  # neither router nor AP: nothing to judge
    ((), (), X),  # an empty village
]


@pytest.mark.parametrize(("roles", "healths", "expected"), CASES)
def test_the_rollup_case_by_case(
    roles: tuple[Role, ...], healths: tuple[Health | None, ...], expected: VillageStatus
) -> None:
    assert _status(roles, healths) is expected


def test_a_device_missing_from_state_leaves_the_village_unknown() -> None:
    s = _state(R, A)
    for name in ("d0", "d1"):
        s.devices[name].parts["ping"] = _Part(OK)  # type: ignore[assignment]
    assert s.village_status(V) is U
    del s.devices["d1"]  # (as between a reload's inventory and its state)
    assert s.village_status(V) is X
    assert s.village_status("35.10.07.9999") is X  # no such village


def test_a_verdict_without_reachability_alone_is_not_a_judgement() -> None:
    s = _state(R, A)
    s.devices["d0"].parts["ping"] = _Part(OK)  # type: ignore[assignment]
    s.devices["d1"].parts["svc"] = _Part(IMP, reachability=False)  # type: ignore[assignment]
    assert s.village_status(V) is X  # the AP's reachability not judged yet
    s.devices["d1"].parts["ping"] = _Part(OK)  # type: ignore[assignment]
    assert s.village_status(V) is G  # it answers, a service of it fails
