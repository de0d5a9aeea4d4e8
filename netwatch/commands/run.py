"""`netwatch run`: monitor the inventory of a config file until stopped."""

from __future__ import annotations

import argparse
import asyncio
import logging
import os
import signal
import sys
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from netwatch.cluster.member import Member

from netwatch.commands import Subparsers


def register(sub: Subparsers) -> None:
    p = sub.add_parser("run", help="run netwatch on a config file")
    p.add_argument("--config", required=True, help="root config file (YAML)")
    p.add_argument("--listen", help="override settings.listen, e.g. 127.0.0.1:9108")
    p.add_argument("--log-level", default="info", choices=["debug", "info", "warning", "error"])
    p.add_argument(
        "--shard", type=int, help="the shard this instance watches (default: $NETWATCH_SHARD)"
    )
    p.add_argument("--replica", help="this instance's replica, a, b, ... ($NETWATCH_REPLICA)")
    p.add_argument(
        "--instance",
        help="SHARD-REPLICA (systemd netwatch@2-b) or a StatefulSet pod name ending in the "
        "shard (netwatch-b-2) ($NETWATCH_INSTANCE)",
    )
    p.set_defaults(handler=handle)


def setup_logging(level: str) -> None:
    logging.basicConfig(
        level=getattr(logging, level.upper()),
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
        stream=sys.stderr,
    )
    # APScheduler logs every job run at INFO: far too much at thousands of devices.
    logging.getLogger("apscheduler").setLevel(logging.WARNING)
    from netwatch.core.health import RateLimitFilter

    # What outsiders can trigger (accept errors at the open-files limit, broken requests)
    # is logged once a minute per message, not once per connection.
    for name in ("asyncio", "aiohttp.server", "aiohttp.web", "aiohttp.access"):
        logging.getLogger(name).addFilter(RateLimitFilter(60.0))


def handle(args: argparse.Namespace) -> int:
    from netwatch.cluster.member import MemberError, from_args
    from netwatch.collectors.icmp import IcmpUnavailable
    from netwatch.config import ConfigError
    from netwatch.web.guard import raise_open_files_limit

    setup_logging(args.log_level)
    raise_open_files_limit()
    try:
        member = from_args(args.shard, args.replica, args.instance, os.environ)
        return asyncio.run(serve(args.config, args.listen, member=member))
    except MemberError as exc:
        print(f"netwatch run: {exc}", file=sys.stderr)
        return 2
    except ConfigError as exc:
        for line in exc.errors:
            print(line, file=sys.stderr)
        return 1
    except OSError as exc:  # the listen address is taken, a TLS file is unreadable
        print(f"netwatch run: {exc}", file=sys.stderr)
        return 1
    except IcmpUnavailable as exc:  # a clear message, no traceback before it
        print(f"netwatch run: {exc}", file=sys.stderr)
        return 1


async def serve(
    config: str,
    listen: str | None,
    ready: asyncio.Event | None = None,
    member: Member | None = None,
) -> int:
    """Run until SIGINT/SIGTERM; SIGHUP reloads the config."""
    from netwatch.core.runtime import Runtime
    from netwatch.web.server import build_app
    from netwatch.web.server import serve as serve_http

    log = logging.getLogger("netwatch")
    runtime = Runtime.from_file(config, member)
    listen = listen or runtime.inventory.settings.listen
    app = build_app(runtime)
    runner = await serve_http(app, listen)
    await runtime.start()
    log.info("serving /metrics on http://%s/metrics", listen)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    loop.add_signal_handler(signal.SIGINT, stop.set)
    loop.add_signal_handler(signal.SIGTERM, stop.set)
    loop.add_signal_handler(signal.SIGHUP, lambda: loop.create_task(runtime.reload()))
    if report := os.environ.get("NETWATCH_MEMORY_REPORT"):  # bench/run_bench.py --memory-report
        from netwatch.core.memory import write_report

        loop.add_signal_handler(signal.SIGUSR2, write_report, report)
    if ready is not None:
        ready.set()
    try:
        await stop.wait()
    finally:
        await runtime.stop()
        await runner.cleanup()
    return 0
