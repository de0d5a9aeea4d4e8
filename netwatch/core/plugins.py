"""The typed seams between collectors and the rest: Observation, Collector, DevicePart, Plugin.

A collector package describes itself with one `Plugin` (its observation type, its per-device
state and recorder, its sample families and sample function, how to start it) and registers
it when imported, as a Telegraf input does in init(); `netwatch.collectors.registry` lists the
packages the runtime runs, in exposition order. Nothing here imports a collector.
"""

from __future__ import annotations

import enum
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Generic, Protocol, TypeVar, cast, runtime_checkable

from netwatch.core.samples import Family, Sample, View

if TYPE_CHECKING:  # types only: `netwatch ping` loads this without the config model (~35 ms)
    from netwatch.core.model import Device, Inventory


class Observation(Protocol):
    """A plain record a collector hands to state: which device, when, and its own values."""

    @property
    def device(self) -> str: ...

    @property
    def time(self) -> float: ...


class Health(enum.IntEnum):
    """How a collector judges a device; a higher value is worse."""

    OK = 0
    IMPAIRED = 1  # answers and serves, but a service of it fails: its village is degraded
    NOT_SERVING = 2  # answers but serves no Wi-Fi (every radio down): down for the rollup
    DOWN = 3  # does not answer


@dataclass(frozen=True, slots=True)
class Verdict:
    """One collector's judgement of one device, with the reason people read."""

    health: Health
    reason: str = ""  # "no reply", "radio down", "service portal: status 502"
    since: float = 0.0  # unix time the judgement last changed (0: not tracked)
    reachability: bool = False  # this collector says whether the device answers at all


class DevicePart(Protocol):
    """A collector's state of one device; the village rollup asks it for a verdict."""

    version: int  # bumped by state after each applied observation (exporters cache by it)

    def verdict(self, device: Device) -> Verdict | None:
        """None when this collector has nothing to say (no observation yet, no radios...)."""
        ...


class Collector(Protocol):
    """A protocol's collector as the scheduler sees it (blackbox_exporter's prober shape)."""

    name: str

    def applies(self, device: Device) -> bool: ...

    def interval(self, device: Device) -> float: ...

    async def collect(self, device: Device) -> Observation: ...


@runtime_checkable
class StreamingCollector(Protocol):
    """A collector that times its own probes (the ICMP echo stream): the scheduler gives it
    the inventory and the sink instead of running one job per device."""

    name: str

    def applies(self, device: Device) -> bool: ...

    def follow(self, inventory: Inventory, sink: Callable[[Observation], None]) -> int:
        """Probe inventory's devices from now on (again after a reload); how many it probes."""
        ...

    def request(self, device: str, reason: str) -> bool:
        """A recheck request: probe device now; False when it does not probe that device."""
        ...

    def unfollow(self) -> None:
        """Stop probing and reporting (shutdown)."""
        ...


class RunningCollector(Collector, Protocol):
    """A started collector: its sockets and sessions are released by close()."""

    async def close(self) -> None: ...


class Exporter(Protocol):
    """A push sink the runtime starts and stops (the InfluxDB exporter)."""

    async def start(self) -> None: ...

    async def stop(self, timeout: float | None = None) -> None: ...


@dataclass(frozen=True, slots=True)
class Context:
    """What the runtime hands a collector when it starts it."""

    inventory: Callable[[], Inventory]  # the current inventory (a reload swaps it)


ObsT = TypeVar("ObsT", bound=Observation)
PartT = TypeVar("PartT", bound=DevicePart)


@dataclass(frozen=True, eq=False)
class Plugin(Generic[ObsT, PartT]):
    """One collector package: everything core and exporters need to know of it."""

    name: str  # scheduler job name and state key: "ping", "snmp", "service"
    observation: type[ObsT]
    new_part: Callable[[], PartT]  # a device's empty state for this collector
    record: Callable[[PartT, ObsT], None]  # how an observation lands in that state
    samples: Callable[[Device, PartT, View], Iterable[Sample]]
    families: tuple[Family, ...]  # declared families, in exposition order
    start: Callable[[Context], Awaitable[RunningCollector]]
    # Optional: the STATE samples when none has labels, as (families, values), each case's
    # families one constant tuple; the exporter's columns store them with no Sample per value.
    state_values: Callable[[Device, PartT], tuple[tuple[Family, ...], tuple[float, ...]]] | None = (
        None
    )

    def record_into(self, parts: dict[str, DevicePart], obs: Observation) -> DevicePart:
        """Apply obs (of this plugin's type) to its device's parts; returns the part."""
        part = parts.get(self.name)
        if part is None:
            part = parts[self.name] = self.new_part()
        self.record(cast(PartT, part), cast(ObsT, obs))
        part.version += 1
        return part

    def samples_of(self, device: Device, part: DevicePart, view: View) -> Iterable[Sample]:
        """samples() for a part that state stored under this plugin's name."""
        return self.samples(device, cast(PartT, part), view)

    def part_of(self, parts: dict[str, DevicePart]) -> PartT | None:
        """This collector's state among a device's parts, typed."""
        return cast("PartT | None", parts.get(self.name))


class AnyPlugin(Protocol):
    """A Plugin whatever its observation and state types (for registries and exporters)."""

    @property
    def name(self) -> str: ...

    @property
    def observation(self) -> type: ...

    @property
    def families(self) -> tuple[Family, ...]: ...

    def record_into(self, parts: dict[str, DevicePart], obs: Observation) -> DevicePart: ...

    def samples_of(self, device: Device, part: DevicePart, view: View) -> Iterable[Sample]: ...

    def start(self, ctx: Context) -> Awaitable[RunningCollector]: ...


_BY_OBSERVATION: dict[type, AnyPlugin] = {}


def register(plugin: AnyPlugin) -> None:
    """Make state accept this plugin's observations (called by the collector package)."""
    _BY_OBSERVATION[plugin.observation] = plugin


def plugin_for(obs: Observation) -> AnyPlugin:
    """The plugin whose observation type obs is; TypeError when none registered it."""
    plugin = _BY_OBSERVATION.get(type(obs))
    if plugin is None:
        raise TypeError(f"no collector registered observations of type {type(obs).__name__}")
    return plugin


def registered() -> tuple[AnyPlugin, ...]:
    """Every plugin registered so far, in registration order (the runtime uses the registry)."""
    return tuple(dict.fromkeys(_BY_OBSERVATION.values()))
