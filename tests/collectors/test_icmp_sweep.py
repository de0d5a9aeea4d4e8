"""`netwatch ping`'s batched sweep (collectors/icmp_wire/sweep.py): real echoes over loopback
and test-made namespaces, checked against fping and against the collector's Pinger."""

from __future__ import annotations

import asyncio
import json
import shutil
import socket
import struct
import subprocess
import sys

import pytest

from netwatch.collectors.icmp import Pinger
from netwatch.collectors.icmp_wire import sockets, sweep
from netwatch.collectors.icmp_wire.sockets import checksum
from tests.helpers.icmp_forge import forge_reply, silent_host_namespace
from tests.helpers.netns import Netlab, requires_root

pytestmark = [pytest.mark.root, requires_root]

FPING = shutil.which("fping")


def loopback(n: int, second: int = 61) -> list[str]:
    """n distinct addresses of the host's 127/8, none of them .0 or .255."""
    return [f"127.{second}.{i // 250}.{i % 250 + 1}" for i in range(n)]


def test_a_sweep_answers_every_echo_fping_finds_alive():
    hosts = loopback(2000)
    result = sweep.sweep(hosts, 2, 0.005, 1.0, 56)
    assert result is not None  # IPv4 literals as root: the batched path
    assert (result.errors, result.unmatched, result.late) == ({}, 0, 0)
    assert all(rtt is not None and 0.0 <= rtt < 1.0 for rtt in result.rtts)
    assert [result.sent(h) for h in (0, 1999)] == [2, 2]
    assert FPING, "fping is a test dependency (apt-get install fping)"
    sample = hosts[::97]
    alive = subprocess.run(
        [FPING, "-a", "-r", "0", "-t", "500", *sample], capture_output=True, text=True, timeout=30
    ).stdout.split()
    assert sorted(alive) == sorted(sample)


def test_paths_that_do_not_apply_are_left_to_the_pinger():
    assert sweep.sweep(["127.0.0.1", "::1"], 1, 0.0, 1.0, 56) is None  # IPv6
    assert sweep.sweep(["127.0.0.1", "localhost"], 1, 0.0, 1.0, 56) is None  # a name
    assert sweep.sweep(["127.1"], 1, 0.0, 1.0, 56) is None  # inet_aton's shorthand
    assert sweep.sweep(["127.0.0.1"], 1, 0.0, 1.0, 4) is None  # too short for the serial
    assert sweep.sweep(["127.0.0.1"] * 40_000, 2, 0.0, 1.0, 56) is None  # > 65,536 echoes
    assert sweep.sweep(["127.0.0.1"] * 1000, 2, 0.0, 1.0, 65000) is None  # 130 MB of packets


def test_requests_carry_valid_checksums_serials_and_sequence_numbers():
    # The kernel answers only requests whose checksum verifies; check the layout as well.
    fam = sockets.open_socket(socket.AF_INET, ["raw"])
    assert isinstance(fam, sockets.EchoSocket)
    try:
        for size in (8, 9, 56, 1000):
            run = sweep._Sweep(fam, ["127.0.0.1"] * 300, socket.inet_aton("127.0.0.1") * 300, 3,
                               size)  # fmt: skip
            packets = run.out._packets
            plen = 8 + size
            for k in (0, 1, 299, 300, 899):
                packet = bytes(packets[k * plen : (k + 1) * plen])
                assert checksum(packet) == 0
                kind, code, _, ident, seq, serial = struct.unpack_from("!BBHHHQ", packet)
                assert (kind, code, ident) == (8, 0, fam.ident)
                assert seq == (run.seq0 + k) & 0xFFFF
                assert serial == run.serial0 + k
    finally:
        fam.sock.close()


def test_a_receive_buffer_smaller_than_the_replies_loses_none(monkeypatch):
    # 20,000 replies take ~15 MiB of socket memory; the buffer here holds a few hundred. Read
    # only at the end (the premise), most are dropped; read every DRAIN_EVERY echoes, none.
    monkeypatch.setattr(sockets, "RCVBUF_BYTES", 256 << 10)
    hosts = loopback(20_000, second=62)
    monkeypatch.setattr(sweep, "DRAIN_EVERY", 10**9)
    unread = sweep.sweep(hosts, 1, 0.0, 1.0, 56)
    assert unread is not None
    assert unread.rtts.count(None) > 10_000
    monkeypatch.undo()
    monkeypatch.setattr(sockets, "RCVBUF_BYTES", 256 << 10)
    result = sweep.sweep(hosts, 1, 0.0, 1.0, 56)
    assert result is not None
    assert result.rtts.count(None) == 0


def test_forged_replies_match_only_host_serial_identifier_and_once(netlab: Netlab):
    ns = silent_host_namespace(netlab, "sweepforge")

    def forge_and_read() -> sweep.Swept:
        fam = sockets.open_socket(socket.AF_INET, ["raw"])
        assert isinstance(fam, sockets.EchoSocket)
        forger = socket.socket(socket.AF_INET, socket.SOCK_RAW, socket.IPPROTO_RAW)
        try:
            run = sweep._Sweep(fam, ["127.0.0.2"], socket.inet_aton("127.0.0.2"), 1, 56)
            run.timeout = 3.0
            assert run._send(0, 1, 3.0) == 1  # echo 0: seq0, serial0; 127.0.0.2 stays silent
            good = struct.pack("!Q", run.serial0) + bytes(48)
            bad = struct.pack("!Q", run.serial0 ^ 1) + bytes(48)
            other = fam.ident ^ 0xFFFF  # another process's identifier
            for packet in (
                forge_reply("127.0.0.3", "127.0.0.1", fam.ident, run.seq0, good),  # wrong host
                forge_reply("127.0.0.2", "127.0.0.1", fam.ident, run.seq0, bad),  # wrong serial
                forge_reply("127.0.0.2", "127.0.0.1", other, run.seq0, good),  # not ours
            ):
                forger.sendto(packet, ("127.0.0.1", 0))
            run._wait(run.batch_mono[0] + 0.2, stop_when_answered=True)
            assert run.result.rtts == [None] and run.result.unmatched == 2
            right = forge_reply("127.0.0.2", "127.0.0.1", fam.ident, run.seq0, good)
            forger.sendto(right, ("127.0.0.1", 0))
            forger.sendto(right, ("127.0.0.1", 0))  # a duplicate
            run._wait(run.batch_mono[0] + 2.0, stop_when_answered=False)
            return run.result
        finally:
            forger.close()
            fam.sock.close()

    result = ns.call(forge_and_read)
    assert result.rtts[0] is not None and 0.0 < result.rtts[0] < 3.0
    assert result.unmatched == 3  # wrong host, wrong serial, the duplicate


def test_a_failed_send_mid_batch_stops_that_host_only_as_the_pinger_does(netlab: Netlab):
    # In a namespace with only lo, 10.9.9.9 has no route: its sends fail with ENETUNREACH in
    # the middle of sendmmsg batches; the packets never leave the namespace.
    ns = netlab.add("sweeperr")
    hosts = ["127.0.0.1", "127.0.0.1", "10.9.9.9", "127.0.0.1"]
    result = ns.call(sweep.sweep, hosts, 3, 0.01, 1.0, 56)

    async def with_pinger():
        pinger = Pinger.open()
        try:
            return await pinger.sweep(hosts, count=3, spacing=0.01, timeout=1.0)
        finally:
            pinger.close()

    reference = ns.call(asyncio.run, with_pinger())
    assert result is not None
    assert result.errors == {2: reference[2].error}
    assert reference[2].error and "Network is unreachable" in reference[2].error
    assert [result.sent(h) for h in range(4)] == [r.sent for r in reference] == [3, 3, 0, 3]
    assert [len(result.received(h)) for h in range(4)] == [r.received for r in reference]


def test_a_full_send_queue_is_retried_and_no_echo_is_lost(netlab: Netlab, monkeypatch):
    # A slow link (tbf, ~100 packets a second) and a small send buffer: sendmmsg soon finds the
    # queue full (EAGAIN); the sweep reads, retries, and every echo is sent and answered.
    monkeypatch.setattr(sockets, "SNDBUF_BYTES", 4096)
    core, village = netlab.add("sweepq"), netlab.add("sweepqv")
    link = netlab.link(core, "127.100.0.1", village, "127.100.0.2")
    core.run("tc", "qdisc", "add", "dev", link.dev_a, "root", "tbf", "rate", "80kbit",
             "burst", "1600", "latency", "5s")  # fmt: skip
    result = core.call(sweep.sweep, ["127.100.0.2"] * 60, 1, 0.0, 3.0, 56)
    assert result is not None
    assert result.send_retries > 0  # the premise: the queue was full
    assert result.errors == {}
    assert result.rtts.count(None) == 0


# --- the CLI on both paths -----------------------------------------------------------------

CLI = [sys.executable, "-m", "netwatch", "ping"]


def test_cli_ipv6_and_names_take_the_pinger_with_the_same_output(netlab: Netlab):
    ns = netlab.add("sweepcli")
    both = subprocess.run(
        ns.argv(*CLI, "--json", "-c", "2", "-p", "10", "127.0.0.1", "::1"),
        capture_output=True, text=True, timeout=60,
    )  # fmt: skip
    assert both.returncode == 0, both.stderr
    fast = subprocess.run(
        ns.argv(*CLI, "--json", "-c", "2", "-p", "10", "127.0.0.1"),
        capture_output=True, text=True, timeout=60,
    )  # fmt: skip
    assert fast.returncode == 0, fast.stderr
    mixed, alone = json.loads(both.stdout), json.loads(fast.stdout)
    assert [d["address"] for d in mixed] == ["127.0.0.1", "::1"]
    assert list(mixed[0]) == list(alone[0])  # same fields, same order on both paths
    assert [(d["sent"], d["received"], d["error"]) for d in mixed] == [(2, 2, None)] * 2
    # Compact lines are what the C encoder writes for the same values.
    for line in fast.stdout.splitlines()[1:-1]:
        assert line.rstrip(",") == json.dumps(json.loads(line.rstrip(",")), separators=(",", ":"))


def test_cli_a_host_without_route_reports_its_error_and_exit_1(netlab: Netlab):
    ns = netlab.add("sweepcli2")
    out = subprocess.run(
        ns.argv(*CLI, "-c", "2", "-p", "10", "127.0.0.1", "10.9.9.9"),
        capture_output=True, text=True, timeout=60,
    )  # fmt: skip
    assert out.returncode == 1
    lines = {k.strip(): v.split() for k, v in (ln.split(" : ") for ln in out.stdout.splitlines())}
    assert lines["10.9.9.9"] == ["-", "-"] and len(lines["127.0.0.1"]) == 2
    assert "10.9.9.9: send failed: [Errno 101] Network is unreachable" in out.stderr
    assert "2 hosts: 1 answered, 1 lost all echoes; 2 echoes sent, 2 received" in out.stderr


@pytest.mark.parametrize("count", [1, 3])
def test_compact_json_is_what_the_json_encoder_writes(count):
    # `--json` writes each line itself; Python's JSONEncoder is the reference, on real RTTs
    # with lost echoes, a host that stopped on an error (quotes, non-ASCII) and one that never
    # sent.
    from netwatch.commands.ping import _json, _record

    result = sweep.sweep(loopback(40, second=63), count, 0.002, 1.0, 56)
    assert result is not None
    result.rtts[3] = result.rtts[-1] = None
    result.errors[5] = 'send failed: "quoted" \u00e9\u4e2d'
    result.sent_before_error[5] = 1 if count > 1 else 0
    result.errors[6] = "send failed: [Errno 101] Network is unreachable"
    result.sent_before_error[6] = 0
    encode = json.JSONEncoder(separators=(",", ":")).encode
    records = [_record(result, h) for h in range(40)]
    assert _json(result, False) == "[\n" + ",\n".join(map(encode, records)) + "\n]\n"
    assert json.loads(_json(result, True)) == records
    result.errors.clear()  # the path for sweeps with no error anywhere
    result.sent_before_error.clear()
    assert (
        _json(result, False)
        == "[\n" + ",\n".join(encode(_record(result, h)) for h in range(40)) + "\n]\n"
    )
