"""The generic settings builder and the scalar grammars it uses."""

from __future__ import annotations

import enum
from dataclasses import dataclass, field
from typing import Literal

import pytest

from netwatch.config.builder import build
from netwatch.config.errors import Issues
from netwatch.config.nodes import Loc, parse
from netwatch.config.values import check_address, parse_duration, parse_size
from netwatch.core.model import SecretRef, Settings


class Mode(enum.StrEnum):
    FAST = "fast"
    SAFE = "safe"


def _positive(value: float) -> None:
    if value <= 0:
        raise ValueError(f"{value} must be > 0")


@dataclass(frozen=True)
class Spool:
    max_bytes: int = 1024
    path: str | None = None


@dataclass(frozen=True)
class Sink:
    """Stands in for a section another engineer adds to Settings."""

    url: str
    token: SecretRef | None = None
    flush: float = field(default=10.0, metadata={"check": _positive})
    mode: Mode = Mode.SAFE
    level: Literal["low", "high"] = "low"
    spool: Spool = field(default_factory=Spool)
    tags: tuple[str, ...] = ()
    extra: dict[str, int] = field(default_factory=dict)


def built(cls, text):
    issues = Issues()
    obj = build(cls, parse(text, "t.yaml"), Loc("t.yaml", 1, "sink"), issues)
    return obj, [str(i) for i in issues.items]


def test_every_supported_type():
    obj, errors = built(
        Sink,
        "url: http://127.0.0.1:8086\n"
        "token: {file: /run/secrets/influx}\n"
        "flush: 1m30s\n"
        "mode: fast\n"
        "level: high\n"
        "spool: {max_bytes: 512MiB, path: /var/spool/netwatch}\n"
        "tags: [a, b]\n"
        "extra: {x: 1}\n",
    )
    assert errors == []
    assert obj == Sink(
        url="http://127.0.0.1:8086",
        token=SecretRef(file="/run/secrets/influx"),
        flush=90.0,
        mode=Mode.FAST,
        level="high",
        spool=Spool(max_bytes=512 * 1024 * 1024, path="/var/spool/netwatch"),
        tags=("a", "b"),
        extra={"x": 1},
    )


def test_errors_with_lines_and_hints():
    obj, errors = built(
        Sink,
        "url: http://x\ntoken: s3cret\nflush: 0\nmode: fsat\nspool: {max_bytes: lots}\nurll: 1\n",
    )
    assert obj is None
    assert errors == [
        "t.yaml:6: sink: unknown key 'urll' (did you mean 'url'?)",
        "t.yaml:2: sink.token: secrets are never written inline: "
        "write {env: VARIABLE} or {file: /path/to/secret}",
        "t.yaml:3: sink.flush: 0.0 must be > 0",
        "t.yaml:4: sink.mode: 'fsat' is not one of fast, safe (did you mean 'fast'?)",
        "t.yaml:5: sink.spool.max_bytes: 'lots' is not a size (examples: 4096, 64KiB, 512MiB, 1GB)",
    ]


def test_missing_required():
    obj, errors = built(Sink, "flush: 5s\n")
    assert obj is None
    assert errors == ["t.yaml:1: sink: missing required key 'url'"]


def test_settings_defaults_and_sections():
    obj, errors = built(Settings, "language: en\nping: {spacing: 250ms}\n")
    assert errors == []
    assert obj.language == "en"
    assert obj.ping.spacing == 0.25
    assert obj.ping.interval == Settings().ping.interval


@pytest.mark.parametrize(
    ("text", "seconds"),
    [("30s", 30), ("200ms", 0.2), ("5m", 300), ("1h30m", 5400), ("2d", 172800), ("1.5s", 1.5)],
)
def test_durations(text, seconds):
    assert parse_duration(text) == pytest.approx(seconds)


@pytest.mark.parametrize("text", ["", "30", "s", "30 s", "-5s", "5x", "1h 30m", "30s5"])
def test_bad_durations(text):
    with pytest.raises(ValueError, match="is not a duration"):
        parse_duration(text)


@pytest.mark.parametrize(
    ("text", "size"),
    [("4096", 4096), ("64KiB", 65536), ("512MiB", 536870912), ("1GB", 10**9), ("2 KB", 2000)],
)
def test_sizes(text, size):
    assert parse_size(text) == size


@pytest.mark.parametrize(
    ("text", "canonical"),
    [
        ("127.1.1.1", "127.1.1.1"),
        ("::1", "::1"),
        ("2001:DB8:0:0:0:0:0:1", "2001:db8::1"),
        ("Router-1.Example.net.", "router-1.example.net"),
        ("ap1", "ap1"),
    ],
)
def test_addresses(text, canonical):
    assert check_address(text) == canonical


@pytest.mark.parametrize(
    "text", ["10.0.0.300", "1.2.3", "-bad.example", "a_b.example", "x" * 64 + ".net", "", "a..b"]
)
def test_bad_addresses(text):
    with pytest.raises(ValueError, match="is not an IP address or host name"):
        check_address(text)
