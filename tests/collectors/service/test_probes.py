"""Each prober against a real server on loopback; expectations from the servers' own setup."""

from __future__ import annotations

import time

import pytest

from netwatch.collectors.service.dns import probe_dns
from netwatch.collectors.service.http import probe_http
from netwatch.collectors.service.tcp import probe_tcp
from netwatch.core.services import DnsCheck, HttpCheck, TcpCheck
from tests.collectors.service.servers import NOT_AFTER, PORTAL_TEXT, portal_servers, raw_server
from tests.helpers.dnsmasq import dnsmasq, free_udp_port
from tests.helpers.procs import free_port


async def test_http_status_body_and_phases(tmp_path):
    async with portal_servers(tmp_path) as portal:
        url = f"http://127.0.0.1:{portal.http_port}/login"
        ok = await probe_http("portal", HttpCheck(url, body="Hotspot login"), 5.0)
        assert ok.success, ok.message
        assert (ok.http_status, ok.tls_not_after, ok.reason) == (200, None, "")
        assert set(ok.phases) == {"connect", "processing", "transfer"}
        assert 0 < sum(ok.phases.values()) <= ok.duration
        portal.status = 502
        bad = await probe_http("portal", HttpCheck(url), 5.0)
        assert (bad.success, bad.reason, bad.http_status) == (False, "status", 502)
        assert bad.message == "status 502 (expected 2xx)"
        accepted = await probe_http("portal", HttpCheck(url, status=(502,)), 5.0)
        assert accepted.success
        portal.status = 200
        wrong = await probe_http("portal", HttpCheck(url, body="Masuk ke jaringan"), 5.0)
        assert (wrong.success, wrong.reason) == (False, "body")
        head = await probe_http("portal", HttpCheck(url, method="HEAD"), 5.0)
        assert head.success and head.http_status == 200
        assert portal.hits == 5


async def test_http_chunked_and_close_delimited_bodies(tmp_path):
    async with portal_servers(tmp_path) as portal:
        url = f"http://127.0.0.1:{portal.http_port}/chunked"
        res = await probe_http("chunks", HttpCheck(url, body="second chunk: Hotspot"), 5.0)
        assert res.success, res.message
        # The body limit is honoured: only the first 20 bytes are read, the match fails.
        short = await probe_http("chunks", HttpCheck(url, body="second", max_body_bytes=20), 5.0)
        assert (short.success, short.reason) == (False, "body")
    reply = b"HTTP/1.0 200 OK\r\nContent-Type: text/plain\r\n\r\n" + PORTAL_TEXT.encode()
    async with raw_server(reply) as port:
        url = f"http://127.0.0.1:{port}/"
        res = await probe_http("old", HttpCheck(url, body="Desa Sarongan"), 5.0)
        assert res.success, res.message


async def test_https_expiry_and_verification(tmp_path):
    async with portal_servers(tmp_path) as portal:
        url = f"https://127.0.0.1:{portal.https_port}/login"
        trusted = await probe_http("portal", HttpCheck(url, ca_file=str(portal.cert)), 5.0)
        assert trusted.success, trusted.message
        assert trusted.tls_not_after == NOT_AFTER.timestamp()
        assert set(trusted.phases) == {"connect", "tls", "processing", "transfer"}
        unknown_ca = await probe_http("portal", HttpCheck(url), 5.0)
        assert (unknown_ca.success, unknown_ca.reason) == (False, "tls")
        assert "certificate verify failed" in unknown_ca.message
        unchecked = await probe_http("portal", HttpCheck(url, verify_tls=False), 5.0)
        assert unchecked.success and unchecked.tls_not_after == NOT_AFTER.timestamp()
        tcp_tls = TcpCheck(portal.https_port, "127.0.0.1", tls=True, verify_tls=False)
        res = await probe_tcp("portal-tls", tcp_tls, "127.0.0.9", 5.0)
        assert res.success and res.tls_not_after == NOT_AFTER.timestamp()
        assert set(res.phases) == {"connect", "tls"}


async def test_http_that_never_answers_times_out_in_time():
    async with raw_server(None) as port:
        t0 = time.monotonic()
        res = await probe_http("stuck", HttpCheck(f"http://127.0.0.1:{port}/"), 0.5)
        assert time.monotonic() - t0 < 2.0
    assert (res.success, res.reason) == (False, "timeout")
    assert res.message == "no answer within 0.5 s (processing)"


async def test_tcp_connect_and_refused():
    async with raw_server(b"") as port:
        ok = await probe_tcp("ssh", TcpCheck(port), "127.0.0.1", 5.0)
    assert ok.success and set(ok.phases) == {"connect"}
    closed = free_port()  # bound then released: nothing listens there
    refused = await probe_tcp("ssh", TcpCheck(closed), "127.0.0.1", 5.0)
    assert (refused.success, refused.reason) == (False, "connect")
    assert "refused" in refused.message.lower()


async def test_dns_rcode_and_answers():
    records = [("portal.desa.test", "127.0.0.53"), ("kantor.desa.test", "127.0.0.54")]
    with dnsmasq(records, local="desa.test") as port:
        check = DnsCheck("portal.desa.test", port=port, answers=("127.0.0.53",))
        ok = await probe_dns("dns", check, "127.0.0.1", 5.0)
        assert ok.success, ok.message
        assert (ok.dns_rcode, ok.dns_answers) == (0, 1)
        assert set(ok.phases) == {"query"}
        other = DnsCheck("kantor.desa.test", port=port, answers=("127.0.0.53",))
        wrong = await probe_dns("dns", other, "127.0.0.1", 5.0)
        assert (wrong.success, wrong.reason) == (False, "answer")
        assert wrong.message == "no answer 127.0.0.53 among 127.0.0.54"
        missing = DnsCheck("nope.desa.test", port=port)
        nx = await probe_dns("dns", missing, "127.0.0.1", 5.0)
        assert (nx.success, nx.reason, nx.dns_rcode) == (False, "rcode", 3)  # RFC 1035: 3
        assert nx.message == "rcode NXDOMAIN (expected NOERROR)"
        expected_nx = DnsCheck("nope.desa.test", port=port, rcode="NXDOMAIN")
        assert (await probe_dns("dns", expected_nx, "127.0.0.1", 5.0)).success


async def test_dns_without_a_server_fails_in_time():
    port = free_udp_port()  # nobody listens: the kernel answers port unreachable, or nothing
    t0 = time.monotonic()
    res = await probe_dns("dns", DnsCheck("portal.desa.test", port=port), "127.0.0.1", 0.5)
    assert time.monotonic() - t0 < 2.0
    assert not res.success and res.reason in ("timeout", "protocol"), res


@pytest.mark.parametrize("bad", [b"SSH-2.0-OpenSSH_9.2\r\n\r\n", b"HTTP/1.1 abc\r\n\r\n"])
async def test_http_garbage_is_a_protocol_error(bad):
    async with raw_server(bad) as port:
        res = await probe_http("x", HttpCheck(f"http://127.0.0.1:{port}/"), 5.0)
    assert (res.success, res.reason) == (False, "protocol")
