"""A cluster's direct notifiers: with two replicas each would send every message, so the config
needs settings.cluster.etcd (one sender per shard) or only Alertmanager targets."""

from __future__ import annotations

import pytest

from netwatch.config import ConfigError, load_inventory
from tests.helpers.configs import BASE, line_of, write

AM = "        alertmanager: [http://127.0.0.1:9093, http://127.0.0.1:9094]\n"
WEBHOOK = "          - {url: http://127.0.0.1:8080/hook}  #!\n"
EMAIL = "          - {to: [noc@kab.example], host: 127.0.0.1, port: 2525}  #!2\n"


def config(cluster: str, contact: str) -> str:
    settings = (
        "settings:\n"
        f"  cluster: {cluster}\n"
        "  notifications:\n"
        "    default_contacts: noc\n"
        "    contacts:\n"
        "      - name: noc\n" + contact
    )
    assert BASE.startswith("settings:\n")
    return BASE.replace("settings:\n", settings, 1)


def test_direct_targets_of_two_replicas_without_etcd_are_refused_at_their_lines(tmp_path):
    text = config("{shards: 2, replicas: 2}", AM + "        webhook:\n" + WEBHOOK
                  + "        email:\n" + EMAIL)  # fmt: skip
    cfg = write(tmp_path, text)
    with pytest.raises(ConfigError) as info:
        load_inventory(cfg)
    contact = "settings.notifications.contacts[0]"
    hook, mail = line_of(text, "hook}  #!"), line_of(text, "#!2")
    assert [e.split(": ")[0:2] for e in info.value.errors] == [
        [f"{cfg}:{hook}", f"{contact}.webhook[0]"],
        [f"{cfg}:{mail}", f"{contact}.email[0]"],
    ], info.value.errors
    assert "webhook sends directly: with settings.cluster.replicas 2" in info.value.errors[0]
    assert "add settings.cluster.etcd" in info.value.errors[0]


@pytest.mark.parametrize(
    ("cluster", "contact"),
    [
        ("{shards: 2, replicas: 2}", AM),  # Alertmanager deduplicates what both replicas post
        ("{shards: 2, replicas: 1}", AM + "        webhook:\n" + WEBHOOK),  # one sender anyway
        (
            "{shards: 2, replicas: 2, etcd: {endpoints: [http://127.0.0.1:2379]}}",
            AM + "        webhook:\n" + WEBHOOK,
        ),
    ],
    ids=["alertmanager-only", "one-replica", "with-etcd"],
)
def test_these_clusters_load(tmp_path, cluster, contact):
    inv = load_inventory(write(tmp_path, config(cluster, contact)))
    etcd = inv.settings.cluster.etcd
    if "etcd" in cluster:
        assert etcd is not None
        assert (etcd.endpoints, etcd.prefix, etcd.lease_ttl) == (
            ("http://127.0.0.1:2379",),
            "/netwatch",
            15.0,
        )


@pytest.mark.parametrize(
    ("etcd", "message"),
    [
        ("{endpoints: []}", "name at least one etcd endpoint"),
        ("{endpoints: [http://127.0.0.1:2379], prefix: netwatch}", "must be a key path"),
        (
            "{endpoints: [http://127.0.0.1:2379], lease_ttl: 6s, timeout: 3s}",
            "timeout (3 s) must be at most a third of lease_ttl (6 s)",
        ),
        ("{endpoints: [http://127.0.0.1:2379], lease_ttl: 2s}", "2 must be >= 3"),
        (
            "{endpoints: [http://127.0.0.1:2379], cert_file: /etc/netwatch/c.pem}",
            "cert_file and key_file go together",
        ),
    ],
    ids=["no-endpoint", "prefix", "timeout-vs-ttl", "ttl-minimum", "cert-without-key"],
)
def test_bad_etcd_settings_name_their_line(tmp_path, etcd, message):
    text = config(f"{{shards: 2, replicas: 2, etcd: {etcd}}}", AM)
    cfg = write(tmp_path, text)
    with pytest.raises(ConfigError) as info:
        load_inventory(cfg)
    line = line_of(text, "cluster:")
    hits = [e for e in info.value.errors if e.startswith(f"{cfg}:{line}: ") and message in e]
    assert hits, info.value.errors
