"""A synthetic inventory: districts with a POP router, villages with a router and APs."""

from __future__ import annotations

from dataclasses import replace

from netwatch.core.model import (
    AlertingSettings,
    Device,
    District,
    Inventory,
    PingSettings,
    Role,
    Settings,
    Village,
    VillageKind,
)
from netwatch.core.notifications import NotificationSettings


def build(
    districts: int = 1,
    villages: int = 3,
    aps: int = 1,
    pop: bool = True,
    settings: AlertingSettings | None = None,
    address_of=None,
    ping: PingSettings | None = None,
    notifications: NotificationSettings | None = None,
) -> Inventory:
    """Inventory with codes 35.10.DD and 35.10.DD.20VV; devices pop-D, rtr-D-V, ap-D-V-A."""
    devices: dict[str, Device] = {}
    dmap: dict[str, District] = {}
    vmap: dict[str, Village] = {}
    n = 0

    def addr() -> str:
        nonlocal n
        n += 1
        return address_of(n) if address_of else f"127.77.{n // 250}.{n % 250 + 1}"

    for di in range(1, districts + 1):
        dcode = f"35.10.{di:02d}"
        pop_name = f"pop-{di}" if pop else None
        if pop_name:
            devices[pop_name] = Device(pop_name, Role.ROUTER, addr(), dcode, tags=("pop",))
        vcodes = []
        for vi in range(1, villages + 1):
            vcode = f"{dcode}.20{vi:02d}"
            vcodes.append(vcode)
            rtr = f"rtr-{di}-{vi}"
            devices[rtr] = Device(rtr, Role.ROUTER, addr(), dcode, vcode, parent=pop_name)
            names = [rtr]
            for ai in range(1, aps + 1):
                ap = f"ap-{di}-{vi}-{ai}"
                devices[ap] = Device(ap, Role.AP, addr(), dcode, vcode, parent=rtr)
                names.append(ap)
            vmap[vcode] = Village(
                vcode, f"Desa {di}-{vi}", VillageKind.DESA, dcode, devices=tuple(names)
            )
        dmap[dcode] = District(
            dcode, f"Kecamatan {di}", tuple(vcodes), (pop_name,) if pop_name else ()
        )
    base = Settings()
    s = replace(
        base,
        alerting=settings or AlertingSettings(),
        ping=ping or base.ping,
        notifications=notifications or base.notifications,
    )
    return Inventory("35.10", "Banyuwangi", s, dmap, vmap, devices, {})
