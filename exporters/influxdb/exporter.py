"""InfluxExporter: subscribes to state, snapshots villages and alerts, owns writer and spool."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import ssl
import time
from collections.abc import Callable, Iterable

from netwatch.core.model import InfluxSettings, Inventory, SecretRef, Settings
from netwatch.core.plugins import Observation, plugin_for
from netwatch.core.samples import View
from netwatch.core.state import DeviceState, State
from netwatch.exporters.influxdb.lineproto import PRECISIONS
from netwatch.exporters.influxdb.points import AlertPoint, PointBuilder
from netwatch.exporters.influxdb.spool import Spool, SpoolError
from netwatch.exporters.influxdb.transport import (
    SocketFactory,
    Transport,
    V1Transport,
    V2Transport,
)
from netwatch.exporters.influxdb.writer import Writer

log = logging.getLogger(__name__)


def check_settings(cfg: InfluxSettings) -> None:
    """Raise ValueError naming the bad influxdb.* key."""
    if cfg.mode not in ("v2", "v1"):
        raise ValueError(f"influxdb.mode: {cfg.mode!r} is not one of v2, v1")
    if cfg.precision not in PRECISIONS:
        raise ValueError(f"influxdb.precision: {cfg.precision!r} is not one of s, ms, us, ns")
    if not cfg.url.startswith(("http://", "https://")):
        raise ValueError(f"influxdb.url: {cfg.url!r} is not an http:// or https:// URL")
    if not cfg.bucket:
        raise ValueError("influxdb.bucket: must not be empty")
    for key in ("batch_size", "spool_max_bytes"):
        if getattr(cfg, key) <= 0:
            raise ValueError(f"influxdb.{key}: must be positive")
    for key in ("timeout", "flush_interval", "retry_initial", "retry_max", "spool_sync_interval"):
        if getattr(cfg, key) <= 0:
            raise ValueError(f"influxdb.{key}: must be a positive duration")


def _secret(ref: SecretRef | None, key: str) -> str | None:
    if ref is None:
        return None
    try:
        return ref.resolve()
    except KeyError as exc:
        raise ValueError(f"influxdb.{key}: {exc.args[0]}") from exc
    except OSError as exc:
        raise ValueError(f"influxdb.{key}: {exc.filename}: {exc.strerror}") from exc


def build_transport(cfg: InfluxSettings, socket_factory: SocketFactory | None = None) -> Transport:
    """The transport for cfg.mode; secrets are resolved now (a ValueError names the key)."""
    try:
        if cfg.mode == "v1":
            db, _, rp = cfg.bucket.partition("/")
            return V1Transport(
                cfg.url,
                db,
                rp or None,
                cfg.precision,
                cfg.timeout,
                username=cfg.username,
                password=_secret(cfg.password, "password"),
                verify_tls=cfg.verify_tls,
                ca_file=cfg.ca_file,
                socket_factory=socket_factory,
            )
        return V2Transport(
            cfg.url,
            _secret(cfg.token, "token"),
            cfg.org,
            cfg.bucket,
            cfg.precision,
            cfg.timeout,
            verify_tls=cfg.verify_tls,
            ca_file=cfg.ca_file,
            socket_factory=socket_factory,
        )
    except (OSError, ssl.SSLError) as exc:  # the CA file: missing, unreadable, not PEM
        raise ValueError(f"influxdb.ca_file: {cfg.ca_file}: {exc}") from exc


class SpoolUnavailable(ValueError):
    """The spool directory cannot be opened now (may change: the runtime retries)."""


class InfluxExporter:
    """Push observations and village/alert snapshots to InfluxDB; start() then stop()."""

    def __init__(
        self,
        settings: Settings | InfluxSettings,
        state: State,
        inventory: Inventory | None = None,
        transport: Transport | None = None,
        socket_factory: SocketFactory | None = None,
        alert_source: Callable[[], Iterable[AlertPoint]] | None = None,
        on_fault: Callable[[str | None], None] | None = None,
    ) -> None:
        cfg = settings.influxdb if isinstance(settings, Settings) else settings
        if cfg is None:
            raise ValueError("influxdb: not configured")
        check_settings(cfg)
        self.cfg = cfg
        self.state = state
        inventory = inventory or state.inventory
        self._snapshot_interval = cfg.snapshot_interval or inventory.settings.ping.interval
        self.points = PointBuilder(inventory, cfg.precision)
        self._transport = transport
        self._socket_factory = socket_factory
        self.alert_source = alert_source  # open alerts of the alert snapshot
        self.writer: Writer | None = None
        self.on_fault = on_fault  # the spool's fault (a reason) or its recovery (None)
        self._snapshot_task: asyncio.Task[None] | None = None
        self._listening = False

    async def start(self) -> None:
        """Open the spool and start sending; raises ValueError with a clear message."""
        transport = self._transport or build_transport(self.cfg, self._socket_factory)
        spool = Spool(self.cfg.spool_dir, self.cfg.spool_max_bytes)
        try:
            spool.open()
        except SpoolError as exc:
            await transport.close()
            raise SpoolUnavailable(f"influxdb.spool_dir: {exc}") from exc
        if spool.unread_points:
            log.info("InfluxDB spool %s: %d points to replay", spool.dir, spool.unread_points)
        self.writer = Writer(
            transport,
            spool,
            batch_size=self.cfg.batch_size,
            flush_interval=self.cfg.flush_interval,
            retry_initial=self.cfg.retry_initial,
            retry_max=self.cfg.retry_max,
            sync_interval=self.cfg.spool_sync_interval,
            on_fault=self.on_fault,
        )
        await self.writer.start()
        if not self._listening:
            self.state.add_listener(self.on_observation)
            self._listening = True
        self._snapshot_task = asyncio.create_task(self._snapshots(), name="influxdb-snapshots")

    async def stop(self, timeout: float | None = None) -> None:
        """Flush what can be sent within timeout (default: the request timeout); rest spools."""
        if self._snapshot_task is not None:
            self._snapshot_task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._snapshot_task
            self._snapshot_task = None
        if self.writer is not None:
            await self.writer.stop(self.cfg.timeout if timeout is None else timeout)
            self.writer = None

    def on_observation(self, ds: DeviceState, obs: Observation) -> None:
        """State listener: the points of the observation, from its collector's EVENT samples."""
        # Called inside state.record: never raise into it.
        writer = self.writer
        if writer is None:
            return
        try:
            plugin = plugin_for(obs)
            part = ds.parts.get(plugin.name)
            if part is not None:
                samples = plugin.samples_of(ds.device, part, View.EVENT)
                writer.add_many(self.points.lines(ds.device, self.state.inventory, samples))
        except Exception:
            log.exception("InfluxDB: cannot format observation of %s", ds.device.name)

    def snapshot(self, now: float | None = None) -> None:
        """Queue the village (and alert, when present) snapshot now."""
        if self.writer is None:
            return
        now = time.time() if now is None else now
        self.writer.add_many(self.points.villages(self.state, now))
        if self.alert_source is not None:
            self.writer.add_many(self.points.alerts(self.alert_source(), now))

    async def _snapshots(self) -> None:
        interval = self._snapshot_interval
        while True:
            # Stamped with the interval boundary, so every run's snapshots share timestamps.
            tick = (time.time() // interval + 1) * interval
            await asyncio.sleep(max(0.0, tick - time.time()))
            try:
                self.snapshot(now=tick)
            except Exception:
                log.exception("InfluxDB: village snapshot failed")
