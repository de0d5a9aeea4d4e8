"""Service probes in the inventory: accepted as written, and every mistake at its file:line."""

from __future__ import annotations

import pytest

from netwatch.config import ConfigError, load_inventory
from tests.helpers.configs import BASE, line_of, write

ROUTER = "            - {name: sarongan-router, role: router, address: 127.1.1.1, parent: pop-1}"


def with_services(village: str = "", router: str = "") -> str:
    """BASE with a `services:` block under the village and/or under its router."""
    text = BASE
    if router:
        block = ROUTER.replace("parent: pop-1}", "parent: pop-1,") + "\n" + router
        text = text.replace(ROUTER, block)
    if village:
        text = text.replace("          lon: 113.904168\n", "          lon: 113.904168\n" + village)
    return text


VILLAGE_OK = """\
          services:
            - name: portal
              http: {url: "http://127.1.1.1/login", status: [200, 302], body: "Hotspot"}
            - {name: dns, dns: {query: portal.desa.test, type: A, answers: [127.1.1.1]}}
"""
ROUTER_OK = """\
                 services: [{name: ssh, tcp: {port: 22}, timeout: 2s}]}
"""


def test_services_of_village_and_device_are_built(tmp_path):
    text = with_services(VILLAGE_OK, ROUTER_OK)
    inv = load_inventory(write(tmp_path, text))
    village = inv.villages["35.10.01.2001"]
    assert [(p.name, p.protocol) for p in village.services] == [("portal", "http"), ("dns", "dns")]
    portal = village.services[0].http
    assert portal is not None and portal.status == (200, 302) and portal.body == "Hotspot"
    dns = village.services[1].dns
    assert dns is not None and (dns.query, dns.type, dns.answers) == (
        "portal.desa.test",
        "A",
        ("127.1.1.1",),
    )
    ssh = inv.devices["sarongan-router"].services[0]
    assert ssh.tcp is not None and (ssh.tcp.port, ssh.timeout) == (22, 2.0)
    # The village's probes run with its router's job, after the router's own.
    assert inv.probe_carrier("35.10.01.2001") == "sarongan-router"
    assert [p.name for p in inv.services_of("sarongan-router")] == ["ssh", "portal", "dns"]
    assert inv.services_of("sarongan-ap-1") == ()
    assert inv.settings.services.interval == 60.0 and inv.settings.services.timeout == 5.0


S = "regency.districts[0].villages[0].services"
CASES = [
    (
        "two-kinds",
        "            - {name: x, tcp: {port: 1}, dns: {query: a.test}}  #!\n",
        f"{S}[0]",
        "service 'x' needs exactly one of tcp, http, dns (tcp, dns)",
    ),
    (
        "no-kind",
        "            - {name: x}  #!\n",
        f"{S}[0]",
        "service 'x' needs exactly one of tcp, http, dns (none)",
    ),
    (
        "bad-url",
        '            - {name: x, http: {url: "ftp://127.1.1.1/"}}  #!\n',
        f"{S}[0].http.url",
        "'ftp://127.1.1.1/' is not an http:// or https:// URL with a host",
    ),
    (
        "url-credentials",
        '            - {name: x, http: {url: "http://u:p@127.1.1.1/"}}  #!\n',
        f"{S}[0].http.url",
        "a probe URL carries no credentials",
    ),
    (
        "bad-port",
        "            - {name: x, tcp: {port: 70000}}  #!\n",
        f"{S}[0].tcp.port",
        "70000 is not a port (1..65535)",
    ),
    (
        "bad-regex",
        '            - {name: x, http: {url: "http://127.1.1.1/", body: "(("}}  #!\n',
        f"{S}[0].http.body",
        "'((' is not a regular expression",
    ),
    (
        "bad-type",
        "            - {name: x, dns: {query: a.test, type: AXFR}}  #!\n",
        f"{S}[0].dns.type",
        "'AXFR' is not one of A, AAAA, CNAME, MX, NS, PTR, SOA, SRV, TXT",
    ),
    (
        "unknown-key",
        "            - {name: x, tcp: {port: 22, tsl: true}}  #!\n",
        f"{S}[0].tcp",
        "unknown key 'tsl' (did you mean 'tls'?)",
    ),
    (
        "bad-name",
        "            - {name: Portal Desa, tcp: {port: 80}}  #!\n",
        f"{S}[0]",
        "service name 'Portal Desa': lower-case letters, digits, '-' and '_' only",
    ),
    (
        "bad-status",
        '            - {name: x, http: {url: "http://127.1.1.1/", status: [99]}}  #!\n',
        f"{S}[0].http.status",
        "99 is not an HTTP status code (100..599)",
    ),
]


@pytest.mark.parametrize(("case", "item", "path", "message"), CASES, ids=[c[0] for c in CASES])
def test_a_bad_probe_is_reported_at_its_line(tmp_path, case, item, path, message):
    text = with_services("          services:\n" + item)
    cfg = write(tmp_path, text)
    with pytest.raises(ConfigError) as info:
        load_inventory(cfg)
    (error,) = info.value.errors
    assert error.startswith(f"{cfg}:{line_of(text, '#!')}: {path}: "), error
    assert message in error


def test_duplicate_names_count_the_village_as_its_router(tmp_path):
    village = "          services:\n            - {name: ssh, tcp: {port: 2222}}  #!\n"
    text = with_services(village, ROUTER_OK)
    cfg = write(tmp_path, text)
    with pytest.raises(ConfigError) as info:
        load_inventory(cfg)
    first = line_of(text, "name: ssh, tcp: {port: 22}")
    assert info.value.errors == [
        f"{cfg}:{line_of(text, '#!')}: {S}[0]: duplicate service name 'ssh' "
        f"(first at {cfg}:{first})"
    ]


def test_village_services_need_a_device(tmp_path):
    text = with_services("          services: [{name: web, tcp: {port: 80}}]  #!\n")
    text = text.replace("          devices:\n" + ROUTER + "\n", "          devices:\n")
    ap = (
        "            - {name: sarongan-ap-1, role: ap, address: 127.1.1.2, parent: sarongan-router}"
    )
    text = text.replace(ap + "\n", "")
    text = text.replace("          devices:\n", "")
    cfg = write(tmp_path, text)
    with pytest.raises(ConfigError) as info:
        load_inventory(cfg)
    assert info.value.errors == [
        f"{cfg}:{line_of(text, '#!')}: {S}: a village's services are probed with one of its "
        "devices: add its router under devices"
    ]
