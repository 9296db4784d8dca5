"""Parses and checks every deployment file: Kubernetes manifests, compose, Prometheus
config and alert rules, the Grafana dashboard."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest
import yaml

from shared.settings import SERVICE_PORTS

DEPLOY = Path(__file__).resolve().parents[2] / "deploy"
K8S = DEPLOY / "k8s"
SERVICES = sorted(SERVICE_PORTS)  # the six services, gateway included
SCALED = {"analysis", "separation", "processing"}
METRIC = re.compile(r"\b(mesh_[a-z_]+?)(?:_bucket|_sum|_count)?\b")


def k8s_docs() -> list[dict[str, Any]]:
    docs = []
    for path in sorted(K8S.glob("*.yaml")):
        if path.name == "kustomization.yaml":
            continue
        docs += [d for d in yaml.safe_load_all(path.read_text()) if d]
    return docs


def by_kind(kind: str) -> dict[str, dict[str, Any]]:
    return {d["metadata"]["name"]: d for d in k8s_docs() if d["kind"] == kind}


def known_metrics() -> set[str]:
    """Metric names the code defines (prometheus_client adds _total to counters)."""
    import gateway.metrics as gm
    import shared.metrics as sm

    names = set()
    for module in (gm, sm):
        for value in vars(module).values():
            name = getattr(value, "_name", None)
            if isinstance(name, str):
                kind = getattr(value, "_type", "")
                names.add(name + "_total" if kind == "counter" else name)
    return names


def test_every_manifest_parses_and_is_listed_in_kustomization() -> None:
    kustomization = yaml.safe_load((K8S / "kustomization.yaml").read_text())
    listed = set(kustomization["resources"])
    on_disk = {p.name for p in K8S.glob("*.yaml")} - {"kustomization.yaml"}
    assert listed == on_disk
    for doc in k8s_docs():
        assert {"apiVersion", "kind", "metadata"} <= set(doc)
        if doc["kind"] != "Namespace":
            assert doc["metadata"]["namespace"] == "mashup-mesh"


@pytest.mark.parametrize("service", SERVICES)
def test_deployment_and_service_per_service(service: str) -> None:
    deployment = by_kind("Deployment")[service]
    port = SERVICE_PORTS[service]
    spec = deployment["spec"]
    labels = spec["template"]["metadata"]["labels"]
    assert spec["selector"]["matchLabels"].items() <= labels.items()
    [container] = spec["template"]["spec"]["containers"]
    assert container["command"][-1] == str(port)
    assert {"name": "http", "containerPort": port} in container["ports"]
    for probe in ("readinessProbe", "livenessProbe"):
        assert container[probe]["httpGet"] == {"path": "/health", "port": "http"}
    refs = {next(iter(r.values()))["name"] for r in container["envFrom"]}
    assert refs == set(by_kind("ConfigMap")) | set(by_kind("Secret"))
    assert container["resources"]["requests"] and container["resources"]["limits"]
    volumes = {v["name"]: v for v in spec["template"]["spec"]["volumes"]}
    for mount in container["volumeMounts"]:
        claim = volumes[mount["name"]]["persistentVolumeClaim"]["claimName"]
        assert claim in by_kind("PersistentVolumeClaim")
    annotations = spec["template"]["metadata"]["annotations"]
    assert annotations["prometheus.io/port"] == str(port)
    svc = by_kind("Service")[service]
    assert svc["spec"]["selector"].items() <= labels.items()
    assert svc["spec"]["ports"][0]["port"] == port
    assert svc["spec"]["ports"][0]["targetPort"] == "http"


def test_service_urls_in_the_configmap_match_the_services() -> None:
    data = by_kind("ConfigMap")["mesh-config"]["data"]
    for service in SERVICES:
        if service != "gateway":
            assert data[f"{service.upper()}_URL"] == f"http://{service}:{SERVICE_PORTS[service]}"
    assert all(isinstance(v, str) for v in data.values())  # ConfigMap values must be strings
    secret = by_kind("Secret")["mesh-secrets"]["stringData"]
    assert secret["GATEWAY_DB"].startswith("postgresql://")


def test_hpas_scale_the_heavy_services() -> None:
    hpas = by_kind("HorizontalPodAutoscaler")
    assert set(hpas) == SCALED
    for name, hpa in hpas.items():
        target = hpa["spec"]["scaleTargetRef"]
        assert target["kind"] == "Deployment" and target["name"] == name
        assert name in by_kind("Deployment")
        assert 1 <= hpa["spec"]["minReplicas"] <= hpa["spec"]["maxReplicas"]


def test_compose_runs_the_mesh_with_postgres_and_monitoring() -> None:
    compose = yaml.safe_load((DEPLOY / "docker-compose.yml").read_text())
    services = compose["services"]
    assert set(SERVICES) | {"postgres", "prometheus", "grafana"} <= set(services)
    for service in SERVICES:
        assert services[service]["command"].endswith(f"--port {SERVICE_PORTS[service]}")
    assert services["gateway"]["environment"]["GATEWAY_DB"].startswith("postgresql://")
    assert services["gateway"]["depends_on"]["postgres"]["condition"] == "service_healthy"
    for mount in services["prometheus"]["volumes"] + services["grafana"]["volumes"]:
        assert (DEPLOY / mount.split(":")[0]).exists(), mount


def test_prometheus_scrapes_every_service() -> None:
    config = yaml.safe_load((DEPLOY / "prometheus" / "prometheus.yml").read_text())
    targets = {t for job in config["scrape_configs"]
               for sc in job.get("static_configs", []) for t in sc["targets"]}
    assert targets == {f"{s}:{SERVICE_PORTS[s]}" for s in SERVICES}
    assert config["rule_files"] == ["/etc/prometheus/alerts.yml"]


def test_alert_rules_cover_the_required_signals_with_real_metrics() -> None:
    rules = yaml.safe_load((DEPLOY / "prometheus" / "alerts.yml").read_text())
    alerts = {r["alert"]: r for g in rules["groups"] for r in g["rules"]}
    exprs = " ".join(r["expr"] for r in alerts.values())
    for needle in ("jobs_finished_total{status=\"failed\"}", "step_duration_seconds_bucket",
                   "fallback=\"true\"", "queue_depth"):
        assert needle in exprs
    known = known_metrics()
    for rule in alerts.values():
        assert rule["labels"]["severity"] in ("page", "warn")
        assert rule["annotations"]["summary"]
        assert rule["expr"].count("(") == rule["expr"].count(")")
        for metric in METRIC.findall(rule["expr"]):
            assert metric in known, f"{rule['alert']} uses unknown metric {metric}"


def test_grafana_dashboard_queries_real_metrics() -> None:
    dashboard = json.loads((DEPLOY / "grafana" / "dashboards" / "mashup-mesh.json").read_text())
    known = known_metrics()
    assert dashboard["uid"] and len(dashboard["panels"]) >= 6
    ids = [p["id"] for p in dashboard["panels"]]
    assert len(set(ids)) == len(ids)
    for panel in dashboard["panels"]:
        assert panel["targets"]
        for target in panel["targets"]:
            found = METRIC.findall(target["expr"])
            assert found and all(m in known for m in found), target["expr"]
    datasources = yaml.safe_load(
        (DEPLOY / "grafana" / "provisioning" / "datasources" / "prometheus.yml").read_text())
    assert datasources["datasources"][0]["uid"] == dashboard["panels"][0]["datasource"]["uid"]
