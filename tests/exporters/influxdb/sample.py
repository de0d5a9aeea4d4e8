"""A tiny inventory with names that need escaping, and ping observations for it."""

from __future__ import annotations

from netwatch.collectors.icmp.observation import PingObservation, PingResult
from netwatch.core.model import Device, District, Inventory, Role, Settings, Village, VillageKind

# Real-world-shaped but hostile: spaces, commas, equals signs, quotes, a backslash.
VILLAGE_NAME = 'Kampung "Baru", Timur=1 \\ Ujung'
DISTRICT_NAME = "Gambiran, Kota=Lama"


def inventory(settings: Settings | None = None, village_name: str = VILLAGE_NAME) -> Inventory:
    district = District("35.10.07", DISTRICT_NAME, villages=("35.10.07.2001",), devices=("pop 1",))
    village = Village(
        "35.10.07.2001",
        village_name,
        VillageKind.DESA,
        "35.10.07",
        devices=("rtr,desa=1", "ap 1"),
    )
    devices = {
        "rtr,desa=1": Device("rtr,desa=1", Role.ROUTER, "127.0.0.2", "35.10.07", "35.10.07.2001"),
        "ap 1": Device("ap 1", Role.AP, "127.0.0.3", "35.10.07", "35.10.07.2001"),
        "pop 1": Device("pop 1", Role.ROUTER, "127.0.0.4", "35.10.07"),
    }
    return Inventory(
        regency_code="35.10",
        regency_name="Banyuwangi",
        settings=settings or Settings(),
        districts={district.code: district},
        villages={village.code: village},
        devices=devices,
        credentials={},
    )


def ping(device: str, t: float, rtts: list[float], sent: int = 5) -> PingObservation:
    return PingObservation(
        device, t, PingResult("127.0.0.1", sent, len(rtts), list(rtts)), duration=1.0
    )
