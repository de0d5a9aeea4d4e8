"""`netwatch demo`: the default Banyuwangi inventory on a simulated village network."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import signal
import socket
import sys
import tempfile
import time

from netwatch.commands import Subparsers


def register(sub: Subparsers) -> None:
    p = sub.add_parser("demo", help="run netwatch on the default inventory and a simulated network")
    p.add_argument("--config", help="inventory to use (default: the packaged Banyuwangi one)")
    p.add_argument("--listen", default="127.0.0.1:9108", help="web address (default %(default)s)")
    p.add_argument(
        "--public-listen",
        default="127.0.0.1:9109",
        help="public board address (default %(default)s)",
    )
    p.add_argument("--interval", type=float, default=5.0, help="ping interval in seconds")
    p.add_argument("--duration", type=float, default=0, help="stop after N seconds (0 = Ctrl-C)")
    p.add_argument("--refresh", type=float, default=2.0, help="summary refresh in seconds")
    p.add_argument(
        "--influxdb",
        metavar="URL",
        help="also push to InfluxDB 2.x/3.x/1.8+ or VictoriaMetrics at URL on this host "
        "(token from $NETWATCH_INFLUX_TOKEN)",
    )
    p.add_argument("--influxdb-bucket", default="netwatch", help="bucket (default %(default)s)")
    p.add_argument("--influxdb-org", default="", help="organization")
    p.set_defaults(handler=handle)


def _bind(listen: str) -> socket.socket:
    """Bind the web socket before entering the private namespace, so it stays reachable."""
    from netwatch.web.server import parse_listen

    host, port = parse_listen(listen)
    sock = socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind((host, port))
    except OSError:
        sock.bind((host, 0))  # the usual port is taken: any free one will do for a demo
    sock.listen(128)
    sock.setblocking(False)
    return sock


def handle(args: argparse.Namespace) -> int:
    from netwatch.commands.run import setup_logging
    from netwatch.config import ConfigError, default_config_path, load_inventory
    from netwatch.core.public_settings import demo_inventory as board_inventory
    from netwatch.demo.network import DEMO_COMMUNITY, build_network, demo_inventory, pick_scenario
    from netwatch.demo.sandbox import SandboxError, enter_private_network

    setup_logging("warning")
    # The default inventory's SNMP credential reads its community from this variable.
    os.environ.setdefault("NETWATCH_SNMP_COMMUNITY", DEMO_COMMUNITY)
    path = args.config or str(default_config_path())
    try:
        state_dir = tempfile.TemporaryDirectory(prefix="netwatch-demo-")
        args.state_dir = state_dir  # removed at exit, like the rest of the demo
        inventory = demo_inventory(load_inventory(path), args.interval, state_dir.name)
        inventory = board_inventory(inventory, args.public_listen, state_dir.name)
    except ConfigError as exc:
        print("\n".join(exc.errors), file=sys.stderr)
        return 1
    scenario = pick_scenario(inventory)
    sock = _bind(args.listen)
    args.public_sock = _bind(inventory.settings.public.listen)
    host_network = None
    if args.influxdb:
        from netwatch.demo.hostnet import HostNetwork
        from netwatch.demo.influxdb import with_influxdb

        spool = tempfile.TemporaryDirectory(prefix="netwatch-demo-spool-")
        args.influxdb_spool = spool  # removed at exit: the demo leaves nothing behind
        inventory = with_influxdb(
            inventory, args.influxdb, args.influxdb_bucket, args.influxdb_org, spool.name
        )
        host_network = HostNetwork.capture()  # before leaving the host's network
    try:
        mode = enter_private_network()
        if host_network is not None:
            host_network.check()
        build_network(inventory, scenario)
    except (SandboxError, OSError) as exc:
        print(f"netwatch demo: {exc}", file=sys.stderr)
        return 2
    except Exception as exc:  # e.g. nft missing: say what to install
        print(f"netwatch demo: cannot build the demo network: {exc}", file=sys.stderr)
        return 2
    host, port = sock.getsockname()[:2]
    url = f"http://{host}:{port}"
    print(
        f"netwatch demo: {len(inventory.villages)} villages, {len(inventory.devices)} devices "
        f"from {path}"
    )
    print(f"simulated network: loopback addresses in a private network namespace ({mode})")
    for line in scenario.describe(inventory):
        print(f"  {line}")
    print(f"metrics:     {url}/metrics")
    print(f"status page: {url}/")
    phost, pport = args.public_sock.getsockname()[:2]
    print(f"public board: http://{phost}:{pport}/")
    if host_network is not None:
        print(f"InfluxDB:    {args.influxdb} bucket {args.influxdb_bucket}")
    print("Ctrl-C stops the demo.", flush=True)
    try:
        return asyncio.run(_main(path, inventory, sock, args, host_network))
    except KeyboardInterrupt:
        return 0


async def _main(
    path: str, inventory, sock: socket.socket, args: argparse.Namespace, host_network=None
) -> int:

    from netwatch.core.runtime import Runtime
    from netwatch.web.server import build_app, serve_socket

    runtime = Runtime(path, inventory)
    runner = await serve_socket(build_app(runtime), sock)
    from netwatch.demo.agents import serve_demo_agents
    from netwatch.demo.network import DEMO_COMMUNITY, pick_scenario

    agents = await serve_demo_agents(
        inventory,
        os.environ.get("NETWATCH_SNMP_COMMUNITY", DEMO_COMMUNITY),
        radio_down=[pick_scenario(inventory).radio_device],
    )
    runtime.host_network = host_network
    runtime.public_socket = args.public_sock
    await runtime.start()
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    loop.add_signal_handler(signal.SIGINT, stop.set)
    loop.add_signal_handler(signal.SIGTERM, stop.set)
    tty = sys.stdout.isatty()
    started = time.monotonic()
    try:
        while not stop.is_set():
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), timeout=args.refresh)
            print(_summary(runtime, tty), end="" if tty else "\n", flush=True)
            if args.duration and time.monotonic() - started >= args.duration:
                break
    finally:
        if tty:
            print()
        await runtime.stop()
        await runner.cleanup()
        for transport in agents:
            transport.close()
    print("netwatch demo stopped.", flush=True)
    return 0


def _summary(runtime, tty: bool) -> str:
    from netwatch.core.state import VillageStatus

    state, inv = runtime.state, runtime.inventory
    counts = state.village_counts()
    down = [
        f"{inv.villages[c].name} ({c})"
        for c in inv.villages
        if state.village_status(c) is VillageStatus.DOWN
    ]
    degraded = [
        f"{inv.villages[c].name} ({c})"
        for c in inv.villages
        if state.village_status(c) is VillageStatus.DEGRADED
    ]
    line = (
        f"{time.strftime('%H:%M:%S')} villages: {counts[VillageStatus.UP]} up, "
        f"{counts[VillageStatus.DEGRADED]} degraded, {counts[VillageStatus.DOWN]} down, "
        f"{counts[VillageStatus.UNKNOWN]} unknown"
    )
    if down:
        line += " | down: " + ", ".join(down[:3])
    if degraded:
        line += " | degraded: " + ", ".join(degraded[:3])
    if runtime.alerts is not None:
        firing = [a.labels["alertname"] for a in runtime.alerts.snapshot().alerts]
        if firing:
            line += f" | alerts firing: {len(firing)} ({', '.join(sorted(set(firing)))})"
    if tty:
        width = os.get_terminal_size().columns if sys.stdout.isatty() else 120
        return "\r" + line[: width - 1].ljust(width - 1)
    return line
