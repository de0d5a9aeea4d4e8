"""Every error class: the message, the file and the exact line the bad value is written on."""

from __future__ import annotations

import pytest

from netwatch.config import ConfigError, load_inventory
from tests.helpers.configs import BASE, line_of, write

VILLAGE = "regency.districts[0].villages[0]"
VILLAGE_DEV = f"{VILLAGE}.devices"
ROUTER = "- {name: sarongan-router, role: router, address: 127.1.1.1, parent: pop-1}"
AP = "- {name: sarongan-ap-1, role: ap, address: 127.1.1.2, parent: sarongan-router}"

# (id, old text, new text (the bad line gets a `#!` marker), error path, message fragment)
CASES = [
    ("yaml-syntax", "lat: -8.498369", "lat: -8.4: 9  #!", "", "YAML syntax error"),
    (
        "wrong-type-number",
        "lat: -8.498369",
        'lat: "north"  #!',
        f"{VILLAGE}.lat",
        "must be a number",
    ),
    (
        "wrong-type-int",
        "count: 5}",
        "count: many}  #!",
        "settings.ping.count",
        "must be an integer",
    ),
    ("below-minimum", "count: 5}", "count: 0}  #!", "settings.ping.count", "0 must be >= 1"),
    (
        "not-positive",
        "  ping: {interval: 30s, count: 5}",
        "  ping: {interval: 0s, count: 5}  #!",
        "settings.ping.interval",
        "0 must be > 0",
    ),
    (
        "bad-listen",
        "  language: id",
        "  language: id\n  listen: 127.0.0.1  #!",
        "settings.listen",
        "'127.0.0.1' is not host:port",
    ),
    ("wrong-type-str", "name: Banyuwangi", "name: [a, b]  #!", "regency.name", "must be a string"),
    ("unquoted-code", 'code: "35.10"', "code: 35.10  #!", "regency.code", 'quote it ("35.1")'),
    (
        "missing-required",
        AP,
        "- {name: sarongan-ap-1, role: ap, parent: sarongan-router}  #!",
        f"{VILLAGE_DEV}[1]",
        "missing required key 'address'",
    ),
    (
        "unknown-key",
        AP,
        AP.replace("address:", "adress:") + "  #!",
        f"{VILLAGE_DEV}[1]",
        "unknown key 'adress' (did you mean 'address'?)",
    ),
    (
        "unknown-settings-section",
        "  ping: {interval: 30s, count: 5}",
        "  pnig: {interval: 30s}  #!",
        "settings",
        "unknown key 'pnig' (did you mean 'ping'?)",
    ),
    (
        "bad-enum-role",
        AP,
        AP.replace("role: ap", "role: acces-point") + "  #!",
        f"{VILLAGE_DEV}[1].role",
        "'acces-point' is not one of router, ap, olt, switch, other",
    ),
    ("bad-language", "language: id", "language: fr  #!", "settings.language", "'fr' is not one of"),
    (
        "bad-village-code-prefix",
        'code: "35.10.01.2001"',
        'code: "35.10.02.2001"  #!',
        "regency.districts[0].villages[0].code",
        "does not start with its district code '35.10.01'",
    ),
    (
        "bad-district-code-prefix",
        'code: "35.10.01"',
        'code: "35.11.01"  #!',
        "regency.districts[0].code",
        "does not start with the regency code '35.10'",
    ),
    (
        "bad-village-code-form",
        'code: "35.10.01.2001"',
        'code: "35.10.01.4001"  #!',  # 1xxx, 2xxx and 3xxx (desa adat) exist; 4xxx not
        "regency.districts[0].villages[0].code",
        "is not a village code",
    ),
    (
        "kind-mismatch",
        "kind: desa",
        "kind: kelurahan  #!",
        "regency.districts[0].villages[0].kind",
        "kind 'kelurahan' does not match code '35.10.01.2001' (2xxx is desa)",
    ),
    ("lat-range", "lat: -8.498369", "lat: -95.5  #!", f"{VILLAGE}.lat", "out of range"),
    ("lon-range", "lon: 113.904168", "lon: 213.9  #!", f"{VILLAGE}.lon", "out of range"),
    (
        "bad-address",
        "address: 127.1.1.2",
        "address: 10.0.0.300",
        f"{VILLAGE_DEV}[1].address",
        "'10.0.0.300' is not an IP address or host name",
    ),
    (
        "bad-host-name",
        "address: 127.1.1.2",
        "address: ap_1.example",
        f"{VILLAGE_DEV}[1].address",
        "is not an IP address or host name",
    ),
    (
        "duplicate-device-name",
        AP,
        "- {name: sarongan-router, role: ap, address: 127.1.1.2, parent: pop-1}  #!",
        f"{VILLAGE_DEV}[1].name",
        "duplicate device name 'sarongan-router' (first at",
    ),
    (
        "duplicate-address",
        AP,
        AP.replace("127.1.1.2", "127.1.1.1") + "  #!",
        f"{VILLAGE_DEV}[1].address",
        "duplicate address '127.1.1.1' (first at",
    ),
    (
        "unknown-parent",
        "parent: sarongan-router}",
        "parent: sarongan-routr}",
        f"{VILLAGE_DEV}[1].parent",
        "unknown parent device 'sarongan-routr'",
    ),
    (
        "unknown-credential",
        "snmp: demo-v2}",
        "snmp: demo-v3}",
        "regency.districts[0].devices[0].snmp",
        "unknown SNMP credential 'demo-v3' (demo-v2)",
    ),
    (
        "bad-duration-settings",
        "interval: 30s,",
        "interval: 30 seconds,",
        "settings.ping.interval",
        "'30 seconds' is not a duration",
    ),
    (
        "bad-duration-device",
        AP,
        AP.replace("}", ", ping_interval: 5x}"),
        f"{VILLAGE_DEV}[1].ping_interval",
        "'5x' is not a duration",
    ),
    (
        "inline-secret",
        "community: {env: NETWATCH_SNMP_COMMUNITY}",
        "community: public  #!",
        "credentials.snmp.demo-v2.community",
        "secrets are never written inline: write {env: VARIABLE} or {file: /path/to/secret}",
    ),
    (
        "bad-snmp-version",
        "version: 2c",
        "version: 4  #!",
        "credentials.snmp.demo-v2.version",
        "4 is not one of 1, 2c, 3",
    ),
]


def _marker(old: str, new: str) -> str:
    # Lines without a trailing comment are found by their new text.
    return "#!" if "#!" in new else new.strip()


@pytest.mark.parametrize(
    ("old", "new", "path", "message"), [c[1:] for c in CASES], ids=[c[0] for c in CASES]
)
def test_error_names_file_line_path(tmp_path, old, new, path, message):
    assert old in BASE, old
    text = BASE.replace(old, new, 1)
    cfg = write(tmp_path, text)
    line = line_of(text, _marker(old, new))
    with pytest.raises(ConfigError) as info:
        load_inventory(cfg)
    errors = info.value.errors
    prefix = f"{cfg}:{line}: {path}: " if path else f"{cfg}:{line}: "
    hits = [e for e in errors if e.startswith(prefix) and message in e]
    assert hits, f"expected {prefix}...{message} in:\n" + "\n".join(errors)


def test_path_is_full_for_coordinates(tmp_path):
    text = BASE.replace("lat: -8.498369", "lat: -95.5")
    cfg = write(tmp_path, text)
    with pytest.raises(ConfigError) as info:
        load_inventory(cfg)
    assert info.value.errors == [
        f"{cfg}:{line_of(text, 'lat: -95.5')}: regency.districts[0].villages[0].lat: "
        "-95.5 is out of range (-90..90)"
    ]


def test_parent_cycle_is_named(tmp_path):
    text = BASE.replace(
        "address: 127.1.1.1, parent: pop-1}", "address: 127.1.1.1, parent: sarongan-ap-1}"
    )
    cfg = write(tmp_path, text)
    with pytest.raises(ConfigError) as info:
        load_inventory(cfg)
    line = line_of(text, "parent: sarongan-ap-1}")
    assert info.value.errors == [
        f"{cfg}:{line}: {VILLAGE_DEV}[0].parent: "
        "parent cycle: sarongan-router -> sarongan-ap-1 -> sarongan-router"
    ]


def test_duplicate_village_and_district_codes(tmp_path):
    second = """\
    - code: "35.10.01"
      name: Pesanggaran Lagi
      villages:
        - {code: "35.10.01.2001", name: Sarongan Lagi}
"""
    text = BASE + second
    cfg = write(tmp_path, text)
    with pytest.raises(ConfigError) as info:
        load_inventory(cfg)
    first_d = line_of(text, 'code: "35.10.01"')
    dup_d = line_of(text, 'code: "35.10.01"', 2)
    first_v = line_of(text, "35.10.01.2001")
    dup_v = line_of(text, "35.10.01.2001", 2)
    assert sorted(info.value.errors) == sorted(
        [
            f"{cfg}:{dup_d}: regency.districts[1].code: duplicate district code '35.10.01' "
            f"(first at {cfg}:{first_d})",
            f"{cfg}:{dup_v}: regency.districts[1].villages[0].code: duplicate village code "
            f"'35.10.01.2001' (first at {cfg}:{first_v})",
        ]
    )


def test_all_errors_reported_at_once(tmp_path):
    text = (
        BASE.replace("count: 5}", "count: many}")
        .replace("kind: desa", "kind: kelurahan")
        .replace("address: 127.1.1.2", "address: 10.0.0.300")
        .replace("parent: sarongan-router}", "parent: nowhere}")
        .replace("  name: Banyuwangi", "  name: Banyuwangi\n  nmae: typo")
    )
    cfg = write(tmp_path, text)
    with pytest.raises(ConfigError) as info:
        load_inventory(cfg)
    lines = sorted(int(e.split(":")[1]) for e in info.value.errors)
    assert lines == sorted(
        [
            line_of(text, "count: many"),
            line_of(text, "kind: kelurahan"),
            line_of(text, "10.0.0.300"),  # the bad address
            line_of(text, "10.0.0.300"),  # and, on the same device, the unknown parent
            line_of(text, "nmae: typo"),
        ]
    ), info.value.errors


def test_v3_credential_rules(tmp_path):
    text = BASE.replace(
        "      community: {env: NETWATCH_SNMP_COMMUNITY}",
        "      community: {env: NETWATCH_SNMP_COMMUNITY}\n"
        "    core-v3:\n"
        "      version: 3\n"
        "      user: netwatch\n"
        "      auth_protocol: sha256\n"
        "      auth_key: {file: /etc/netwatch/auth.key}\n"
        "      priv_protocol: aes512  #!\n"
        "      priv_key: {env: NETWATCH_SNMP_PRIV}",
    )
    cfg = write(tmp_path, text)
    with pytest.raises(ConfigError) as info:
        load_inventory(cfg)
    assert info.value.errors == [
        f"{cfg}:{line_of(text, '#!')}: credentials.snmp.core-v3.priv_protocol: "
        "'aes512' is not one of des, aes128, aes192, aes256, aes192c, aes256c"
    ]
    good = write(tmp_path, text.replace("aes512", "aes256c"), "good.yaml")
    cred = load_inventory(good).credentials["core-v3"]
    assert (cred.version, cred.user, cred.auth_key.file, cred.priv_key.env) == (
        "3",
        "netwatch",
        "/etc/netwatch/auth.key",
        "NETWATCH_SNMP_PRIV",
    )


def test_missing_file_is_an_error(tmp_path):
    with pytest.raises(ConfigError) as info:
        load_inventory(tmp_path / "nope.yaml")
    assert info.value.errors == [
        f"{tmp_path / 'nope.yaml'}: cannot read {tmp_path / 'nope.yaml'}: No such file or directory"
    ]


def test_no_cascade_from_a_broken_device(tmp_path):
    # A router with a bad role is reported once; its AP's parent is not called unknown.
    text = BASE.replace("role: router, address: 127.1.1.1", "role: rooter, address: 127.1.1.1")
    cfg = write(tmp_path, text)
    with pytest.raises(ConfigError) as info:
        load_inventory(cfg)
    assert len(info.value.errors) == 1
    assert "'rooter' is not one of" in info.value.errors[0]
    assert "did you mean 'router'" in info.value.errors[0]
