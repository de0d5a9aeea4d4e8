"""Bad settings and a failing disk: clear errors naming the key, monitoring unaffected."""

from __future__ import annotations

import dataclasses
import errno
import logging
from pathlib import Path
from types import SimpleNamespace

import pytest

from netwatch.core.model import InfluxSettings, SecretRef
from netwatch.core.state import State
from netwatch.exporters.influxdb import metrics as m
from netwatch.exporters.influxdb.exporter import InfluxExporter
from netwatch.exporters.influxdb.hook import attach
from netwatch.exporters.influxdb.spool import Spool, SpoolError
from tests.exporters.influxdb import sample
from tests.exporters.influxdb.test_alert_points import Capture
from tests.helpers.lineproto import parse


def cfg(tmp_path: Path, **kw: object) -> InfluxSettings:
    base = InfluxSettings(
        url="http://127.0.0.1:9", bucket="b", spool_dir=str(tmp_path / "spool"),
        flush_interval=0.02, snapshot_interval=3600.0,
    )  # fmt: skip
    return dataclasses.replace(base, **kw)


def test_second_process_on_one_spool_is_refused(tmp_path: Path) -> None:
    first = Spool(tmp_path, 1 << 20)
    first.open()
    try:
        with pytest.raises(SpoolError, match="in use by another netwatch process"):
            Spool(tmp_path, 1 << 20).open()
    finally:
        first.close()
    again = Spool(tmp_path, 1 << 20)
    again.open()  # released on close (and by the kernel on kill -9)
    again.close()


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"mode": "v3"}, "influxdb.mode: 'v3' is not one of v2, v1"),
        ({"precision": "m"}, "influxdb.precision"),
        ({"url": "127.0.0.1:8086"}, "influxdb.url: '127.0.0.1:8086' is not an http"),
        ({"batch_size": 0}, "influxdb.batch_size: must be positive"),
    ],
)
def test_bad_settings_name_the_key(tmp_path: Path, change: dict, message: str) -> None:
    with pytest.raises(ValueError, match=message.replace("(", r"\(")):
        InfluxExporter(cfg(tmp_path, **change), State(sample.inventory()))


async def test_unset_token_env_disables_export_but_not_monitoring(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    monkeypatch.delenv("NW_TEST_NO_SUCH_TOKEN", raising=False)
    settings = cfg(tmp_path, token=SecretRef(env="NW_TEST_NO_SUCH_TOKEN"))
    inv = sample.inventory()
    inv = dataclasses.replace(inv, settings=dataclasses.replace(inv.settings, influxdb=settings))
    stops: list[object] = []
    runtime = SimpleNamespace(inventory=inv, state=State(inv), alerts=None, on_stop=stops.append)
    with caplog.at_level(logging.ERROR):
        assert await attach(runtime) is None
    assert "influxdb.token: environment variable NW_TEST_NO_SUCH_TOKEN is not set" in caplog.text
    assert stops == []
    runtime.state.record(sample.ping("ap 1", 1.0, [0.001]))  # state still works
    assert runtime.state.devices["ap 1"].up is True


async def test_spool_write_failure_sends_held_points_from_memory(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    capture = Capture()
    state = State(sample.inventory())
    exporter = InfluxExporter(cfg(tmp_path), state, transport=capture)
    await exporter.start()
    writer = exporter.writer
    assert writer is not None
    real_append = writer.spool.append
    failing = True

    def append(payload: bytes, points: int) -> None:
        if failing:
            raise OSError(errno.ENOSPC, "No space left on device")
        real_append(payload, points)

    monkeypatch.setattr(writer.spool, "append", append)
    dropped = m.REGISTRY.get_sample_value(
        "netwatch_influxdb_points_dropped_total", {"reason": "spool_error"}
    )
    try:
        for i in range(5):
            state.record(sample.ping("ap 1", 100.0 + i, [0.001]))
        # The spool cannot take them, the server can: sent from memory (defect 9 of issue 14).
        assert await writer.flush(5.0)
        assert writer.queued == 0
        failing = False
    finally:
        await exporter.stop()
    times = [x.timestamp for x in parse(b"\n".join(capture.bodies).decode())]
    assert times == [100_000 + 1000 * i for i in range(5)]
    assert (
        m.REGISTRY.get_sample_value(
            "netwatch_influxdb_points_dropped_total", {"reason": "spool_error"}
        )
        == dropped
    )


async def test_unexpected_transport_error_does_not_end_the_export(tmp_path: Path) -> None:
    class Flaky(Capture):
        def __init__(self) -> None:
            super().__init__()
            self.calls = 0

        async def send(self, body: bytes) -> None:
            self.calls += 1
            if self.calls == 1:
                raise RuntimeError("a bug in a client library")
            await super().send(body)

    flaky = Flaky()
    state = State(sample.inventory())
    exporter = InfluxExporter(cfg(tmp_path, retry_initial=0.05), state, transport=flaky)
    await exporter.start()
    try:
        for i in range(3):
            state.record(sample.ping("pop 1", 200.0 + i, [0.002]))
        assert exporter.writer is not None and await exporter.writer.flush(5.0)
    finally:
        await exporter.stop()
    times = [x.timestamp for x in parse(b"\n".join(flaky.bodies).decode())]
    assert times == [200_000, 201_000, 202_000]


async def test_missing_ca_file_and_secret_file_name_their_key(tmp_path: Path) -> None:
    state = State(sample.inventory())
    missing = str(tmp_path / "nope.pem")
    with pytest.raises(ValueError, match=r"influxdb\.ca_file: .*nope\.pem"):
        await InfluxExporter(
            cfg(tmp_path, url="https://127.0.0.1:9", ca_file=missing), state
        ).start()
    secret = SecretRef(file=str(tmp_path / "no-password"))
    bad_v1 = cfg(tmp_path, mode="v1", username="nw", password=secret)
    with pytest.raises(ValueError, match=r"influxdb\.password: .*no-password"):
        await InfluxExporter(bad_v1, state).start()
