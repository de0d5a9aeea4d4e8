"""Property-based tests of the public JSON API against its own OpenAPI document (schemathesis):
every generated request gets a documented status, content type and a body that matches the
schema, and never a server error. The board serves a view with outages, history, planned
maintenance and complaints, so every optional part of the schema is exercised."""

from __future__ import annotations

import dataclasses
import datetime as dt
import re
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import schemathesis
from hypothesis import HealthCheck, settings

from netwatch.core.model import MaintenanceWindow
from netwatch.public import openapi
from netwatch.public.complaints import ComplaintStore
from tests.public.helpers import LocalBoard, build_view, default_inventory, facts
from tests.public.test_history import WIB, _seed

schema = schemathesis.openapi.from_dict(openapi.document())


@pytest.fixture(scope="module")
def board_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    tmp: Path = tmp_path_factory.mktemp("api")
    now_dt = dt.datetime.now(WIB).replace(hour=18, minute=0, second=0, microsecond=0)
    _seed(tmp / "alerts.sqlite3", now_dt)
    inv = default_inventory()
    window = MaintenanceWindow(
        name="olt-upgrade",
        start="2099-01-01T22:00",
        end="2099-01-02T02:00",
        districts=("35.10.07",),
    )
    weekly = MaintenanceWindow(name="weekly", start="23:00", end="01:00", days=("sun",))
    alerting = dataclasses.replace(inv.settings.alerting, maintenance=(window, weekly))
    inv = dataclasses.replace(inv, settings=dataclasses.replace(inv.settings, alerting=alerting))
    store = ComplaintStore(str(tmp / "complaints.sqlite3"))
    store.add("35.10.07.2001", "35.10.07", "slow", "lambat", measured_state="up",
              outage_known=False, now=time.time())  # fmt: skip
    engine = facts(
        inv,
        **{
            "35.10.07.2002": ("down", "upstream_down:gambiran-pop", True),
            "35.10.07.2007": ("degraded", "high_loss", False),
            "35.10.07.2008": ("maintenance", None, True),
        },
    )
    view = build_view(inv, engine, now_dt.timestamp(), str(tmp / "alerts.sqlite3"), store)
    assert view.villages["35.10.07.2001"].maintenance  # the weekly window is ahead
    board = LocalBoard(inv.settings.public, view, store)
    yield board.url
    board.close()
    store.shutdown()


INVENTORY = default_inventory()
KNOWN = {
    r"\d{2}\.\d{2}": [INVENTORY.regency_code],
    r"\d{2}\.\d{2}\.\d{2}": sorted(INVENTORY.districts),
    r"\d{2}\.\d{2}\.\d{2}\.\d{4}": sorted(INVENTORY.villages),
}


def _known(code: str) -> str:
    """A code of the inventory at the same level as the generated one, picked by its value."""
    for pattern, codes in KNOWN.items():
        if re.fullmatch(pattern, code):
            return codes[int(code.replace(".", "")) % len(codes)]
    return code


@schema.parametrize()
@settings(max_examples=60, deadline=None, suppress_health_check=list(HealthCheck))
def test_api_conforms_to_its_openapi_document(case, board_url: str) -> None:
    case.call_and_validate(base_url=board_url)
    code = (case.path_parameters or {}).get("code")
    if isinstance(code, str) and case.method.upper() == "GET":
        # Random codes name nothing (404): ask again for a place that exists (200).
        case.path_parameters["code"] = _known(code)
        response = case.call_and_validate(base_url=board_url)
        assert response.status_code in (200, 404)


def test_the_document_is_served_where_it_says(board_url: str) -> None:
    import json
    import urllib.request

    with urllib.request.urlopen(board_url + openapi.PATH, timeout=10) as r:
        served = json.loads(r.read())
    assert served == json.loads(json.dumps(openapi.document()))
    assert set(served["paths"]) >= {"/api/v1/villages/{code}", "/api/v1/incidents"}
