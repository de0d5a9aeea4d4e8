"""The public board in-process for tests: a Site with a view, served on a free loopback port,
and views built from the default inventory with facts and history the test chooses."""

from __future__ import annotations

import asyncio
import socket
import threading
from typing import Any

from aiohttp import web

from netwatch.config import default_config_path, load_inventory
from netwatch.core.model import Inventory
from netwatch.core.public_settings import PublicSettings
from netwatch.public.app import make_app
from netwatch.public.build import Builder
from netwatch.public.complaints import ComplaintStore
from netwatch.public.engine_view import EngineFacts, VillageFacts
from netwatch.public.history import History
from netwatch.public.site import Site
from netwatch.public.view import PublicView


def default_inventory() -> Inventory:
    return load_inventory(default_config_path())


def facts(inventory: Inventory, **states: tuple[str, str | None, bool]) -> EngineFacts:
    """Every village up, except code=(state, engine cause, outage known)."""
    out = {code: VillageFacts("up", None, False, None) for code in inventory.villages}
    for code, (state, cause, known) in states.items():
        out[code.replace("_", ".")] = VillageFacts(state, cause, known, None)
    return EngineFacts(out, 1, True)


def build_view(
    inventory: Inventory,
    engine: EngineFacts,
    now: float,
    alert_db: str | None = None,
    store: ComplaintStore | None = None,
) -> PublicView:
    tz = inventory.settings.public.timezone
    history = History(alert_db, tz) if alert_db else None
    return Builder(history, store).build(inventory, engine, now)


class LocalBoard:
    """A Site served by aiohttp in a thread of its own, on 127.0.0.1 and a free port."""

    def __init__(self, settings: PublicSettings, view: PublicView | None, store: Any = None):
        self.site = Site(settings, store)
        self.site.view = view
        self.loop = asyncio.new_event_loop()
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(128)
        self.url = f"http://127.0.0.1:{self.sock.getsockname()[1]}"
        self.runner = web.AppRunner(make_app(self.site), access_log=None)

        async def start() -> None:
            await self.runner.setup()
            await web.SockSite(self.runner, self.sock).start()

        self.loop.run_until_complete(start())
        self.thread = threading.Thread(target=self.loop.run_forever, daemon=True)
        self.thread.start()

    def set_view(self, view: PublicView) -> None:
        self.loop.call_soon_threadsafe(setattr, self.site, "view", view)

    def close(self) -> None:
        asyncio.run_coroutine_threadsafe(self.runner.cleanup(), self.loop).result(10)
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(10)
        self.loop.close()
