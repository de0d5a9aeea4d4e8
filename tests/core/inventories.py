"""Small in-memory inventories for tests of the core (no config file involved)."""

from __future__ import annotations

from netwatch.core.model import Device, District, Inventory, Role, Settings, Village, VillageKind


def make_inventory(
    villages: dict[str, list[tuple[str, Role, str]]],
    settings: Settings | None = None,
    district: str = "35.10.07",
) -> Inventory:
    """villages: code → [(device name, role, address)]; all in one district."""
    devices: dict[str, Device] = {}
    vmap: dict[str, Village] = {}
    for code, devs in villages.items():
        for name, role, address in devs:
            devices[name] = Device(
                name=name, role=role, address=address, district=district, village=code
            )
        vmap[code] = Village(
            code=code,
            name=f"Desa {code[-4:]}",
            kind=VillageKind.DESA,
            district=district,
            lat=-8.3,
            lon=114.2,
            devices=tuple(n for n, _, _ in devs),
        )
    return Inventory(
        regency_code="35.10",
        regency_name="Banyuwangi",
        settings=settings or Settings(),
        districts={district: District(code=district, name="Gambiran", villages=tuple(vmap))},
        villages=vmap,
        devices=devices,
        credentials={},
    )
