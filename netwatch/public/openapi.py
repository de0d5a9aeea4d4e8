"""The OpenAPI 3.0 document of the public API, served at /api/v1/openapi.json."""

from __future__ import annotations

from typing import Any

from netwatch import __version__
from netwatch.public.texts import STATES

PATH = "/api/v1/openapi.json"

REGENCY = r"^\d{2}\.\d{2}$"
DISTRICT = r"^\d{2}\.\d{2}\.\d{2}$"
VILLAGE = r"^\d{2}\.\d{2}\.\d{2}\.\d{4}$"


def _ref(name: str) -> dict[str, str]:
    return {"$ref": f"#/components/schemas/{name}"}


def _obj(props: dict[str, Any]) -> dict[str, Any]:
    return {
        "type": "object",
        "required": list(props),
        "additionalProperties": False,
        "properties": props,
    }


_S = {"type": "string"}
_INT = {"type": "integer", "minimum": 0}
_TIME = {"type": "string", "format": "date-time"}
_NTIME = {"type": "string", "format": "date-time", "nullable": True}
_RATIO = {"type": "number", "minimum": 0, "maximum": 1, "nullable": True}
_STATE = {"type": "string", "enum": list(STATES)}

SCHEMAS: dict[str, Any] = {
    "Error": _obj({"error": _S}),
    "Counts": _obj({s: _INT for s in STATES}),
    "Cause": {**_obj({"key": _S, "id": _S, "en": _S}), "nullable": True},
    "RegencyRef": _obj({"code": {**_S, "pattern": REGENCY}, "name": _S, "url": _S}),
    "DistrictSummary": _obj(
        {
            "code": {**_S, "pattern": DISTRICT},
            "name": _S,
            "regency": _S,
            "villages": _INT,
            "counts": _ref("Counts"),
            "url": _S,
        }
    ),
    "VillageSummary": _obj(
        {
            "code": {**_S, "pattern": VILLAGE},
            "name": _S,
            "kind": {"type": "string", "enum": ["desa", "kelurahan"]},
            "district": _S,
            "district_name": _S,
            "regency": _S,
            "latitude": {"type": "number", "nullable": True},
            "longitude": {"type": "number", "nullable": True},
            "state": _STATE,
            "since": _NTIME,
            "url": _S,
        }
    ),
    "Incident": _obj(
        {
            "village": _S,
            "village_name": _S,
            "district": _S,
            "start": _TIME,
            "end": _NTIME,
            "kind": {"type": "string", "enum": ["down", "degraded"]},
            "cause": _ref("Cause"),
        }
    ),
}
_village_props = dict(SCHEMAS["VillageSummary"]["properties"])
_village_props.update(
    {
        "cause": _ref("Cause"),
        "outage_known": {"type": "boolean"},
        "uptime": _obj({"today": _RATIO, "days_7": _RATIO, "days_30": _RATIO, "days_90": _RATIO}),
        "reports": _obj({"last_24h": _INT, "open": _INT, "last_at": _NTIME}),
        "maintenance": {"type": "array", "items": _obj({"start": _TIME, "end": _TIME})},
        "wifi_hours": {
            "type": "array",
            "items": _obj(
                {
                    "days": {
                        "type": "array",
                        "items": {"type": "integer", "minimum": 0, "maximum": 6},
                    },
                    "start": {**_S, "pattern": r"^\d{2}:\d{2}$"},
                    "end": {**_S, "pattern": r"^\d{2}:\d{2}$"},
                }
            ),
        },
        "updated_at": _TIME,
    }
)
SCHEMAS["Village"] = _obj(_village_props)
SCHEMAS["District"] = _obj(
    {
        **SCHEMAS["DistrictSummary"]["properties"],
        "village_list": {"type": "array", "items": _ref("VillageSummary")},
        "updated_at": _TIME,
    }
)
SCHEMAS["Regency"] = _obj(
    {
        "code": {**_S, "pattern": REGENCY},
        "name": _S,
        "villages": _INT,
        "counts": _ref("Counts"),
        "districts": {"type": "array", "items": _ref("DistrictSummary")},
        "updated_at": _TIME,
    }
)
SCHEMAS["History"] = _obj(
    {
        "village": _S,
        "history_available": {"type": "boolean"},
        "days": {
            "type": "array",
            "items": _obj(
                {
                    "date": {"type": "string", "format": "date"},
                    "uptime": _RATIO,
                    "outage_seconds": _INT,
                }
            ),
        },
        "incidents": {"type": "array", "items": _ref("Incident")},
    }
)

_CACHED = {
    "ETag": {"schema": _S, "description": "strong validator; send it back as If-None-Match"},
    "Cache-Control": {"schema": _S},
}


def _ok(schema: dict[str, Any], what: str) -> dict[str, Any]:
    return {
        "200": {
            "description": what,
            "headers": _CACHED,
            "content": {"application/json": {"schema": schema}},
        },
        "304": {"description": "not modified since the ETag sent in If-None-Match"},
        "503": {
            "description": "the board has no data yet (just started)",
            "content": {"application/json": {"schema": _ref("Error")}},
        },
    }


def _error(code: str, what: str) -> dict[str, Any]:
    return {code: {"description": what, "content": {"application/json": {"schema": _ref("Error")}}}}


def _param(name: str, where: str, pattern: str | None = None, **schema: Any) -> dict[str, Any]:
    s: dict[str, Any] = {"type": "string", **schema}
    if pattern:
        s["pattern"] = pattern
    return {"name": name, "in": where, "required": where == "path", "schema": s}


_LIST = {"type": "array"}


def document() -> dict[str, Any]:
    state = _param("state", "query", enum=list(STATES))
    return {
        "openapi": "3.0.3",
        "info": {
            "title": "netwatch public board",
            "version": __version__,
            "description": "Village Wi-Fi status, uptime and outages in plain words. "
            "Read-only; no device names, addresses or personal data.",
        },
        "paths": {
            "/api/v1/regencies": {
                "get": {
                    "operationId": "listRegencies",
                    "responses": _ok({**_LIST, "items": _ref("RegencyRef")}, "regencies"),
                }
            },
            "/api/v1/regencies/{code}": {
                "get": {
                    "operationId": "getRegency",
                    "parameters": [_param("code", "path", REGENCY)],
                    "responses": {
                        **_ok(_ref("Regency"), "a regency"),
                        **_error("404", "no such regency"),
                    },
                }
            },
            "/api/v1/districts": {
                "get": {
                    "operationId": "listDistricts",
                    "parameters": [_param("regency", "query")],
                    "responses": _ok({**_LIST, "items": _ref("DistrictSummary")}, "districts"),
                }
            },
            "/api/v1/districts/{code}": {
                "get": {
                    "operationId": "getDistrict",
                    "parameters": [_param("code", "path", DISTRICT)],
                    "responses": {
                        **_ok(_ref("District"), "a district with its villages"),
                        **_error("404", "no such district"),
                    },
                }
            },
            "/api/v1/villages": {
                "get": {
                    "operationId": "listVillages",
                    "parameters": [_param("regency", "query"), _param("district", "query"), state],
                    "responses": {
                        **_ok({**_LIST, "items": _ref("VillageSummary")}, "villages"),
                        **_error("400", "a bad filter"),
                    },
                }
            },
            "/api/v1/villages/{code}": {
                "get": {
                    "operationId": "getVillage",
                    "parameters": [_param("code", "path", VILLAGE)],
                    "responses": {
                        **_ok(_ref("Village"), "a village now"),
                        **_error("404", "no such village"),
                    },
                }
            },
            "/api/v1/villages/{code}/history": {
                "get": {
                    "operationId": "getVillageHistory",
                    "parameters": [_param("code", "path", VILLAGE)],
                    "responses": {
                        **_ok(_ref("History"), "90 days of uptime and incidents"),
                        **_error("404", "no such village"),
                    },
                }
            },
            "/api/v1/incidents": {
                "get": {
                    "operationId": "listIncidents",
                    "parameters": [
                        _param("regency", "query"),
                        _param("district", "query"),
                        _param("village", "query"),
                        _param("ongoing", "query", enum=["true", "false"]),
                    ],
                    "responses": {
                        **_ok({**_LIST, "items": _ref("Incident")}, "incidents, newest first"),
                        **_error("400", "a bad filter"),
                    },
                }
            },
        },
        "components": {"schemas": SCHEMAS},
    }
