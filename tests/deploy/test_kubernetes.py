"""deploy/kubernetes: schema-valid for old and new Kubernetes, and consistent with netwatch."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import kubernetes_validate
import pytest
from ruamel.yaml import YAML

from netwatch.cluster.member import Member, from_args, replica_names, settle
from netwatch.config import load_inventory
from tests.helpers.procs import repo_root

FOLDER = repo_root() / "deploy" / "kubernetes"
# The oldest Kubernetes still maintained when this was written, and the newest schema shipped.
VERSIONS = ["1.30.0", kubernetes_validate.latest_version()]


def documents() -> list[tuple[str, dict[str, Any]]]:
    out = []
    for path in sorted(FOLDER.glob("*.yaml")):
        for doc in YAML(typ="safe").load_all(path.read_text(encoding="utf-8")):
            if doc:
                out.append((f"{path.name}:{doc['kind']}/{doc['metadata']['name']}", doc))
    return out


DOCS = documents()


def kind(k: str) -> list[dict[str, Any]]:
    return [d for _, d in DOCS if d["kind"] == k]


@pytest.mark.parametrize("version", VERSIONS)
@pytest.mark.parametrize(("where", "doc"), DOCS, ids=[w for w, _ in DOCS])
def test_manifest_is_schema_valid(where: str, doc: dict[str, Any], version: str) -> None:
    # strict: an unknown or misspelt field is an error, not silently ignored by the API server.
    kubernetes_validate.validate(doc, version, strict=True)


def test_the_validator_rejects_a_broken_manifest() -> None:
    (sts,) = [d for d in kind("StatefulSet") if d["metadata"]["name"] == "netwatch-a"]
    broken = {**sts, "spec": {**sts["spec"], "replica": 3}}  # misspelt field
    with pytest.raises(kubernetes_validate.ValidationError):
        kubernetes_validate.validate(broken, VERSIONS[-1], strict=True)


@pytest.fixture(scope="module")
def config(tmp_path_factory: pytest.TempPathFactory) -> Path:
    (cm,) = kind("ConfigMap")
    path = tmp_path_factory.mktemp("cm") / "netwatch.yaml"
    path.write_text(cm["data"]["netwatch.yaml"], encoding="utf-8")
    return path


def env(container: dict[str, Any]) -> dict[str, Any]:
    return {e["name"]: e.get("value", e.get("valueFrom")) for e in container["env"]}


def test_statefulsets_match_the_configs_cluster(config: Path) -> None:
    inv = load_inventory(config)
    cluster = inv.settings.cluster
    sets = kind("StatefulSet")
    replicas = sorted(env(s["spec"]["template"]["spec"]["containers"][0])["NETWATCH_REPLICA"]
                      for s in sets)  # fmt: skip
    assert replicas == replica_names(cluster.replicas) == ["a", "b"]
    assert {s["spec"]["replicas"] for s in sets} == {cluster.shards} == {3}
    # Every shard of the example config holds districts (no idle pod).
    assert {a.shard for a in inv.assignment} == set(range(cluster.shards))


def test_each_pod_is_told_the_shard_of_its_ordinal(config: Path) -> None:
    cluster = load_inventory(config).settings.cluster
    for sts in kind("StatefulSet"):
        container = sts["spec"]["template"]["spec"]["containers"][0]
        assert "--instance=$(POD_NAME)" in container["args"]
        e = env(container)
        assert e["POD_NAME"] == {"fieldRef": {"fieldPath": "metadata.name"}}
        name = sts["metadata"]["name"]
        for ordinal in range(sts["spec"]["replicas"]):
            pod = f"{name}-{ordinal}"  # how Kubernetes names a StatefulSet's pods
            member = settle(from_args(None, None, pod, {"NETWATCH_REPLICA": e["NETWATCH_REPLICA"]}),
                            cluster)  # fmt: skip
            assert member == Member(ordinal, e["NETWATCH_REPLICA"])


def test_probes_and_disruption_budget() -> None:
    from netwatch.core.runtime import Runtime
    from netwatch.web.server import build_app
    from tests.core.inventories import make_inventory

    routes = {
        r.resource.canonical for r in build_app(Runtime("x", make_inventory({}))).router.routes()
    }
    for sts in kind("StatefulSet"):
        spec = sts["spec"]["template"]["spec"]
        c = spec["containers"][0]
        port = {p["name"]: p["containerPort"] for p in c["ports"]}["http"]
        assert c["args"][-1] == f"--listen=0.0.0.0:{port}"
        assert c["livenessProbe"]["httpGet"]["path"] == "/healthz"
        assert c["startupProbe"]["httpGet"]["path"] == "/healthz"
        assert c["readinessProbe"]["httpGet"]["path"] == "/readyz"
        assert {"/healthz", "/readyz", "/metrics"} <= routes
        assert sts["spec"]["serviceName"] == "netwatch"
    (pdb,) = kind("PodDisruptionBudget")
    assert pdb["spec"]["maxUnavailable"] == 1  # never both replicas of a shard at once
    wanted = pdb["spec"]["selector"]["matchLabels"].items()
    assert all(wanted <= s["spec"]["template"]["metadata"]["labels"].items()
               for s in kind("StatefulSet"))  # fmt: skip
