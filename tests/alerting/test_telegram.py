"""Telegram Bot API sendMessage against a local server speaking its contract."""

from __future__ import annotations

from pathlib import Path

from aiohttp import web

from netwatch.alerting.notifiers.telegram import TelegramTarget
from netwatch.core.model import SecretRef
from netwatch.core.notifications import ContactList
from tests.alerting.factories import enqueue, make_outbox, notification, settings, village_alert
from tests.helpers.http_sink import HttpSink, Request

TOKEN = "123456:ABC-test_token"


def bot_api(sink: HttpSink):
    """sendMessage: first call 429 with retry_after 1, then ok with a message_id."""

    def answer(req: Request) -> web.Response:
        if req.path != f"/bot{TOKEN}/sendMessage":
            return web.json_response(
                {"ok": False, "error_code": 404, "description": "Not Found"}, status=404
            )
        if len(sink.requests) == 1:
            return web.json_response(
                {
                    "ok": False,
                    "error_code": 429,
                    "description": "Too Many Requests: retry after 1",
                    "parameters": {"retry_after": 1},
                },
                status=429,
            )
        body = req.json()
        return web.json_response(
            {
                "ok": True,
                "result": {
                    "message_id": len(sink.requests),
                    "date": 1795831500,
                    "chat": {"id": int(body["chat_id"]), "type": "group"},
                    "text": body["text"],
                },
            }
        )

    return answer


async def test_send_message(tmp_path: Path, sink: HttpSink, running, monkeypatch) -> None:
    monkeypatch.setenv("NW_TEST_TG_TOKEN", TOKEN)
    sink.responder = bot_api(sink)
    tg = TelegramTarget(
        chat_ids=("-1001234567890",), token=SecretRef(env="NW_TEST_TG_TOKEN"), base_url=sink.url
    )
    ob = make_outbox(tmp_path, settings(ContactList("noc", (tg,))))
    running(ob)
    alert = village_alert(cause="kabel FO putus <km 12> & tiang roboh")
    enqueue(ob, tmp_path / "alerts.db", notification("t-1", alert=alert))
    reqs = await sink.wait_for(lambda rs: len(rs) == 2, timeout=10)
    first, second = reqs
    assert second.time - first.time >= 0.95  # honoured retry_after (min_backoff is 0.1)
    body = second.json()
    assert body["chat_id"] == "-1001234567890"
    assert body["parse_mode"] == "HTML"
    text = body["text"]
    assert text.startswith("<b>🔴 Wi-Fi desa MATI: Sarongan (35.10.01.2001), Kec. Pesanggaran")
    assert "Dugaan penyebab: kabel FO putus &lt;km 12&gt; &amp; tiang roboh." in text
    assert first.path == second.path == f"/bot{TOKEN}/sendMessage"
