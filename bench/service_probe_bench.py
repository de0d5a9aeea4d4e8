"""CPU per service probe: netwatch's probers against prometheus-blackbox-exporter, same run.

Targets on loopback, each in its own process so neither side pays for them: an aiohttp portal
(HTTP /login, and TCP connects to the same port) and dnsmasq (DNS A record). netwatch's side
runs N probes per protocol in this process (CPU: this process); the peer runs the same N probes
driven through its /probe endpoint (CPU: the blackbox_exporter process only, which includes
serving each /probe request and its small metrics answer: the way it is used). Concurrency is
the same on both sides. Only 127.0.0.1 is contacted.

    .venv/bin/python bench/service_probe_bench.py [--probes 2000] [--concurrency 20]
"""

from __future__ import annotations

import argparse
import asyncio
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import aiohttp

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from netwatch.collectors.service.collector import run_probe  # noqa: E402
from netwatch.core.model import Device, Role  # noqa: E402
from netwatch.core.services import DnsCheck, HttpCheck, ServiceProbe, TcpCheck  # noqa: E402
from tests.helpers.dnsmasq import dnsmasq  # noqa: E402
from tests.helpers.procs import free_port, stop, wait_for  # noqa: E402

TICK = os.sysconf("SC_CLK_TCK")
PORTAL = """
import sys
from aiohttp import web
async def login(request):
    return web.Response(text="Selamat datang di Wi-Fi gratis Desa (Hotspot login)")
app = web.Application()
app.router.add_get("/login", login)
web.run_app(app, host="127.0.0.1", port=int(sys.argv[1]), access_log=None, print=None)
"""
BLACKBOX = """
modules:
  http_2xx:
    prober: http
    timeout: 5s
    http: {preferred_ip_protocol: ip4, follow_redirects: false, valid_status_codes: [200]}
  tcp_connect:
    prober: tcp
    timeout: 5s
    tcp: {preferred_ip_protocol: ip4}
  dns_a:
    prober: dns
    timeout: 5s
    dns:
      preferred_ip_protocol: ip4
      transport_protocol: udp
      query_name: portal.desa.test
      query_type: A
      valid_rcodes: [NOERROR]
"""


def cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / TICK


async def ours(probe: ServiceProbe, n: int, concurrency: int) -> tuple[float, int]:
    device = Device("portal", Role.ROUTER, "127.0.0.1", "35.10.07", "35.10.07.2001")
    sem = asyncio.Semaphore(concurrency)
    ok = 0

    async def one() -> None:
        nonlocal ok
        async with sem:
            if (await run_probe(probe, device, 5.0)).success:
                ok += 1

    cpu = time.process_time()
    await asyncio.gather(*(one() for _ in range(n)))
    return time.process_time() - cpu, ok


async def peer(url: str, pid: int, n: int, concurrency: int) -> tuple[float, int]:
    sem = asyncio.Semaphore(concurrency)
    ok = 0
    conn = aiohttp.TCPConnector(limit=concurrency)
    async with aiohttp.ClientSession(connector=conn) as session:

        async def one() -> None:
            nonlocal ok
            async with sem, session.get(url) as resp:
                if "probe_success 1" in await resp.text():
                    ok += 1

        await one()  # warm: the exporter's first request pays for lazy set-up
        ok = 0
        cpu = cpu_seconds(pid)
        await asyncio.gather(*(one() for _ in range(n)))
        return cpu_seconds(pid) - cpu, ok


async def run(args: argparse.Namespace, http_port: int, dns_port: int, bb_port: int, bb_pid: int):
    cases = [
        ("tcp", ServiceProbe("portal-tcp", tcp=TcpCheck(http_port)), "tcp_connect",
         f"127.0.0.1:{http_port}"),
        ("http", ServiceProbe("portal", http=HttpCheck(f"http://127.0.0.1:{http_port}/login")),
         "http_2xx", f"http://127.0.0.1:{http_port}/login"),
        ("dns", ServiceProbe("dns", dns=DnsCheck("portal.desa.test", port=dns_port)), "dns_a",
         f"127.0.0.1:{dns_port}"),
    ]  # fmt: skip
    n, c = args.probes, args.concurrency
    print(f"{n} probes per protocol, {c} at once; CPU ms per probe (lower is better)")
    print(f"{'protocol':9s} {'netwatch':>9s} {'blackbox':>9s} {'ratio':>7s}")
    for name, probe, module, target in cases:
        await ours(probe, 20, c)  # warm imports and caches
        cpu_ours, ok_ours = await ours(probe, n, c)
        url = f"http://127.0.0.1:{bb_port}/probe?module={module}&target={target}"
        cpu_peer, ok_peer = await peer(url, bb_pid, n, c)
        assert ok_ours == n and ok_peer == n, (name, ok_ours, ok_peer)
        a, b = cpu_ours / n * 1000, cpu_peer / n * 1000
        print(f"{name:9s} {a:9.3f} {b:9.3f} {a / b:6.2f}×")


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--probes", type=int, default=2000)
    ap.add_argument("--concurrency", type=int, default=20)
    args = ap.parse_args()
    binary = shutil.which("prometheus-blackbox-exporter")
    if binary is None:
        print("prometheus-blackbox-exporter is not installed (scripts/setup.sh --test)")
        return 1
    work = Path(tempfile.mkdtemp(prefix="nw-probebench-"))
    (work / "blackbox.yml").write_text(BLACKBOX)
    http_port, bb_port = free_port(), free_port()
    portal = subprocess.Popen([sys.executable, "-c", PORTAL, str(http_port)])
    bb = subprocess.Popen(
        [binary, f"--config.file={work / 'blackbox.yml'}",
         f"--web.listen-address=127.0.0.1:{bb_port}", "--log.level=warn"],
    )  # fmt: skip
    try:
        with dnsmasq([("portal.desa.test", "127.0.0.53")], local="desa.test") as dns_port:
            wait_for(lambda: _up(f"http://127.0.0.1:{http_port}/login"), 20, "the portal")
            wait_for(lambda: _up(f"http://127.0.0.1:{bb_port}/-/healthy"), 20, "blackbox")
            asyncio.run(run(args, http_port, dns_port, bb_port, bb.pid))
    finally:
        stop(bb)
        stop(portal)
        shutil.rmtree(work, ignore_errors=True)
    return 0


def _up(url: str) -> bool:
    import urllib.request

    with urllib.request.urlopen(url, timeout=2) as resp:
        return resp.status == 200


if __name__ == "__main__":
    sys.exit(main())
