"""ADDRESS[:PORT] and port numbers: one grammar for the inventory and `netwatch snmp`."""

from __future__ import annotations

import pytest

from netwatch.config import ConfigError, load_inventory
from netwatch.config.values import check_port, split_host_port
from tests.helpers.configs import BASE, line_of, write


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("127.0.0.1", ("127.0.0.1", None)),
        ("127.0.0.1:1161", ("127.0.0.1", 1161)),
        ("127.0.0.1:65535", ("127.0.0.1", 65535)),
        ("::1", ("::1", None)),  # several colons: an IPv6 address, no port
        ("[::1]", ("::1", None)),
        ("[2001:DB8::1]:161", ("2001:db8::1", 161)),
        ("Router-1.example.net:1", ("router-1.example.net", 1)),
    ],
)
def test_targets(text: str, expected: tuple[str, int | None]) -> None:
    assert split_host_port(text) == expected


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("127.0.0.1:0", "0 is not a port number (1-65535)"),
        ("127.0.0.1:65536", "65536 is not a port number (1-65535)"),
        ("127.0.0.1:", "'' is not a port number (1-65535)"),
        ("127.0.0.1:+161", "'+161' is not a port number (1-65535)"),
        ("127.0.0.1:16 1", "'16 1' is not a port number (1-65535)"),
        ("10.0.0.300:161", "'10.0.0.300' is not an IP address or host name"),
        (":161", "'' is not an IP address or host name"),
        ("[127.0.0.1]:161", "'127.0.0.1' in brackets is not an IPv6 address"),
        ("[::1]161", "'[::1]161' is not ADDRESS, ADDRESS:PORT or [IPv6]:PORT"),
        ("[::1", "'[::1' is not ADDRESS, ADDRESS:PORT or [IPv6]:PORT"),
    ],
)
def test_bad_targets(text: str, message: str) -> None:
    with pytest.raises(ValueError) as info:
        split_host_port(text)
    assert str(info.value) == message


@pytest.mark.parametrize("port", [-1, 0, 65536])
def test_port_range(port: int) -> None:
    with pytest.raises(ValueError, match=f"^{port} is not a port number \\(1-65535\\)$"):
        check_port(port)
    assert check_port(1) == 1 and check_port(65535) == 65535


@pytest.mark.parametrize("port", [0, 70000])
def test_credential_port_uses_the_same_check(tmp_path, port: int) -> None:
    text = BASE.replace(
        "      community: {env: NETWATCH_SNMP_COMMUNITY}",
        f"      community: {{env: NETWATCH_SNMP_COMMUNITY}}\n      port: {port}",
    )
    cfg = write(tmp_path, text)
    with pytest.raises(ConfigError) as info:
        load_inventory(cfg)
    assert info.value.errors == [
        f"{cfg}:{line_of(text, f'port: {port}')}: credentials.snmp.demo-v2.port: "
        f"{port} is not a port number (1-65535)"
    ]
