"""The SNMP collector: one poll of one device through its profile stack.

`probe` GETs the system scalars, picks the profile stack (the inventory's `profile` wins, else
the most specific sysObjectID match whose refinements hold), walks only the columns the stack
needs and evaluates them. It never raises: a failure is an observation with an error reason.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable, Sequence

from netwatch.collectors.snmp.evaluate import Evaluator, apply_system, column_oid, system_fields
from netwatch.collectors.snmp.limits import limit_observation
from netwatch.collectors.snmp.observation import SnmpObservation
from netwatch.collectors.snmp.profile_load import load_profiles
from netwatch.collectors.snmp.profiles import Profile, ProfileError, ProfileSet
from netwatch.collectors.snmp.types import (
    OID,
    SnmpClient,
    SnmpError,
    Target,
    Value,
    format_oid,
    parse_oid,
)
from netwatch.core import telemetry
from netwatch.core.model import Device, Inventory, SnmpCredential, SnmpSettings
from netwatch.core.plugins import Context

log = logging.getLogger(__name__)

# A column with more rows than this is a misconfigured profile, not data we want.
_MAX_ROWS = 20_000

_default_profiles: ProfileSet | None = None
# Detection result per agent identity: probes cost a walk each, and what a device is does not
# change while its sysObjectID and sysDescr stay the same.
_selected: dict[tuple[str, int, str, str, str, str], tuple[str, str]] = {}
_SELECTED_MAX = 100_000
# Per profile stack, computed once: (walked roots, scalars); the same tuples for every device.
_stack_oids: dict[
    tuple[int, tuple[str, ...]], tuple[ProfileSet, tuple[OID, ...], tuple[OID, ...]]
] = {}
# The stack at an agent's last poll (with its profile set, and its scalars): the scalars are
# asked with the system scalars the next time, so that a poll costs one GET, not two, when the
# stack stays the same; and where the engine can (get_and_walk), that GET rides in the first
# GETBULK of the stack's walk: the poll is one round trip, not two.
_last_stack: dict[tuple[str, int, str, str], tuple[ProfileSet, list[Profile], tuple[OID, ...]]] = {}
_LAST_SCALARS_MAX = 100_000


def default_profiles() -> ProfileSet:
    """The packaged profiles, loaded once."""
    global _default_profiles
    if _default_profiles is None:
        _default_profiles = load_profiles()
    return _default_profiles


def make_target(device: Device, credential: SnmpCredential, settings: SnmpSettings) -> Target:
    """Resolve the credential's secrets now (poll time); KeyError/OSError name the reference."""
    community = credential.community.resolve() if credential.community else "public"
    auth_key = credential.auth_key.resolve() if credential.auth_key else None
    priv_key = credential.priv_key.resolve() if credential.priv_key else None
    return Target(
        address=device.address,
        port=credential.port,
        version=credential.version,
        community=community,
        user=credential.user,
        auth_protocol=credential.auth_protocol,
        auth_key=auth_key,
        priv_protocol=credential.priv_protocol,
        priv_key=priv_key,
        context=credential.context,
        timeout=settings.timeout,
        retries=settings.retries,
        max_repetitions=settings.max_repetitions,
        bulk_varbinds=settings.bulk_varbinds,
    )


async def _select(
    client: SnmpClient, target: Target, pset: ProfileSet, profile: str | None, obs: SnmpObservation
) -> list[Profile]:
    """The stack to poll with; records which profile was chosen and why in the observation."""
    if profile:
        name, reason = profile, "set in the inventory (profile:)"
    else:
        # Community/context too: one agent may front several devices (proxies, snmpsim).
        key = (target.address, target.port, target.community, target.context,
               obs.sys_object_id, obs.sys_descr)  # fmt: skip
        cached = _selected.get(key)
        if cached is not None and cached[0] in pset.profiles:
            name, reason = cached
        else:
            errors = len(obs.partial_errors)
            name, reason = await _detect(client, target, pset, obs)
            if len(obs.partial_errors) == errors:  # a failed probe is asked again next poll
                if len(_selected) >= _SELECTED_MAX:
                    _selected.clear()
                _selected[key] = (name, reason)
    stack = pset.stack(name)
    obs.profile_reason, obs.profile_confidence = reason, stack[-1].confidence
    return stack


async def _detect(
    client: SnmpClient, target: Target, pset: ProfileSet, obs: SnmpObservation
) -> tuple[str, str]:
    """sysObjectID rules first, then sysDescr, then probes (one one-row walk each)."""
    sys_oid = parse_oid(obs.sys_object_id) if obs.sys_object_id else None
    for cand in pset.ordered(sys_oid, obs.sys_descr):
        probe_oid = cand.rule.probe
        if probe_oid is not None:
            try:
                rows = await client.walk(target, probe_oid, max_rows=1)
            except SnmpError as exc:  # a probe that fails is a probe that found nothing
                obs.partial_errors.append(f"{exc.reason}: probe {format_oid(probe_oid)}: {exc}")
                continue
            if not any(o[: len(probe_oid)] == probe_oid and not v.is_exception for o, v in rows):
                continue
        return cand.profile.name, cand.reason(sys_oid)
    return "generic", f"no vendor profile matched sysObjectID {obs.sys_object_id or '(none)'}"


async def _walk_all(
    client: SnmpClient,
    target: Target,
    roots: Sequence[OID],
    obs: SnmpObservation,
    max_rows: int = _MAX_ROWS,
) -> dict[OID, list[tuple[OID, Value]]]:
    """Every root's rows; a root that failed is named in the observation and left out."""
    return _walked(await client.walk_many(target, roots, max_rows=max_rows), obs)


def _walked(
    result: dict[OID, list[tuple[OID, Value]] | SnmpError], obs: SnmpObservation
) -> dict[OID, list[tuple[OID, Value]]]:
    out: dict[OID, list[tuple[OID, Value]]] = {}
    for root, rows in result.items():
        if isinstance(rows, SnmpError):
            oid = ".".join(map(str, root))
            obs.failed_walks.append(oid)
            obs.partial_errors.append(f"{rows.reason}: walk {oid}: {rows}")
        else:
            out[root] = rows
    return out


def walked_roots(pset: ProfileSet, stack: Sequence[Profile]) -> tuple[OID, ...]:
    """The column OIDs the stack walks, each once, in profile order (cached per stack)."""
    return _oids_of(pset, stack)[0]


def _oids_of(pset: ProfileSet, stack: Sequence[Profile]) -> tuple[tuple[OID, ...], tuple[OID, ...]]:
    """(walked roots, non-field scalars) of the stack, cached per stack."""
    key = (id(pset), tuple(p.name for p in stack))
    cached = _stack_oids.get(key)
    if cached is not None and cached[0] is pset:
        return cached[1], cached[2]
    roots: dict[OID, None] = {}
    for prof in stack:
        for table in prof.walk:
            for col in table.walked_columns():
                roots.setdefault(column_oid(table, col))
    scalars = tuple(dict.fromkeys(s.oid for p in stack for s in p.get if s.type != "field"))
    if len(_stack_oids) >= 1000:  # profile sets replaced by reloads
        _stack_oids.clear()
    _stack_oids[key] = (pset, tuple(roots), scalars)
    return tuple(roots), scalars


async def probe(
    device: Device,
    credential: SnmpCredential,
    settings: SnmpSettings,
    client: SnmpClient,
    profiles: ProfileSet | None = None,
) -> SnmpObservation:
    """Poll one device; never raises (errors are in the observation)."""
    try:
        target = make_target(device, credential, settings)
    except (KeyError, OSError) as exc:  # an unresolvable SecretRef
        obs = SnmpObservation(device=device.name, time=time.time(), error="credential")
        obs.message = f"credential {credential.name}: {exc}"
        return obs
    obs = await probe_target(
        device.name, target, client, profiles, device.profile, settings.max_series_per_device
    )
    obs.series_dropped, obs.labels_shortened = limit_observation(
        obs, settings.max_series_per_device, settings.max_label_length
    )
    return obs


async def probe_target(
    name: str,
    target: Target,
    client: SnmpClient,
    profiles: ProfileSet | None = None,
    profile: str | None = None,
    max_rows: int = _MAX_ROWS,
) -> SnmpObservation:
    """Poll one agent by Target (the CLI's entry); never raises."""
    started = time.time()
    t0 = time.perf_counter()
    obs = SnmpObservation(device=name, time=started)
    try:
        await _poll(target, profile, client, profiles or default_profiles(), obs, max_rows)
    except SnmpError as exc:
        obs.error, obs.message = exc.reason, str(exc)
    except ProfileError as exc:
        obs.error, obs.message = "profile", str(exc)
    except asyncio.CancelledError:
        raise
    except OSError as exc:
        # Our side, not the device's: too many open files, no route, a firewall's EPERM.
        obs.error, obs.message = "socket", f"{target.address}: {exc}"
    except (ValueError, ArithmeticError, LookupError) as exc:  # a value we cannot read
        _log_internal(name, exc)
        obs.error, obs.message = "decode", f"{type(exc).__name__}: {exc}"
    except Exception as exc:  # a bug here must not reach the scheduler (nor pass as decode)
        _log_internal(name, exc)
        obs.error, obs.message = "internal", f"{type(exc).__name__}: {exc}"
    obs.duration = time.perf_counter() - t0
    return obs


_internal_logged: set[str] = set()


def _log_internal(name: str, exc: Exception) -> None:
    # One traceback per kind of failure, not one per poll of 10,000 devices.
    key = f"{type(exc).__name__}:{exc}"[:200]
    if key in _internal_logged:
        log.error("SNMP poll of %s failed: %s: %s", name, type(exc).__name__, exc)
        return
    if len(_internal_logged) < 1000:
        _internal_logged.add(key)
    log.exception("SNMP poll of %s failed", name)


async def _poll(
    target: Target,
    profile: str | None,
    client: SnmpClient,
    pset: ProfileSet,
    obs: SnmpObservation,
    max_rows: int = _MAX_ROWS,
) -> None:
    sys_fields = system_fields(pset.stack("system"))
    sys_oids = list(sys_fields.values())
    agent = (target.address, target.port, target.community, target.context)
    last = _last_stack.get(agent)
    guess = [o for o in (last[2] if last else ()) if o not in sys_fields.values()]
    max_rows = min(max_rows, _MAX_ROWS)
    # The stack is most likely last poll's: its walk starts now, carrying the scalars.
    early: tuple[tuple[OID, ...], dict[OID, list[tuple[OID, Value]] | SnmpError]] | None = None
    get_and_walk = getattr(client, "get_and_walk", None)
    values: dict[OID, Value] | None = None
    if last is not None and last[0] is pset and get_and_walk is not None:
        last_roots = _oids_of(pset, last[1])[0]
        both = await get_and_walk(target, sys_oids + guess, last_roots, max_rows=max_rows)
        if both is not None:
            values, early = both[0], (last_roots, both[1])
    if values is None:
        try:
            values = await client.get(target, sys_oids + guess)
        except SnmpError as exc:
            if not guess or exc.reason == "timeout":
                raise
            values = await client.get(target, sys_oids)  # the guessed scalars were the trouble
            guess = []
    if not apply_system(obs, sys_fields, values):
        raise SnmpError("no_such_object", f"{target.address}: no system group (sysDescr...)")
    stack = await _select(client, target, pset, profile, obs)
    obs.profiles = tuple(p.name for p in stack)
    roots, scalar_oids = _oids_of(pset, stack)
    scalars: dict[OID, Value] = {}
    if scalar_oids and all(o in values for o in scalar_oids):
        scalars = {o: values[o] for o in scalar_oids}  # asked with the system scalars
    elif scalar_oids:
        try:
            scalars = await client.get(target, scalar_oids)
        except SnmpError as exc:
            obs.partial_errors.append(f"{exc.reason}: get: {exc}")
    if len(_last_stack) >= _LAST_SCALARS_MAX:
        _last_stack.clear()
    _last_stack[agent] = (pset, stack, scalar_oids)
    if early is not None and early[0] == roots:
        walked = _walked(early[1], obs)
    else:  # first poll, or the agent's stack changed: what was walked early was not its own
        walked = await _walk_all(client, target, roots, obs, max_rows)
    ev = Evaluator(stack, obs)
    ev.interfaces(walked)
    ev.build_lookups(walked)
    ev.tables(walked)
    ev.scalars(scalars)
    ev.finish()


class SnmpCollector:
    """The scheduler's view of SNMP: which devices, how often, and one poll."""

    name = "snmp"

    def __init__(
        self,
        inventory: Callable[[], Inventory],
        client: SnmpClient,
        profiles: ProfileSet | None = None,
        close: Callable[[], Awaitable[None]] | None = None,
    ) -> None:
        self._inventory = inventory
        self._client = client
        self._profiles = profiles
        self._close = close  # releases the client's sockets (the engine started with us)

    def applies(self, device: Device) -> bool:
        return device.snmp is not None

    def interval(self, device: Device) -> float:
        return device.snmp_interval or self._inventory().settings.snmp.interval

    async def collect(self, device: Device) -> SnmpObservation:
        inv = self._inventory()
        credential = inv.credentials.get(device.snmp or "")
        if credential is None:
            obs = SnmpObservation(device=device.name, time=time.time(), error="credential")
            obs.message = f"device {device.name}: unknown SNMP credential {device.snmp!r}"
        else:
            obs = await probe(device, credential, inv.settings.snmp, self._client, self._profiles)
        if obs.error:
            telemetry.POLL_ERRORS.labels(self.name, obs.error).inc()
        for entry in obs.partial_errors:
            telemetry.POLL_ERRORS.labels(self.name, entry.split(":", 1)[0]).inc()
        return obs

    async def close(self) -> None:
        if self._close is not None:
            await self._close()


async def start(ctx: Context) -> SnmpCollector:
    """The shared SNMP engine (one UDP socket) and its self-metrics."""
    import netwatch.collectors.snmp.telemetry  # noqa: F401 (registers the engine's metrics)
    from netwatch.collectors.snmp.engine import SnmpEngine

    engine = SnmpEngine()
    return SnmpCollector(ctx.inventory, engine, close=engine.close)
