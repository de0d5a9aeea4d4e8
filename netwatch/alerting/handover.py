"""Open alerts whose village or device left this instance's inventory (reload, new shard plan).

When a reload moves a district to another shard, the new shard's replicas fire the same alert
(same labels, so the same Alertmanager fingerprint and notification-log key) while this one
must let go of it *without* a resolve: the village is still down, only someone else watches
it. An alert whose subject was removed from the configuration is closed the same way: nobody
watches it any more, so no "back up" is told; Alertmanager ends it after its resolve_timeout
once the re-posts stop. See docs/scaling.md, "Growing".
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass

from netwatch.core.model import Inventory


@dataclass(frozen=True, slots=True)
class Stranger:
    fingerprint: str
    subject: str  # the village code or device name
    shard: int | None  # the shard that watches it now; None: removed from the configuration

    def reason(self) -> str:
        if self.shard is None:
            return f"{self.subject} was removed from the configuration"
        return f"{self.subject} is watched by shard {self.shard} now"


def strangers(
    alerts: Iterable[tuple[str, Mapping[str, str]]], inventory: Inventory
) -> Iterator[Stranger]:
    """(fingerprint, labels) of open alerts → those about a village or device not held here."""
    shard_of = {a.district: a.shard for a in inventory.assignment}
    for fp, labels in alerts:
        village, device = labels.get("village"), labels.get("device")
        if village is not None:
            if village in inventory.villages:
                continue
            subject = village
        elif device is not None:
            if device in inventory.devices:
                continue
            subject = device
        else:
            continue  # an alert about no place: not ours to judge
        district = labels.get("district", "")
        elsewhere = shard_of.get(district)
        if elsewhere is not None and inventory.shard is not None and elsewhere != inventory.shard:
            yield Stranger(fp, subject, elsewhere)
        else:
            yield Stranger(fp, subject, None)
