"""Counters over time: animated recordings, a Counter32 wrap, reboots, uptime wrap, failures."""

from __future__ import annotations

import asyncio
import subprocess
import sys
import time
from pathlib import Path

import pytest

from netwatch.collectors.snmp import PLUGIN as SNMP
from netwatch.collectors.snmp.collector import probe
from netwatch.collectors.snmp.engine import SnmpEngine
from netwatch.collectors.snmp.observation import SnmpInterface, SnmpObservation
from netwatch.core.model import Inventory, SecretRef, Settings, SnmpCredential
from netwatch.core.state import State
from tests.collectors.snmp.support import FAST_TIMEOUT, SETTINGS, device, v2c
from tests.helpers import snmprec, snmprec_animate, snmpsim
from tests.helpers.snmpd import free_udp_port


def one_device_state(name: str = "dev") -> State:
    dev = device(name)
    inv = Inventory("35.10", "Banyuwangi", Settings(), {}, {}, {name: dev}, {})
    return State(inv)


def need_snmpsim() -> None:
    if not snmpsim.available():
        pytest.fail(f"snmpsim is not installed at {snmpsim.SNMPSIM}: run scripts/setup.sh --test")


async def poll_twice(port: int, community: str, gap: float) -> tuple[State, list[SnmpObservation]]:
    state = one_device_state()
    cred = v2c(community, port)
    obs = []
    async with SnmpEngine() as engine:
        for i in range(2):
            if i:
                await asyncio.sleep(gap)
            o = await probe(device(), cred, SETTINGS, engine)
            assert o.error is None, o.message
            state.record(o)
            obs.append(o)
    return state, obs


def test_animated_counters_give_the_recorded_rate(recordings_dir, tmp_path):
    need_snmpsim()
    src = tmp_path / "src"
    src.mkdir()
    (src / "routeros.snmprec").write_bytes((recordings_dir / "routeros.snmprec").read_bytes())
    anim = tmp_path / "anim"
    script = Path(snmprec_animate.__file__)
    subprocess.run([sys.executable, str(script), str(src), str(anim)], check=True,
                   capture_output=True)  # fmt: skip
    recs = snmprec.read(recordings_dir / "routeros.snmprec")
    uptime_s = snmprec.scalar(recs, "1.3.6.1.2.1.1.3.0").number / 100
    hc_in = snmprec.column(recs, "1.3.6.1.2.1.31.1.1.1.6")
    with snmpsim.running_snmpsim(anim, probe_community="routeros") as (_host, port):
        state, obs = asyncio.run(poll_twice(port, "routeros", 1.0))
    assert obs[1].uptime_ticks > obs[0].uptime_ticks  # the animated sysUpTime moves
    snmp = state.devices["dev"].part(SNMP)
    assert snmp.reboots_total == 0
    checked = 0
    for (ifindex,), rec in hc_in.items():
        expected_bytes_per_s = max(1.0, round(rec.number / uptime_s, 3)) if rec.number else 0.0
        ist = snmp.interfaces[ifindex]
        if expected_bytes_per_s < 1000:
            continue  # too slow to measure over one second
        assert ist.in_bps > 0
        # The counter is read somewhere inside each poll: the true interval is the gap
        # between poll starts give or take each poll's duration.
        elapsed = obs[1].time - obs[0].time
        low = expected_bytes_per_s * (1 - obs[0].duration / elapsed) * 0.97
        high = expected_bytes_per_s * (1 + obs[1].duration / elapsed) * 1.03
        assert low <= ist.in_bps / 8 <= high
        assert ist.counters["in_octets"].total > rec.number
        checked += 1
    assert checked >= 1


WRAP_REC = """1.3.6.1.2.1.1.1.0|4|wrap test agent
1.3.6.1.2.1.1.2.0|6|1.3.6.1.4.1.8072.3.2.10
1.3.6.1.2.1.1.3.0|67:numeric|initial=100000,rate=100
1.3.6.1.2.1.1.5.0|4|wrap
1.3.6.1.2.1.2.2.1.2.1|4|eth0
1.3.6.1.2.1.2.2.1.3.1|2|6
1.3.6.1.2.1.2.2.1.8.1|2|1
1.3.6.1.2.1.2.2.1.10.1|65:numeric|initial={initial},rate={rate},wrap=1
1.3.6.1.2.1.2.2.1.16.1|65|5
"""


def test_counter32_wrap_gives_the_right_delta(tmp_path):
    need_snmpsim()
    rate = 2_000_000
    initial = 2**32 - 5 * rate // 2  # wraps about 2.5 s after snmpsim starts
    data = tmp_path / "data"
    data.mkdir()
    (data / "wrap.snmprec").write_text(WRAP_REC.format(initial=initial, rate=rate))
    with snmpsim.running_snmpsim(data) as (_host, port):
        started = time.monotonic()

        async def run() -> tuple[State, list[SnmpObservation]]:
            state = one_device_state()
            cred = v2c("wrap", port)
            out = []
            async with SnmpEngine() as engine:
                out.append(await probe(device(), cred, SETTINGS, engine))
                state.record(out[0])
                await asyncio.sleep(max(0.0, 3.5 - (time.monotonic() - started)))
                out.append(await probe(device(), cred, SETTINGS, engine))
                state.record(out[1])
            return state, out

        state, obs = asyncio.run(run())
    raw0, raw1 = obs[0].interfaces[0].in_octets, obs[1].interfaces[0].in_octets
    assert obs[0].interfaces[0].counter_bits == 32
    assert raw1 < raw0, "the counter should have wrapped between the polls"
    acc = state.devices["dev"].part(SNMP).interfaces[1].counters["in_octets"]
    assert acc.total - raw0 == raw1 + 2**32 - raw0
    elapsed = obs[1].time - obs[0].time
    bps = state.devices["dev"].part(SNMP).interfaces[1].in_bps
    low = rate * (1 - obs[0].duration / elapsed) * 0.97
    high = rate * (1 + obs[1].duration / elapsed) * 1.03
    assert low <= bps / 8 <= high
    assert bps == pytest.approx((raw1 + 2**32 - raw0) * 8 / elapsed)


def fake(t: float, ticks: int, octets: int, bits: int = 64) -> SnmpObservation:
    iface = SnmpInterface(index=1, name="eth0", in_octets=octets, out_octets=0, counter_bits=bits)
    return SnmpObservation(device="dev", time=t, uptime_ticks=ticks, interfaces=[iface])


def test_uptime_drop_is_a_reboot_and_resets_the_total():
    state = one_device_state()
    state.record(fake(1000.0, 500_000, 9_000_000))
    state.record(fake(1060.0, 506_000, 9_600_000))
    state.record(fake(1120.0, 3_000, 1_000))  # rebooted 30 s ago
    snmp = state.devices["dev"].part(SNMP)
    assert snmp.reboots_total == 1
    # The total restarts at the device's own value: a counter reset as Prometheus expects.
    assert snmp.interfaces[1].counters["in_octets"].total == 1_000
    assert snmp.interfaces[1].in_bps is None  # no rate across a reboot
    state.record(fake(1180.0, 9_000, 61_000))
    assert snmp.interfaces[1].in_bps == pytest.approx(60_000 * 8 / 60)


def test_timeticks_wrap_after_497_days_is_not_a_reboot():
    state = one_device_state()
    near = 2**32 - 3_000  # 30 s before the 32-bit TimeTicks wrap
    state.record(fake(1000.0, near, 100))
    state.record(fake(1060.0, (near + 6_000) % 2**32, 200))
    snmp = state.devices["dev"].part(SNMP)
    assert (snmp.reboots_total, snmp.uptime_wraps_total) == (0, 1)
    assert snmp.interfaces[1].counters["in_octets"].total == 200


def test_counter64_drop_without_reboot_is_a_discontinuity():
    state = one_device_state()
    state.record(fake(1000.0, 100_000, 5_000_000))
    state.record(fake(1060.0, 106_000, 10))
    ist = state.devices["dev"].part(SNMP).interfaces[1]
    assert ist.in_bps is None and ist.counters["in_octets"].total == 10


def test_unknown_community_times_out(recordings_agent):
    async def run() -> SnmpObservation:
        async with SnmpEngine() as engine:
            return await probe(device(), v2c("no-such-device", recordings_agent[1]),
                               FAST_TIMEOUT, engine)  # fmt: skip

    obs = asyncio.run(run())
    assert obs.error == "timeout"
    assert obs.interfaces == [] and obs.uptime_ticks is None


def test_nobody_listening_times_out():
    port = free_udp_port()  # bound then released: nothing answers there

    async def run() -> SnmpObservation:
        async with SnmpEngine() as engine:
            return await probe(device(), v2c("public", port), FAST_TIMEOUT, engine)

    assert asyncio.run(run()).error == "timeout"


def test_missing_secret_is_a_credential_error():
    cred = SnmpCredential(name="c", version="2c", community=SecretRef(env="NW_TEST_UNSET_VAR"))

    async def run() -> SnmpObservation:
        async with SnmpEngine() as engine:
            return await probe(device(), cred, FAST_TIMEOUT, engine)

    obs = asyncio.run(run())
    assert obs.error == "credential" and "NW_TEST_UNSET_VAR" in obs.message


V3 = ["--v3-engine-id=auto", "--v3-user=poller", "--v3-auth-key=authpass123",
      "--v3-auth-proto=SHA", "--v3-priv-key=privpass123", "--v3-priv-proto=AES"]  # fmt: skip


def v3cred(port: int, auth_key: str) -> SnmpCredential:
    import os

    os.environ["NW_TEST_V3_AUTH"] = auth_key
    os.environ["NW_TEST_V3_PRIV"] = "privpass123"
    return SnmpCredential(
        name="v3", version="3", user="poller", auth_protocol="sha",
        auth_key=SecretRef(env="NW_TEST_V3_AUTH"), priv_protocol="aes128",
        priv_key=SecretRef(env="NW_TEST_V3_PRIV"), context="routeros", port=port,
    )  # fmt: skip


def test_v3_right_and_wrong_key(recordings_dir: Path, tmp_path: Path):
    need_snmpsim()
    recs = snmprec.read(recordings_dir / "routeros.snmprec")
    (tmp_path / "routeros.snmprec").write_bytes((recordings_dir / "routeros.snmprec").read_bytes())
    with snmpsim.running_snmpsim(tmp_path, extra_args=V3) as (_host, port):

        async def run(key: str) -> SnmpObservation:
            async with SnmpEngine() as engine:
                return await probe(device(), v3cred(port, key), SETTINGS, engine)

        good = asyncio.run(run("authpass123"))
        bad = asyncio.run(run("wrongpass999"))
    assert good.error is None, good.message
    assert good.uptime_ticks == snmprec.scalar(recs, "1.3.6.1.2.1.1.3.0").number
    per_interface = [s.value for s in good.wifi_clients if ("scope", "interface") in s.labels]
    assert sorted(per_interface) == [0, 0, 4, 7]
    assert bad.error == "auth", (bad.error, bad.message)


def test_hr_system_uptime_fallback_when_sysuptime_is_missing(recordings_dir: Path, tmp_path: Path):
    need_snmpsim()
    lines = (recordings_dir / "linux_ntc.snmprec").read_text().splitlines(keepends=True)
    kept = [ln for ln in lines if not ln.startswith("1.3.6.1.2.1.1.3.0|")]
    assert len(kept) == len(lines) - 1
    (tmp_path / "nouptime.snmprec").write_text("".join(kept))
    recs = snmprec.read(recordings_dir / "linux_ntc.snmprec")
    with snmpsim.running_snmpsim(tmp_path) as (_host, port):
        obs = asyncio.run(poll_once(port, "nouptime"))
    assert obs.error is None, obs.message
    assert obs.uptime_source == "hrSystemUptime"
    assert obs.uptime_ticks == snmprec.scalar(recs, "1.3.6.1.2.1.25.1.1.0").number


async def poll_once(port: int, community: str) -> SnmpObservation:
    async with SnmpEngine() as engine:
        return await probe(device(), v2c(community, port), SETTINGS, engine)


def test_failed_interface_walk_keeps_the_totals():
    state = one_device_state()
    state.record(fake(1000.0, 100_000, 5_000))
    broken = fake(1060.0, 106_000, 0)
    broken.interfaces = []  # the ifXTable walk timed out: no interface rows this time
    broken.failed_walks = ["1.3.6.1.2.1.31.1.1.1.6"]
    state.record(broken)
    snmp = state.devices["dev"].part(SNMP)
    assert snmp.interfaces[1].counters["in_octets"].total == 5_000
    state.record(fake(1120.0, 112_000, 17_000))
    assert snmp.interfaces[1].counters["in_octets"].total == 17_000
    assert snmp.interfaces[1].in_bps == pytest.approx(12_000 * 8 / 120)
