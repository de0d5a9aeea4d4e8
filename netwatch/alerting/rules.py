"""Village service state from device verdicts and the inventory's topology (pure functions).

The echo stream decides each device's verdict (tracker.py keeps it); this module only reads
the verdicts, and waits for a parent's before it blames a child.
"""

from __future__ import annotations

import enum
from collections.abc import Generator, Iterator, Mapping
from dataclasses import dataclass, field

from netwatch.core.model import AlertingSettings, Inventory, Role


class ServiceState(enum.StrEnum):
    UP = "up"
    DEGRADED = "degraded"
    DOWN = "down"
    UNREACHABLE_UPSTREAM = "unreachable-upstream"
    MAINTENANCE = "maintenance"  # shown while a window covers the village; history keeps the truth
    UNKNOWN = "unknown"  # not every device has a verdict yet


OUTAGE_STATES = frozenset({ServiceState.DOWN, ServiceState.UNREACHABLE_UPSTREAM})


@dataclass(slots=True)
class DeviceView:
    """What the engine knows of one device: the stream's verdict, its losses, its rounds."""

    confirmed_up: bool | None = None  # None until the echo stream has decided
    failing: bool = False  # its newest echo outcome is a loss (a run of losses goes on)
    fail_since: float | None = None  # send time of the run's first lost echo (or the down one's)
    seen_at: float | None = None  # send time of the newest echo whose outcome we were told
    loss_avg: float | None = None  # mean echo loss over the sustained window
    rtt_avg: float | None = None  # seconds
    samples: int = 0  # rounds in the sustained window
    radio_down: bool = False  # SNMP: an AP whose enabled radios are all oper-down
    # Send time of the newest echo outcome when the verdict last turned from down to up: its
    # children's echoes sent from then on are news from after its return.
    back_at: float | None = None


@dataclass(slots=True)
class Verdict:
    state: ServiceState
    cause: str | None = (
        None  # router_down | ap_down | all_devices_down | devices_down | high_loss | ...
    )
    down_devices: tuple[str, ...] = ()
    root_cause: str | None = None  # the topmost down parent, for unreachable-upstream
    pending: bool = False  # a parent's verdict is awaited: hold any alert change
    awaiting: tuple[str, ...] = ()  # the parents whose verdict is awaited
    details: dict[str, float] = field(default_factory=dict)


class Topology:
    """Parent chains, children and the villages behind each device."""

    def __init__(self, inventory: Inventory) -> None:
        for _ in self._build(inventory, len(inventory.devices) + 1):
            pass

    @classmethod
    def in_steps(cls, inventory: Inventory, every: int) -> Generator[None, None, Topology]:
        """The topology of inventory, built with a pause (a yield) every `every` devices or
        villages (the alert engine's sliced adoption at a reload)."""
        topology = cls.__new__(cls)
        yield from topology._build(inventory, every)
        return topology

    def _build(self, inventory: Inventory, every: int) -> Iterator[None]:
        self.inventory = inventory
        devices = inventory.devices
        self.ancestors: dict[str, tuple[str, ...]] = {}
        for i, name in enumerate(devices, 1):
            chain: list[str] = []
            seen = {name}
            parent = devices[name].parent
            # Bounded by the device count; a cycle in config stops the walk, never loops.
            while parent is not None and parent in devices and parent not in seen:
                chain.append(parent)
                seen.add(parent)
                parent = devices[parent].parent
            self.ancestors[name] = tuple(chain)
            if i % every == 0:
                yield
        self.behind: dict[str, list[str]] = {}  # device → village codes whose devices hang below
        for i, (code, village) in enumerate(inventory.villages.items(), 1):
            ups: set[str] = set()
            for dev in village.devices:
                ups.update(a for a in self.ancestors.get(dev, ()) if a not in village.devices)
            for a in ups:
                self.behind.setdefault(a, []).append(code)
            if i % every == 0:
                yield
        self.descendants: dict[str, list[str]] = {}
        for i, (name, parents) in enumerate(self.ancestors.items(), 1):
            for a in parents:
                self.descendants.setdefault(a, []).append(name)
            if i % every == 0:
                yield
        self.pinged = frozenset(n for n, d in devices.items() if d.ping)
        yield
        # Root-cause candidates: district-level devices and any device that villages hang on.
        self.upstream = [n for n, d in devices.items() if d.village is None or n in self.behind]

    def outside_ancestors(self, code: str) -> list[str]:
        """Parents of the village's devices that are not in the village, nearest first."""
        village = self.inventory.villages[code]
        out: list[str] = []
        for dev in village.devices:
            for a in self.ancestors.get(dev, ()):
                if a not in village.devices and a not in out:
                    out.append(a)
        return out


def _upstream_check(
    parents: list[str],
    views: Mapping[str, DeviceView],
    since: float,
    now: float,
    settings: AlertingSettings,
) -> tuple[str | None, list[str]]:
    """(topmost confirmed-down parent, parents awaited) for something down since `since`.

    A parent is awaited while it is losing echoes without a verdict yet, or while we have no
    news of it from an echo sent after `since` — never past upstream_wait.
    """
    root: str | None = None
    awaited: list[str] = []
    for p in parents:  # nearest first: the last down one found is the topmost
        v = views.get(p)
        if v is None:
            continue
        if v.confirmed_up is False:
            root = p
        elif (
            v.failing or v.seen_at is None or v.seen_at < since
        ) and now - since < settings.upstream_wait:
            awaited.append(p)  # its verdict is not in yet: wait, but never past upstream_wait
    return root, ([] if root is not None else awaited)


def _returning(
    down: list[str],
    members: tuple[str, ...],
    topology: Topology,
    views: Mapping[str, DeviceView],
    now: float,
    settings: AlertingSettings,
) -> list[str]:
    """Down devices whose verdict came from an outage of a parent in the village that is back:
    awaited until their own echo sent after the return is lost (down on their own) or their
    verdict turns up, never past upstream_wait after the return. Their lost echoes were the
    parent's outage: without the wait, the router's return before the AP's replies read as
    `ap_down`, an `update` to an outage that is ending (the stream asks them at once)."""
    out: list[str] = []
    for n in down:
        v = views[n]
        if v.confirmed_up is not False or v.fail_since is None:
            continue  # (an AP with its radios off answers: its own fault)
        for a in topology.ancestors.get(n, ()):
            p = views.get(a)
            if a not in members or p is None or p.confirmed_up is not True or p.back_at is None:
                continue
            back = p.back_at
            lost_since = v.failing and v.seen_at is not None and v.seen_at >= back
            if v.fail_since <= back and not lost_since and now - back < settings.upstream_wait:
                out.append(n)
                break
    return out


def village_verdict(
    code: str,
    inventory: Inventory,
    topology: Topology,
    views: Mapping[str, DeviceView],
    settings: AlertingSettings,
    now: float,
) -> Verdict:
    """Service state of one village now."""
    village = inventory.villages[code]
    routers: list[str] = []
    aps: list[str] = []
    others: list[str] = []
    for name in village.devices:
        dev = inventory.devices.get(name)
        if dev is None or not dev.ping:
            continue
        (routers if dev.role is Role.ROUTER else aps if dev.role is Role.AP else others).append(
            name
        )
    watched = routers + aps + others
    if not watched:
        return Verdict(ServiceState.UNKNOWN)

    def down(names: list[str]) -> list[str]:
        return [n for n in names if views[n].confirmed_up is False]

    # An AP that answers ping with every radio off serves no Wi-Fi: down for the rules.
    radio_off = [n for n in aps if views[n].confirmed_up and views[n].radio_down]
    r_down, a_down = down(routers), down(aps) + radio_off
    all_down = down(watched) + radio_off
    cause: str | None = None
    rule = settings.village_down_when
    if rule == "all_devices":
        if len(all_down) == len(watched):
            cause = "all_devices_down"
    else:
        if r_down:
            cause = "router_down"
        elif rule == "router_or_all_aps" and aps and len(a_down) == len(aps):
            cause = "radio_down" if a_down == radio_off else "ap_down"
        elif not routers and not aps and len(all_down) == len(watched):
            cause = "all_devices_down"
    if cause is not None:
        since = min((views[n].fail_since or now) for n in all_down)
        outside = [a for a in topology.outside_ancestors(code) if a in topology.pinged]
        root, awaited = _upstream_check(outside, views, since, now, settings)
        if root is not None:
            return Verdict(
                ServiceState.UNREACHABLE_UPSTREAM,
                f"upstream_down:{root}",
                tuple(all_down),
                root_cause=root,
            )
        # A device behind a failing router inside the village waits for the router's verdict:
        # with both silent the router is the cause, whichever of them was decided first.
        inside = [
            a
            for n in all_down
            for a in topology.ancestors.get(n, ())
            if a in village.devices and a in topology.pinged and a not in all_down
        ]
        inside = list(dict.fromkeys(inside))
        awaited += _upstream_check(inside, views, since, now, settings)[1]
        awaited += _returning(all_down, village.devices, topology, views, now, settings)
        if cause == "router_down":
            cause = f"router_down:{', '.join(r_down)}"
        elif cause in ("ap_down", "radio_down"):
            cause = f"{cause}:{', '.join(a_down)}"
        return Verdict(
            ServiceState.DOWN,
            cause,
            tuple(all_down),
            pending=bool(awaited),
            awaiting=tuple(awaited),
        )
    if any(views[n].confirmed_up is None for n in routers + aps):
        return Verdict(ServiceState.UNKNOWN, down_devices=tuple(all_down))
    if all_down:
        cause = "radio_down" if all_down == radio_off else "devices_down"
        return Verdict(ServiceState.DEGRADED, cause, tuple(all_down))
    worst_loss = 0.0
    worst_rtt = 0.0
    for n in watched:
        v = views[n]
        if v.confirmed_up is not True or v.samples < settings.degraded_rounds:
            continue  # not answering, or too few rounds to call anything sustained
        worst_loss = max(worst_loss, v.loss_avg or 0.0)
        worst_rtt = max(worst_rtt, v.rtt_avg or 0.0)
    details = {"loss_ratio": worst_loss, "rtt_seconds": worst_rtt}
    if worst_loss > settings.degraded_loss_ratio:
        return Verdict(ServiceState.DEGRADED, "high_loss", details=details)
    if worst_rtt > settings.degraded_rtt:
        return Verdict(ServiceState.DEGRADED, "high_rtt", details=details)
    return Verdict(ServiceState.UP, details=details)


def lossy(v: DeviceView, settings: AlertingSettings, factor: float = 1.0) -> str | None:
    """`high_loss` / `high_rtt` when the full sustained window exceeds factor × threshold."""
    if v.confirmed_up is not True or v.samples < settings.degraded_rounds:
        return None
    if (v.loss_avg or 0.0) > factor * settings.degraded_loss_ratio:
        return "high_loss"
    if (v.rtt_avg or 0.0) > factor * settings.degraded_rtt:
        return "high_rtt"
    return None


def _details(v: DeviceView) -> dict[str, float]:
    return {"loss_ratio": v.loss_avg or 0.0, "rtt_seconds": v.rtt_avg or 0.0}


def upstream_verdict(
    name: str,
    topology: Topology,
    views: Mapping[str, DeviceView],
    settings: AlertingSettings,
    now: float,
) -> Verdict:
    """Whether a parent device is down (a root cause if its own parents are up) or lossy."""
    v = views.get(name)
    if v is None or v.confirmed_up is None:
        return Verdict(ServiceState.UNKNOWN)
    if v.confirmed_up:
        cause = lossy(v, settings)
        if cause is not None:
            return Verdict(ServiceState.DEGRADED, cause, details=_details(v))
        return Verdict(ServiceState.UP)
    since = v.fail_since if v.fail_since is not None else now
    parents = [a for a in topology.ancestors[name] if a in topology.pinged]
    root, awaited = _upstream_check(parents, views, since, now, settings)
    if root is not None:
        return Verdict(
            ServiceState.UNREACHABLE_UPSTREAM, f"upstream_down:{root}", (name,), root_cause=root
        )
    return Verdict(
        ServiceState.DOWN,
        "device_down",
        (name,),
        pending=bool(awaited),
        awaiting=tuple(awaited),
    )
