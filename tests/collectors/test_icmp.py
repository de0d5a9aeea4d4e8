"""ICMP collector: real echoes over loopback and test-made namespaces, checked against fping."""

from __future__ import annotations

import asyncio
import json
import math
import os
import random
import shutil
import socket
import struct
import subprocess
import sys

import pytest

from netwatch.collectors.icmp import Pinger, checksum, probe
from netwatch.collectors.icmp_wire.sockets import EchoSocket
from netwatch.core.model import Device, District, Inventory, PingSettings, Role, Settings
from netwatch.core.state import State
from tests.helpers.icmp_forge import forge_reply, silent_host_namespace
from tests.helpers.netns import Netlab, requires_root

pytestmark = [pytest.mark.root, requires_root]

FPING = shutil.which("fping")
LOOPBACK = ["127.0.0.1", "127.0.0.2", "127.3.4.5", "127.255.0.9"]


def fping_alive(addresses: list[str], argv_prefix: list[str] | None = None) -> set[str]:
    """Addresses fping (an independent C implementation) finds alive."""
    assert FPING, "fping is a test dependency (apt-get install fping)"
    argv = [*(argv_prefix or []), FPING, "-a", "-r", "1", "-t", "300", *addresses]
    out = subprocess.run(argv, capture_output=True, text=True, timeout=30).stdout
    return set(out.split())


def one_device_state(address: str) -> State:
    """A State with one router at address (the minimal inventory a ping round needs)."""
    device = Device(name="r1", role=Role.ROUTER, address=address, district="35.10.07")
    district = District(code="35.10.07", name="Gambiran", devices=("r1",))
    inv = Inventory(
        regency_code="35.10",
        regency_name="Banyuwangi",
        settings=Settings(),
        districts={district.code: district},
        villages={},
        devices={"r1": device},
        credentials={},
    )
    return State(inv)


@pytest.fixture
async def pinger():
    p = await Pinger.create()
    yield p
    p.close()


def test_checksum_rfc1071_example():
    # RFC 1071 section 3: these bytes sum to 0xddf2, so the checksum is its complement.
    assert checksum(bytes.fromhex("0001f203f4f5f6f7")) == 0xFFFF - 0xDDF2


@pytest.mark.parametrize("size", [8, 9, 56, 1400])
def test_incremental_checksum_of_echo_requests_verifies(size):
    """The checksum summed from the header's words (as raw IPv4 sends it) is the one RFC 1071's
    byte-wise sum gives: the whole packet then sums to zero. Loopback does not verify it."""
    rng = random.Random(size)
    padding = bytes((0x10 + i) & 0xFF for i in range(size - 8))
    words = padding + b"\0" if len(padding) % 2 else padding
    pad_sum = sum(struct.unpack(f"!{len(words) // 2}H", words))
    edges = [0, 1, 0xFFFE, 0xFFFF, 0x10000, 2**63, 2**64 - 1]
    serials = edges + [rng.getrandbits(64) for _ in range(300)]
    for _ in range(5):  # sockets with their own (random) identifiers
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
            fam = EchoSocket(sock, "raw", False)
            for serial in serials:
                for seq in (0, 0xFFFF, rng.getrandbits(16)):
                    packet = fam.packet_serial(seq, serial, padding, pad_sum)
                    assert checksum(packet) == 0, (size, serial, seq, fam.ident)


async def test_loopback_hosts_answer(pinger):
    assert pinger.mode == "raw"  # root: the privileged socket is preferred
    results = await pinger.sweep(LOOPBACK, count=3, spacing=0.01, timeout=1.0)
    assert [r.address for r in results] == LOOPBACK
    for r in results:
        assert (r.sent, r.received, r.error) == (3, 3, None)
        assert r.loss_ratio == 0.0
        assert len(r.rtts) == 3
        assert all(0 < t < 0.5 for t in r.rtts)
        assert r.jitter is not None and r.jitter >= 0
    assert fping_alive(LOOPBACK) == set(LOOPBACK)


def test_ipv6_loopback_answers(netlab):
    # In a namespace of its own, whose lo always has ::1 (the host's lo may not).
    ns = netlab.add("v6")

    async def ping():
        p = await Pinger.create()
        try:
            return await p.ping("::1", count=4, spacing=0.01)
        finally:
            p.close()

    r = ns.call(asyncio.run, ping())
    assert (r.sent, r.received, r.error) == (4, 4, None)
    assert all(0 < t < 0.5 for t in r.rtts)
    assert fping_alive(["::1"], ns.argv()) == {"::1"}


async def test_concurrent_rounds_to_one_address_count_their_own(pinger):
    a, b, c = await asyncio.gather(
        pinger.ping("127.0.0.1", count=40, spacing=0.001),
        pinger.ping("127.0.0.1", count=25, spacing=0.002),
        pinger.ping("127.0.0.7", count=30, spacing=0.001),
    )
    assert (a.sent, a.received) == (40, 40)
    assert (b.sent, b.received) == (25, 25)
    assert (c.sent, c.received) == (30, 30)


async def test_sweep_of_many_hosts_counts_each_exactly(pinger):
    addresses = [f"127.9.{i // 250}.{i % 250 + 1}" for i in range(2000)]
    results = await pinger.sweep(addresses, count=3, spacing=0.01, timeout=2.0)
    assert len(results) == 2000
    assert {(r.sent, r.received) for r in results} == {(3, 3)}
    assert all(len(r.rtts) == 3 for r in results)


async def test_late_replies_are_ignored(pinger):
    # With a zero timeout every reply is late (loopback takes microseconds, not zero).
    late = await pinger.ping("127.0.0.1", count=5, spacing=0.001, timeout=0.0)
    assert (late.sent, late.received, late.rtts) == (5, 0, [])
    # The next round to the same host sees exactly its own replies, none left over.
    again = await pinger.ping("127.0.0.1", count=5, spacing=0.001, timeout=1.0)
    assert (again.sent, again.received) == (5, 5)


async def test_names_use_the_injected_resolver_only():
    asked: list[str] = []

    async def resolver(name: str) -> list[str]:
        asked.append(name)
        if name == "router.desa.test":
            return ["127.0.0.8"]
        raise socket.gaierror(socket.EAI_NONAME, "Name or service not known")

    p = await Pinger.create(resolver=resolver)
    try:
        ok, bad = await p.sweep(["router.desa.test", "nowhere.invalid"], count=2, spacing=0.01)
    finally:
        p.close()
    assert sorted(asked) == ["nowhere.invalid", "router.desa.test"]
    assert (ok.address, ok.sent, ok.received, ok.error) == ("router.desa.test", 2, 2, None)
    assert bad.error is not None and bad.error.startswith("unresolvable: nowhere.invalid")
    assert (bad.sent, bad.received, bad.loss_ratio) == (0, 0, 1.0)


async def test_a_stuck_resolver_is_bounded():
    async def stuck(name: str) -> list[str]:
        await asyncio.sleep(3600)
        return []

    p = await Pinger.create(resolver=stuck)
    p.resolve_timeout = 0.2
    try:
        r = await asyncio.wait_for(p.ping("slow.desa.test", count=1), 2.0)
    finally:
        p.close()
    assert r.error == "unresolvable: slow.desa.test: no answer in 0.2 s"
    assert r.sent == 0


async def test_probe_builds_an_observation(pinger):
    device = Device(name="ap-1", role=Role.AP, address="127.0.0.9", district="35.10.07")
    settings = PingSettings(count=3, spacing=0.01, timeout=1.0, size=56)
    obs = await probe(device, settings, pinger)
    assert obs.device == "ap-1"
    assert (obs.result.sent, obs.result.received) == (3, 3)
    assert 0 < obs.duration < 2.0


async def test_bad_arguments_are_value_errors(pinger):
    with pytest.raises(ValueError, match="mode"):
        Pinger.open(mode="udp")
    with pytest.raises(ValueError, match="count"):
        await pinger.ping("127.0.0.1", count=0)
    with pytest.raises(ValueError, match="size"):
        await pinger.sweep(["127.0.0.1"], size=70000)


@pytest.mark.parametrize("size", [0, 7, 56, 1400])
async def test_payload_sizes(pinger, size):
    r = await pinger.ping("127.0.0.1", count=2, spacing=0.01, size=size)
    assert (r.sent, r.received) == (2, 2)


def _two_villages(lab: Netlab):
    core, village = lab.add("core"), lab.add("vil")
    link = lab.link(core, "127.100.0.1", village, "127.100.0.2")
    return core, village, link


async def test_unreachable_host_is_down(netlab):
    core, _, link = _two_villages(netlab)
    pinger = core.call(Pinger.open)
    try:
        up = await pinger.ping("127.100.0.2", count=3, spacing=0.01)
        assert (up.sent, up.received) == (3, 3)
        link.set_up(False, side="b")
        down = await pinger.ping("127.100.0.2", count=3, spacing=0.01, timeout=0.3)
        # no route out of the namespace
        noroute = await pinger.ping("127.200.0.1", count=3, spacing=0.01)
    finally:
        pinger.close()
    assert (down.sent, down.received, down.loss_ratio, down.error) == (3, 0, 1.0, None)
    assert fping_alive(["127.100.0.2"], core.argv()) == set()

    state = one_device_state("127.100.0.2")
    from netwatch.collectors.icmp.observation import PingObservation

    state.record(PingObservation("r1", 1000.0, down))
    ds = state.devices["r1"]
    assert (ds.up, ds.reason) == (False, "no reply")

    assert noroute.error is not None and noroute.error.startswith("send failed:")
    assert "unreachable" in noroute.error.lower()
    state.record(PingObservation("r1", 1001.0, noroute))
    assert (ds.up, ds.reason) == (False, noroute.error)


async def test_village_behind_its_district_router(netlab):
    core, dist, vil = netlab.add("core"), netlab.add("dist", router=True), netlab.add("vil")
    netlab.link(core, "127.101.0.1", dist, "127.101.0.2")
    uplink = netlab.link(dist, "127.102.0.1", vil, "127.102.0.2")
    netlab.route(core, "127.102.0.0/24", via="127.101.0.2")
    netlab.route(vil, "127.101.0.0/24", via="127.102.0.1")
    targets = ["127.101.0.2", "127.102.0.2"]  # the district router, the village behind it
    pinger = core.call(Pinger.open)
    try:
        before = await pinger.sweep(targets, count=3, spacing=0.01, timeout=0.5)
        assert fping_alive(targets, core.argv()) == set(targets)
        uplink.set_up(False)  # the district's link to the village fails
        after = await pinger.sweep(targets, count=3, spacing=0.01, timeout=0.5)
    finally:
        pinger.close()
    assert [(r.sent, r.received) for r in before] == [(3, 3), (3, 3)]
    assert [(r.sent, r.received, r.error) for r in after] == [(3, 3, None), (3, 0, None)]
    assert fping_alive(targets, core.argv()) == {"127.101.0.2"}


async def test_thirty_percent_inbound_loss(netlab):
    core, _, _ = _two_villages(netlab)
    # nft's one-line form does not parse this rule: one statement a line.
    core.nft(
        """
        table inet nwloss {
            chain input {
                type filter hook input priority 0; policy accept;
                icmp type echo-reply numgen random mod 100 < 30 drop
            }
        }
        """
    )
    pinger = core.call(Pinger.open)
    n = 400
    try:
        r = await pinger.ping("127.100.0.2", count=n, spacing=0.001, timeout=0.5)
    finally:
        pinger.close()
    assert r.sent == n
    # Binomial(400, 0.3): sd = 0.0229; 4.5 sd keeps a false failure below 1e-5.
    sd = math.sqrt(0.3 * 0.7 / n)
    assert abs(r.loss_ratio - 0.3) < 4.5 * sd, r.loss_ratio
    state = one_device_state("127.100.0.2")
    from netwatch.collectors.icmp.observation import PingObservation

    state.record(PingObservation("r1", 1000.0, r))
    assert state.devices["r1"].up is True


async def test_datagram_socket_mode(netlab):
    core, _, _ = _two_villages(netlab)
    core.sysctl("net.ipv4.ping_group_range", f"{os.getgid()} {os.getgid()}")
    pinger = core.call(Pinger.open, mode="dgram")
    try:
        assert pinger.mode == "dgram"
        assert {s["family"]: s["mode"] for s in pinger.stats()} == {
            "ipv4": "dgram",
            "ipv6": "dgram",
        }
        a, b, far, v6 = await asyncio.gather(
            pinger.ping("127.0.0.1", count=30, spacing=0.001),
            pinger.ping("127.0.0.1", count=20, spacing=0.001),
            pinger.ping("127.100.0.2", count=10, spacing=0.001),
            pinger.ping("::1", count=10, spacing=0.001),
        )
    finally:
        pinger.close()
    assert (a.sent, a.received) == (30, 30)
    assert (b.sent, b.received) == (20, 20)
    assert (far.sent, far.received) == (10, 10)
    assert (v6.sent, v6.received) == (10, 10)


# --- the CLI -------------------------------------------------------------------------------

CLI = [sys.executable, "-m", "netwatch", "ping"]


def cli(*args: str, prefix: list[str] | None = None, stdin: str | None = None):
    return subprocess.run(
        [*(prefix or []), *CLI, *args], capture_output=True, text=True, input=stdin, timeout=60
    )


def test_cli_lines_like_fping():
    out = cli("-c", "3", "-p", "10", "127.0.0.1", "127.0.0.22")
    assert out.returncode == 0, out.stderr
    lines = out.stdout.splitlines()
    assert [line.split(" : ")[0].rstrip() for line in lines] == ["127.0.0.1", "127.0.0.22"]
    assert len({line.index(" : ") for line in lines}) == 1  # aligned as fping aligns
    for line in lines:
        values = line.split(" : ")[1].split()
        assert len(values) == 3
        assert all(0 < float(v) < 500 for v in values)  # milliseconds
    assert "2 hosts: 2 answered" in out.stderr


def test_cli_json_and_stdin_file():
    out = cli(
        "--json", "-c", "2", "-p", "10", "-f", "-", stdin="127.0.0.1\n\n# comment\n127.0.0.3\n"
    )
    assert out.returncode == 0, out.stderr
    data = json.loads(out.stdout)
    # Compact: the array's brackets on lines of their own, one whole object on each line between
    lines = out.stdout.splitlines()
    assert (lines[0], lines[-1], len(lines)) == ("[", "]", 4)
    assert [json.loads(line.rstrip(",")) for line in lines[1:-1]] == data
    assert ", " not in out.stdout and ": " not in out.stdout
    assert [d["address"] for d in data] == ["127.0.0.1", "127.0.0.3"]
    for d in data:
        assert (d["sent"], d["received"], d["loss_ratio"], d["error"]) == (2, 2, 0.0, None)
        assert d["rtt_min_seconds"] <= d["rtt_avg_seconds"] <= d["rtt_max_seconds"]
        assert len(d["rtts_seconds"]) == 2
        assert d["jitter_seconds"] == pytest.approx(
            abs(d["rtts_seconds"][1] - d["rtts_seconds"][0])
        )


def test_cli_json_pretty_holds_the_same_fields_indented():
    out = cli("--json-pretty", "-c", "2", "-p", "10", "127.0.0.1", "127.0.0.2")
    assert out.returncode == 0, out.stderr
    data = json.loads(out.stdout)
    assert out.stdout.startswith('[\n  {\n    "address": "127.0.0.1",\n')
    assert [d["address"] for d in data] == ["127.0.0.1", "127.0.0.2"]
    compact = json.loads(cli("--json", "-c", "2", "-p", "10", "127.0.0.1").stdout)
    assert list(data[0]) == list(compact[0])  # same keys, same order
    assert [(d["sent"], d["received"]) for d in data] == [(2, 2), (2, 2)]
    both = cli("--json", "--json-pretty", "127.0.0.1")
    assert both.returncode == 2 and "not allowed with argument" in both.stderr


def test_cli_dead_host_exit_1(netlab):
    core, _, link = _two_villages(netlab)
    link.set_up(False)
    out = cli("-c", "2", "-p", "10", "-t", "0.2", "127.0.0.1", "127.100.0.2", prefix=core.argv())
    assert out.returncode == 1, out.stderr
    lines = dict(line.split(" : ") for line in out.stdout.splitlines())
    lines = {k.rstrip(): v.split() for k, v in lines.items()}
    assert lines["127.100.0.2"] == ["-", "-"]
    assert len(lines["127.0.0.1"]) == 2 and "-" not in lines["127.0.0.1"]
    assert "1 lost all echoes" in out.stderr


@pytest.mark.parametrize(
    "args",
    [
        [],
        ["-c", "0", "127.0.0.1"],
        ["-c", "abc", "127.0.0.1"],
        ["-p", "-1", "127.0.0.1"],
        ["-t", "nan", "127.0.0.1"],
        ["-f", "/nonexistent/hosts"],
    ],
)
def test_cli_usage_errors_exit_2(args):
    out = cli(*args)
    assert out.returncode == 2
    assert out.stderr.strip()


def test_cli_file_error_names_file_and_line(tmp_path):
    hosts = tmp_path / "hosts.txt"
    hosts.write_text("127.0.0.1\n# ok\n127.0.0.2 127.0.0.3\n")
    out = cli("-f", str(hosts))
    assert out.returncode == 2
    assert f"{hosts}:3:" in out.stderr
    assert out.stdout == ""  # nothing was pinged


def test_cli_without_privilege_names_the_fix(netlab):
    core = netlab.add("nopriv")
    core.sysctl("net.ipv4.ping_group_range", "1 0")  # no group may open datagram ICMP
    setpriv = ["setpriv", "--bounding-set=-net_raw", "--inh-caps=-net_raw", "--"]
    out = cli("127.0.0.1", prefix=core.argv(*setpriv))
    assert out.returncode == 2, out.stdout + out.stderr
    assert "CAP_NET_RAW" in out.stderr
    assert "ping_group_range" in out.stderr


# --- forged replies: the matching rules, with real packets ---------------------------------


async def test_forged_replies_match_only_host_serial_and_identifier(netlab):
    ns = silent_host_namespace(netlab, "forge")
    pinger = ns.call(Pinger.open)
    forger = ns.call(socket.socket, socket.AF_INET, socket.SOCK_RAW, socket.IPPROTO_RAW)
    try:
        task = asyncio.create_task(pinger.ping("127.0.0.2", count=1, timeout=3.0))
        fam = pinger._families[socket.AF_INET]
        for _ in range(100):
            if fam.pending:
                break
            await asyncio.sleep(0.005)
        ((seq, entry),) = fam.pending.items()
        serial = entry[3]
        good = struct.pack("!Q", serial) + bytes(48)
        bad_serial = struct.pack("!Q", serial ^ 1) + bytes(48)
        forged = [
            forge_reply("127.0.0.3", "127.0.0.1", fam.ident, seq, good),  # wrong host
            forge_reply("127.0.0.2", "127.0.0.1", fam.ident, seq, bad_serial),  # wrong serial
            forge_reply("127.0.0.2", "127.0.0.1", fam.ident ^ 0xFFFF, seq, good),  # not our id
        ]
        for packet in forged:
            forger.sendto(packet, ("127.0.0.1", 0))
        await asyncio.sleep(0.05)
        assert not task.done()  # none of them answered the echo
        right = forge_reply("127.0.0.2", "127.0.0.1", fam.ident, seq, good)
        forger.sendto(right, ("127.0.0.1", 0))
        forger.sendto(right, ("127.0.0.1", 0))  # a duplicate
        result = await asyncio.wait_for(task, 2.0)  # ends at the reply, not the timeout
        await asyncio.sleep(0.05)
        (stats,) = [s for s in pinger.stats() if s["family"] == "ipv4"]
    finally:
        forger.close()
        pinger.close()
    assert (result.sent, result.received, result.error) == (1, 1, None)
    # wrong host + wrong serial + the duplicate; another identifier is not even ours.
    assert stats["unmatched_replies"] == 3
    assert stats["outstanding"] == 0


async def test_self_metrics_count_late_replies_and_send_errors(netlab):
    from prometheus_client import CollectorRegistry, generate_latest
    from prometheus_client.parser import text_string_to_metric_families

    from netwatch.collectors.icmp import self_metrics as icmp_metrics

    ns = netlab.add("metrics")
    pinger = ns.call(Pinger.open)
    registry = CollectorRegistry()
    undo = icmp_metrics.register(pinger, registry)
    try:
        # Every loopback reply is later than a zero timeout: 5 late (or, once the round has
        # ended, unmatched) replies. 127.200.0.1 has no route in the namespace: 1 failed send.
        late = await pinger.ping("127.0.0.1", count=5, spacing=0.001, timeout=0.0)
        noroute = await pinger.ping("127.200.0.1", count=3, spacing=0.001)
        await asyncio.sleep(0.05)
        text = generate_latest(registry).decode()
    finally:
        undo()
        pinger.close()
    assert (late.sent, late.received) == (5, 0)
    assert noroute.error is not None
    samples = {
        (s.name, tuple(sorted(s.labels.items()))): s.value
        for fam in text_string_to_metric_families(text)
        for s in fam.samples
    }
    v4 = (("family", "ipv4"),)
    late_n = samples[("netwatch_icmp_late_replies_total", v4)]
    unmatched_n = samples[("netwatch_icmp_unmatched_replies_total", v4)]
    assert late_n + unmatched_n == 5
    assert samples[("netwatch_icmp_send_errors_total", v4)] == 1
    assert samples[("netwatch_icmp_outstanding_echoes", v4)] == 0
    assert samples[("netwatch_icmp_socket_info", (("family", "ipv4"), ("mode", "raw")))] == 1


def test_ipv6_link_local_with_scope_in_a_namespace(netlab):
    core, village, link = _two_villages(netlab)
    peer = village.link_local(link.dev_b)
    ifindex = core.run("cat", f"/sys/class/net/{link.dev_a}/ifindex").stdout.strip()
    targets = [f"{peer}%{link.dev_a}", f"{peer}%{ifindex}", "127.100.0.2", f"{peer}%nosuchif"]

    async def sweep():
        p = await Pinger.create()
        try:
            return await p.sweep(targets, count=3, spacing=0.01, timeout=1.0)
        finally:
            p.close()

    # The whole loop runs inside the namespace, so interface names resolve there.
    by_name, by_index, v4, bad = core.call(asyncio.run, sweep())
    for r in (by_name, by_index, v4):
        assert (r.sent, r.received, r.error) == (3, 3, None), r
    assert bad.error is not None and bad.error.startswith("unresolvable:")
    assert fping_alive([f"{peer}%{link.dev_a}"], core.argv()) == {f"{peer}%{link.dev_a}"}


async def test_close_ends_running_rounds_cleanly(netlab):
    core, _, link = _two_villages(netlab)
    link.set_up(False, side="b")  # silent: the rounds would run to their timeouts
    loop = asyncio.get_running_loop()
    problems: list[dict] = []
    loop.set_exception_handler(lambda _loop, ctx: problems.append(ctx))
    pinger = core.call(Pinger.open)
    # Echo 1 is due at 0.5 s; the close comes at 0.1 s (a loop stall under 0.4 s is harmless).
    one = asyncio.create_task(pinger.ping("127.100.0.2", count=5, spacing=0.5, timeout=5.0))
    many = asyncio.create_task(
        pinger.sweep(["127.100.0.2", "127.0.0.1"], count=5, spacing=0.5, timeout=5.0)
    )
    await asyncio.sleep(0.1)
    pinger.close()
    r1, (r2, r3) = await asyncio.wait_for(asyncio.gather(one, many), 1.0)
    await asyncio.sleep(0.5)  # past the next echo's time: no timer may fire on the closed pinger
    assert problems == []
    assert (r1.sent, r1.received) == (1, 0)
    assert (r2.sent, r2.received) == (1, 0)
    assert (r3.sent, r3.received) == (1, 1)  # 127.0.0.1 answered before the close
    after = await pinger.ping("127.0.0.1", count=1)
    assert (after.sent, after.error) == (0, "send failed: the pinger is closed")


def test_runtime_pings_devices_through_the_scheduler(netlab, tmp_path):
    """The collector as `netwatch run` drives it: scheduler → echo stream → state, then stop."""
    from netwatch.core.model import AlertingSettings, PingSettings, Settings
    from netwatch.core.runtime import Runtime
    from netwatch.core.state import VillageStatus
    from tests.core.inventories import make_inventory

    core, _, link = _two_villages(netlab)
    core.run("ip", "addr", "add", "127.0.0.5/32", "dev", "lo")
    link.set_up(False, side="b")  # the AP behind the link is silent
    # An echo every 0.2 s and bursts on loss: some are always mid-flight when it stops.
    settings = Settings(
        ping=PingSettings(interval=1.0, count=5, spacing=0.2, timeout=0.3),
        # the engine's store in the test's folder, not the working directory (the repository)
        alerting=AlertingSettings(db_path=str(tmp_path / "alerts.sqlite3")),
    )
    inv = make_inventory(
        {
            "35.10.07.2001": [("r1", Role.ROUTER, "127.0.0.1"), ("ap1", Role.AP, "127.0.0.5")],
            "35.10.07.2002": [("r2", Role.ROUTER, "127.0.0.1"), ("ap2", Role.AP, "127.100.0.2")],
        },
        settings,
    )

    async def run():
        problems: list[dict] = []
        asyncio.get_running_loop().set_exception_handler(lambda _l, ctx: problems.append(ctx))
        rt = Runtime("/nonexistent/netwatch.yaml", inv)
        await rt.start()
        try:
            for _ in range(100):  # bounded: 10 s
                if all(ds.up is not None for ds in rt.state.devices.values()):
                    break
                await asyncio.sleep(0.1)
            snapshot = {n: (ds.up, ds.reason) for n, ds in rt.state.devices.items()}
            villages = {c: rt.state.village_status(c) for c in inv.villages}
        finally:
            await rt.stop()
        await asyncio.sleep(0.2)
        return snapshot, villages, problems

    snapshot, villages, problems = core.call(asyncio.run, run())
    assert snapshot == {
        "r1": (True, ""),
        "ap1": (True, ""),
        "r2": (True, ""),
        "ap2": (False, "no reply"),
    }
    assert villages == {
        "35.10.07.2001": VillageStatus.UP,
        "35.10.07.2002": VillageStatus.DOWN,  # its only AP is silent
    }
    assert [p.get("message") for p in problems] == []


async def test_more_echoes_than_sequence_numbers(netlab):
    """75,000 echoes to silent hosts in one sweep: past 65,536 outstanding, lost echoes free
    their sequence numbers at their timeout and the rest are still sent."""
    core, vil, _ = _two_villages(netlab)
    core.run("ip", "route", "add", "127.200.0.0/16", "via", "127.100.0.2")
    vil.nft(
        """
        table inet nwsilent {
            chain input {
                type filter hook input priority 0; policy accept;
                icmp type echo-request drop
            }
        }
        """
    )
    silent = [f"127.200.{i // 250}.{i % 250 + 1}" for i in range(25_000)]
    pinger = core.call(Pinger.open)
    loop = asyncio.get_running_loop()
    started = loop.time()
    try:
        sweep = asyncio.create_task(
            pinger.sweep([*silent, "127.0.0.1"], count=3, spacing=0.0, timeout=2.0)
        )
        # 65,536 sends take well under the 2 s timeout, so the space stays full until the
        # first echoes expire.
        full = False
        for _ in range(400):  # bounded: 4 s
            (stats,) = [s for s in pinger.stats() if s["family"] == "ipv4"]
            if stats["outstanding"] >= 65_536:
                full = True
                break
            await asyncio.sleep(0.01)
        assert full, stats
        # While the sweep holds the sequence space, single rounds wait for numbers too.
        single = await pinger.ping("127.0.0.1", count=2, spacing=0.0, timeout=0.5)
        results = await asyncio.wait_for(sweep, 30.0)
        (stats,) = [s for s in pinger.stats() if s["family"] == "ipv4"]
    finally:
        pinger.close()
    elapsed = loop.time() - started
    assert {(r.sent, r.received, r.error) for r in results[:-1]} == {(3, 0, None)}
    assert (results[-1].sent, results[-1].received) == (3, 3)
    assert (single.sent, single.received, single.error) == (2, 2, None)
    assert stats["outstanding"] == 0
    assert stats["send_errors"] == 0
    assert elapsed < 20.0


def test_cli_ping_loads_only_what_it_needs_and_help_still_lists_every_command():
    """`netwatch ping` is compared with fping start-up included (bench/ping_bench.py): it
    imports no other command's module, no SNMP collector and no metrics registry; a sweep of
    IPv4 literals not even asyncio, the collector package or dataclasses."""
    probe = (
        "import sys; from netwatch.cli import main; rc = main(['ping', '-c', '1', '127.0.0.1']);"
        "print(sorted(m for m in sys.modules if m.startswith(('netwatch.collectors.snmp',"
        "'prometheus_client', 'netwatch.commands.', 'netwatch.alerting', 'asyncio',"
        "'netwatch.collectors.icmp.', 'dataclasses'))), file=sys.stderr)"
    )
    out = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, timeout=60)
    assert out.returncode == 0, out.stderr
    assert out.stderr.strip().splitlines()[-1] == "['netwatch.commands.ping']"
    from netwatch.cli import COMMANDS

    listed = subprocess.run([sys.executable, "-m", "netwatch", "--help"], capture_output=True,
                            text=True, timeout=60).stdout  # fmt: skip
    assert all(name in listed for name in COMMANDS)
