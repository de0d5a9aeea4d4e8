"""Gzip scrapes from deflate segments: slices kept between scrapes while their inputs stay, and
written again when a device's observation changes (issue 10); zlib and gzip are the judges."""

from __future__ import annotations

import dataclasses
import gzip
import os
import zlib

from netwatch.collectors.icmp import PLUGIN as ICMP
from netwatch.collectors.icmp.observation import PingObservation, PingResult
from netwatch.core.model import Role
from netwatch.core.state import State
from netwatch.exporters.deflate_segments import crc32_combine, deflate, gzip_member, stored
from netwatch.exporters.prometheus import Exposition, Format, inventory_families
from tests.core.inventories import make_inventory

V = "35.10.07.2001"


def test_crc32_combine_and_the_joined_member_agree_with_zlib_and_gzip() -> None:
    parts = [os.urandom(3000), b"netwatch_device_up 1.0\n" * 40_000, b"", b"x", os.urandom(70)]
    whole = b"".join(parts)
    crc = 0
    for p in parts:
        crc = crc32_combine(crc, zlib.crc32(p), len(p))
    assert crc == zlib.crc32(whole)
    body = b"".join(gzip_member(deflate(p, 1) for p in parts)[0])
    assert gzip.decompress(body) == whole
    # Stored blocks (family headers between kept slices; over 64 KiB: several) join as well.
    mixed = [stored(parts[0]), deflate(parts[1], 1), stored(b""), stored(parts[1] * 2)]
    joined = parts[0] + parts[1] * 3
    assert gzip.decompress(b"".join(gzip_member(mixed)[0])) == joined
    one = zlib.decompressobj(31)  # one member, as /metrics inflates it for a plain client
    assert one.decompress(body) == whole and one.eof and not one.unused_data


def _ping(name: str, t: float, rtt: float) -> PingObservation:
    return PingObservation(name, t, PingResult("127.0.7.1", 5, 5, [rtt] * 5))


def test_a_device_lines_change_when_its_observation_changes_and_the_rest_is_reused() -> None:
    state = State(
        make_inventory({V: [("r", Role.ROUTER, "127.0.7.1"), ("ap", Role.AP, "127.0.7.2")]})
    )
    for name in ("r", "ap"):
        state.record(_ping(name, 10.0, 0.001))
    exposition = Exposition(state, [inventory_families, ICMP])
    first = gzip.decompress(exposition.render_gzip(Format.OPENMETRICS)).decode()
    assert 'netwatch_ping_rtt_avg_seconds{device="ap",role="ap"' in first
    series = next(iter(exposition._series.values()))
    kept = {name: dict(fs.kept) for name, fs in series.by_name.items()}
    segments = {name: [k.deflated for k in ks.values()] for name, ks in kept.items()}

    state.record(_ping("ap", 40.0, 0.0025))  # a new round of one device: other RTT, same up
    second = gzip.decompress(exposition.render_gzip(Format.OPENMETRICS)).decode()
    # The judge: a new exposition (nothing kept) writes the same body from the same state.
    fresh = bytes(Exposition(state, [inventory_families, ICMP]).render(fmt=Format.OPENMETRICS))
    assert second == fresh.decode()
    assert 'netwatch_ping_rtt_avg_seconds{device="ap",role="ap"' in second
    assert "} 0.0025\n" in second and second != first
    # Families whose values did not change were not written again: their segments are reused.
    up = "netwatch_device_up"
    now = [k.deflated for k in series.by_name[up].kept.values()]
    assert now and all(a is b for a, b in zip(now, segments[up], strict=True))
    # A slice that changed is written as plain text, nothing kept (an RTT changes every round)
    # until a scrape finds it unchanged: then it is kept, and reused at the one after.
    rtt = "netwatch_ping_rtt_avg_seconds"
    assert [k.deflated for k in series.by_name[rtt].kept.values()] == [None]
    third = gzip.decompress(exposition.render_gzip(Format.OPENMETRICS)).decode()
    assert third == second
    kept_rtt = [k.deflated for k in series.by_name[rtt].kept.values()]
    assert kept_rtt[0] is not None
    assert gzip.decompress(exposition.render_gzip(Format.OPENMETRICS)).decode() == second
    assert next(k.deflated for k in series.by_name[rtt].kept.values()) is kept_rtt[0]


def test_inventory_facts_are_kept_until_a_reload_changes_them() -> None:
    state = State(
        make_inventory({V: [("r", Role.ROUTER, "127.0.7.1"), ("ap", Role.AP, "127.0.7.2")]})
    )
    exposition = Exposition(state, [inventory_families])
    first = gzip.decompress(exposition.render_gzip()).decode()
    kept = dict(inventory_families._kept)
    assert 'address="127.0.7.2"' in first and kept
    again = gzip.decompress(exposition.render_gzip()).decode()
    assert again == first
    assert all(inventory_families._kept[k].deflated is v.deflated for k, v in kept.items())
    # A reload moves the AP to another address: its facts are written anew.
    inv = state.inventory
    moved = dataclasses.replace(inv.devices["ap"], address="127.0.7.9")
    state.replace_inventory(dataclasses.replace(inv, devices={**inv.devices, "ap": moved}))
    after = gzip.decompress(exposition.render_gzip()).decode()
    assert after == bytes(Exposition(state, [inventory_families]).render()).decode()
    assert 'address="127.0.7.9"' in after and 'address="127.0.7.2"' not in after
