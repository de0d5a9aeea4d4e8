"""The soak benchmark's fault injectors and checkers (bench/soak_faults.py) do what they say.

Not timed: each checks an injector against an independent receiver (pysnmp's decoder, a UDP
socket, a tmpfs, a small HTTP server) and a checker against hand-computed figures.
"""

from __future__ import annotations

import socket
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
from pyasn1.codec.ber import decoder
from pysnmp.proto import api

from bench import soak_faults as f
from tests.helpers import tmpfs


def test_v2c_trap_decodes_with_pysnmp() -> None:
    msg, rest = decoder.decode(f.v2c_trap("public", 77), asn1Spec=api.v2c.Message())
    assert rest == b""
    assert str(api.v2c.apiMessage.get_community(msg)) == "public"
    pdu = api.v2c.apiMessage.get_pdu(msg)
    assert pdu.tagSet == api.v2c.SNMPv2TrapPDU.tagSet
    assert api.v2c.apiPDU.get_request_id(pdu) == 77
    binds = [(str(o), v.prettyPrint()) for o, v in api.v2c.apiPDU.get_varbinds(pdu)]
    assert binds == [
        ("1.3.6.1.2.1.1.3.0", "12345"),
        ("1.3.6.1.6.3.1.1.4.1.0", "1.3.6.1.6.3.1.1.5.3"),  # linkDown, RFC 3418
    ]
    assert len(f.v2c_trap("public", 1, pad=16_000)) > 16_000


def test_trap_flood_sends_each_kind_from_its_address() -> None:
    rx = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    rx.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4 << 20)
    rx.bind(("127.0.0.1", 0))
    rx.settimeout(2)
    got: list[tuple[bytes, str]] = []

    def drain() -> None:
        try:
            while True:
                data, (addr, _) = rx.recvfrom(65535)
                got.append((data, addr))
        except TimeoutError:
            pass

    t = threading.Thread(target=drain)
    t.start()
    result = f.trap_flood(rx.getsockname(), "127.0.0.2", "public", "127.0.0.3", 500, 0.5)
    t.join(timeout=10)
    rx.close()
    assert sum(result.sent.values()) == len(got) > 100
    from_foreign = [d for d, a in got if a == "127.0.0.3"]
    assert len(from_foreign) == result.sent["unknown_sender"]
    assert sum(1 for d, _ in got if len(d) > 16_000) == result.sent["too_big"]
    wrong = [d for d, a in got if b"public-wrong" in d[:20]]
    assert len(wrong) == result.sent["bad_credentials"]


def test_quantile_matches_prometheus_interpolation() -> None:
    # 100 observations: 90 ≤ 0.1 s, 9 in (0.1, 0.25], 1 in (0.25, 0.5].
    buckets = {0.1: 90.0, 0.25: 99.0, 0.5: 100.0, float("inf"): 100.0}
    le, value = f.quantile(buckets, 0.99)
    assert le == 0.25
    assert value == pytest.approx(0.25)  # rank 99 is the top of the 0.25 bucket
    le, value = f.quantile(buckets, 0.5)
    assert (le, value) == (0.1, pytest.approx(0.1 * 50 / 90))


def test_windowed_leaves_out_storm_intervals() -> None:
    inf = float("inf")
    samples = [
        (0.0, {1.0: 0.0, inf: 0.0}),
        (10.0, {1.0: 10.0, inf: 10.0}),
        (20.0, {1.0: 10.0, inf: 60.0}),  # 50 slow observations during a storm at 12-18
        (30.0, {1.0: 20.0, inf: 70.0}),
    ]
    assert f.windowed(samples, 0, 30) == {1.0: 20.0, inf: 70.0}
    assert f.windowed(samples, 0, 30, [(12.0, 18.0)]) == {1.0: 20.0, inf: 20.0}


def _note(event: str, village: str, t: float, alertname: str = "VillageWifiDown") -> dict:
    return {
        "event": event,
        "_t": t,
        "alert": {"labels": {"alertname": alertname, "village": village}},
    }


def test_check_notifications() -> None:
    outages = [f.Outage("35.10.90.2001", 100.0, 200.0)]
    good = [_note("firing", "35.10.90.2001", 120), _note("resolved", "35.10.90.2001", 215)]
    v = f.check_notifications(outages, good)
    assert (v.missed, v.unexpected, v.false_village_down) == ([], [], 0)
    assert v.per_outage[0]["firing_after_s"] == 20 and v.per_outage[0]["resolved_after_s"] == 15
    v = f.check_notifications(outages, good[:1])
    assert v.missed == ["35.10.90.2001: 0 resolved (want 1)"]
    v = f.check_notifications(outages, [*good, _note("firing", "35.10.90.2001", 130)])
    assert v.missed == ["35.10.90.2001: 2 firing (want 1)"]
    v = f.check_notifications(outages, [*good, _note("firing", "35.10.01.2001", 50)])
    assert v.false_village_down == 1 and len(v.unexpected) == 1


@pytest.fixture
def small_tmpfs(tmp_path: Path) -> Iterator[Path]:
    with tmpfs.mounted(tmp_path / "disk", "4m", name="nwsoaktest") as disk:
        yield disk


def test_fill_disk_until_enospc_then_free(small_tmpfs: Path) -> None:
    written = f.fill_disk(small_tmpfs, 1 << 30)
    assert 3 << 20 < written <= 4 << 20
    with pytest.raises(OSError) as err:
        (small_tmpfs / "x").write_bytes(b"y" * 8192)
    assert err.value.errno == 28  # ENOSPC
    f.free_disk(small_tmpfs)
    (small_tmpfs / "x").write_bytes(b"y" * 8192)


class _Reloads(BaseHTTPRequestHandler):
    config: Path

    def do_POST(self) -> None:
        bad = ".nan" in self.config.read_text()
        self.send_response(500 if bad else 200)
        self.send_header("Content-Length", "0")
        self.end_headers()

    def do_GET(self) -> None:
        body = b"x" * 1000
        self.send_response(200)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture
def server(tmp_path: Path) -> Iterator[tuple[str, Path]]:
    cfg = tmp_path / "n.yaml"
    handler = type("H", (_Reloads,), {"config": cfg})
    srv = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=srv.serve_forever, daemon=True).start()
    try:
        yield f"http://127.0.0.1:{srv.server_address[1]}", cfg
    finally:
        srv.shutdown()
        srv.server_close()


def test_reload_storm_alternates_files_and_ends_good(server: tuple[str, Path]) -> None:
    url, cfg = server
    turns = f.reload_storm(url, cfg, "interval: 30s\n", "interval: .nan\n", 5, burst=2, rounds=4)
    assert [w for w, _ in turns] == ["bad", "good", "bad", "good", "good-final"]
    assert all(s == (500 if w == "bad" else 200) for w, st in turns for s in st)
    assert cfg.read_text() == "interval: 30s\n"


def test_scrape_storm_from_several_sources(server: tuple[str, Path]) -> None:
    url, _ = server
    result = f.scrape_storm(url + "/metrics", ["127.0.0.4", "127.0.0.5"], 3, 0.5)
    assert result["concurrency"] == 6
    assert result["requests"] >= 6 and result["statuses"] == {"200": result["requests"]}
    assert result["body_bytes_min"] == 1000
