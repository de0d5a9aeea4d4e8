"""The Notifications example in docs/configuration.md loads; mistakes name file and line."""

from __future__ import annotations

import re

import pytest

from netwatch.alerting.notifiers.alertmanager import AlertmanagerTarget
from netwatch.config import ConfigError, load_inventory
from netwatch.core.model import SecretRef
from tests.helpers.configs import load_errors, write
from tests.helpers.data import REPO

REGENCY = """
regency:
  code: "35.10"
  name: Banyuwangi
  districts:
    - code: "35.10.01"
      name: Pesanggaran
      villages:
        - code: "35.10.01.2001"
          name: Sarongan
          kind: desa
          devices:
            - {name: sarongan-router, role: router, address: 127.1.1.1}
"""


def example() -> str:
    doc = (REPO / "docs/configuration.md").read_text(encoding="utf-8")
    section = doc[doc.index("## Notifications") :]
    return re.search(r"```yaml\n(.*?)```", section, re.S).group(1)


def test_documented_example_loads(tmp_path) -> None:
    cfg = tmp_path / "netwatch.yaml"
    cfg.write_text(example() + REGENCY)
    n = load_inventory(cfg).settings.notifications
    assert [c.name for c in n.contacts] == ["noc", "kec-pesanggaran", "kadis"]
    assert n.contacts[0].of("alertmanager") == (
        AlertmanagerTarget("http://10.0.0.5:9093"),
        AlertmanagerTarget("http://10.0.0.6:9093"),
    )
    assert n.contacts[0].of("webhook")[0].secret == SecretRef(env="NETWATCH_WEBHOOK_SECRET")
    assert n.contacts[1].of("telegram")[0].chat_ids == ("-1001234567890",)
    assert n.contacts[2].of("email")[0].port == 587
    assert n.routes[0].continue_routing is True
    assert n.routes[1].districts == ("35.10.01",)
    assert n.routes[1].escalation == "kadis"


def test_unknown_contact_list_names_file_and_line(tmp_path) -> None:
    text = example().replace("escalation: kadis", "escalation: kadis-typo") + REGENCY
    cfg = tmp_path / "netwatch.yaml"
    cfg.write_text(text)
    with pytest.raises(ConfigError) as err:
        load_inventory(cfg)
    (msg,) = [e for e in err.value.errors if "kadis-typo" in e]
    assert f"{cfg}:" in msg
    assert "notifications.routes[1]: unknown contact list 'kadis-typo'" in msg


def contacts_config(contacts: str) -> str:
    return "settings:\n  notifications:\n    contacts:\n" + contacts + REGENCY


def test_each_target_problem_names_its_file_line_and_key(tmp_path) -> None:
    cfg = write(
        tmp_path,
        contacts_config(
            "      - name: noc\n"  # line 4
            "        alertmanager: [127.0.0.1:9093]\n"
            "        webhook:\n"
            "          - url: ftp://127.0.0.1/hook\n"  # line 7
            "        telegram:\n"
            "          - token: {env: TG}\n"  # line 9
            "            chat_ids: []\n"
        ),
    )
    assert load_errors(cfg) == [
        f"{cfg}:5: settings.notifications.contacts[0].alertmanager[0]: "
        "not an http(s) URL: '127.0.0.1:9093'",
        f"{cfg}:7: settings.notifications.contacts[0].webhook[0]: "
        "not an http(s) URL: 'ftp://127.0.0.1/hook'",
        f"{cfg}:9: settings.notifications.contacts[0].telegram[0]: telegram without chat_ids",
    ]


def test_unknown_notifier_and_unknown_target_key(tmp_path) -> None:
    cfg = write(
        tmp_path,
        contacts_config(
            "      - name: noc\n"
            "        webhok: [{url: http://127.0.0.1/h}]\n"  # line 5
            "        email:\n"
            "          - to: [noc@example.org]\n"  # line 7
            "            host: 127.0.0.1\n"
            "            prot: 25\n"  # line 9
        ),
    )
    assert load_errors(cfg) == [
        f"{cfg}:5: settings.notifications.contacts[0]: unknown key 'webhok' "
        "(did you mean 'webhook'?)",
        f"{cfg}:9: settings.notifications.contacts[0].email[0]: unknown key 'prot' "
        "(did you mean 'port'?)",
    ]


def test_alertmanager_target_as_url_or_mapping(tmp_path) -> None:
    cfg = tmp_path / "netwatch.yaml"
    cfg.write_text(
        contacts_config(
            "      - name: noc\n"
            "        alertmanager: [http://127.0.0.1:9093/, {url: http://127.0.0.2:9093}]\n"
        )
    )
    (noc,) = load_inventory(cfg).settings.notifications.contacts
    assert noc.targets == (
        AlertmanagerTarget("http://127.0.0.1:9093/"),
        AlertmanagerTarget("http://127.0.0.2:9093"),
    )


def test_sample_targets_in_alerting_doc_load(tmp_path) -> None:
    doc = (REPO / "docs/alerting.md").read_text(encoding="utf-8")
    section = doc[doc.index("### Sample targets") :]
    block = re.search(r"```yaml\n(.*?)```", section, re.S).group(1)
    indented = "".join(f"    {line}\n" for line in block.splitlines())
    cfg = tmp_path / "netwatch.yaml"
    cfg.write_text("settings:\n  notifications:\n" + indented + REGENCY)
    (noc,) = load_inventory(cfg).settings.notifications.contacts
    assert [t.notifier for t in noc.targets] == [
        "alertmanager",
        "alertmanager",
        "webhook",
        "telegram",
        "email",
    ]
    (telegram,) = noc.of("telegram")
    assert [d.where for d in telegram.destinations()] == ["-1001234567890", "-1009876543210"]
    (email,) = noc.of("email")
    assert (email.port, email.starttls, email.tls) == (587, True, False)


def test_a_retired_hold_down_key_points_at_the_echo_stream(tmp_path) -> None:
    """down_rounds & co. went with the rounds (issue 16): an old config is told what replaced
    them, at the key's line, instead of a guess at a similar name."""
    cfg = tmp_path / "netwatch.yaml"
    cfg.write_text("settings:\n  alerting:\n    down_rounds: 3\n    confirm: true\n" + REGENCY)
    with pytest.raises(ConfigError) as err:
        load_inventory(cfg)
    assert f"{cfg}:3: settings.alerting: unknown key 'down_rounds' (removed: the echo stream" in (
        "\n".join(err.value.errors)
    )
    assert f"{cfg}:4: settings.alerting: unknown key 'confirm' (removed:" in "\n".join(
        err.value.errors
    )


def test_trace_settings_load_and_bounds_name_file_and_line(tmp_path) -> None:
    good = write(
        tmp_path,
        "settings:\n  alerting: {traceroute_workers: 3, traceroute_per_minute: 12, "
        "traceroute_max_lag: 250ms}\n" + REGENCY,
    )
    a = load_inventory(good).settings.alerting
    assert (a.traceroute_workers, a.traceroute_per_minute, a.traceroute_max_lag) == (3, 12, 0.25)
    bad = write(
        tmp_path,
        "settings:\n  alerting:\n    traceroute_workers: 0\n    traceroute_max_lag: 0s\n" + REGENCY,
        "bad.yaml",
    )
    errors = load_errors(bad)
    assert any(f"{bad}:3:" in e and "traceroute_workers" in e for e in errors), errors
    assert any(f"{bad}:4:" in e and "traceroute_max_lag" in e for e in errors), errors
