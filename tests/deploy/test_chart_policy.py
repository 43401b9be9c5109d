"""Policy checks on the rendered chart: restricted security context, probes, resources, disruption
budgets, secrets only by reference, headless gRPC Services, pinned images."""

from __future__ import annotations

import re
from typing import Any

import pytest
import yaml

from tests.deploy.pss import assert_restricted
from tests.deploy.render import CHART, CLOUDS, Manifest, by_kind, containers, pod_spec, release_config

ALL = ["generic", *CLOUDS]
GRPC = {"extraction": (50051, "doc2slm.v1.ExtractionService"), "qagen": (50052, "doc2slm.v1.QAGenService"),
        "embedding": (50053, "doc2slm.v1.EmbeddingService"), "scoring": (50054, "doc2slm.v1.ScoringService")}
# "token" but not "tokens": DOC2SLM_MAX_TOKENS_LIMIT / maxTokens are counts, not credentials.
SECRET_LIKE = re.compile(r"(?i)(password|secret|token(?!s)|api_?key|access_?key|credential)")


def workloads(manifests: list[Manifest]) -> list[Manifest]:
    return [m for m in manifests if pod_spec(m) is not None]


def deployment(manifests: list[Manifest], name: str) -> Manifest:
    return next(m for m in by_kind(manifests, "Deployment") if m["metadata"]["name"] == f"doc2slm-{name}")


@pytest.mark.parametrize("cloud", ALL)
def test_every_container_meets_the_restricted_pod_security_standard(
    chart_renders: dict[str, list[Manifest]], cloud: str
) -> None:
    checked = 0
    for workload in workloads(chart_renders[cloud]):
        spec = pod_spec(workload)
        assert spec is not None
        for container in containers(workload):
            assert_restricted(spec, container, workload["metadata"]["name"])
            checked += 1
    assert checked == 7  # four services, MinIO, the job that creates its users, the predictor


@pytest.mark.parametrize("cloud", ALL)
def test_every_container_has_cpu_and_memory_requests_and_limits(
    chart_renders: dict[str, list[Manifest]], cloud: str
) -> None:
    for workload in workloads(chart_renders[cloud]):
        for container in containers(workload):
            resources = container.get("resources", {})
            for kind in ("requests", "limits"):
                assert {"cpu", "memory"} <= set(resources.get(kind, {})), (workload["metadata"]["name"], kind)


@pytest.mark.parametrize("service", sorted(GRPC))
def test_grpc_services_have_native_grpc_probes_on_their_health_names(
    chart_renders: dict[str, list[Manifest]], service: str
) -> None:
    port, health_name = GRPC[service]
    (container,) = deployment(chart_renders["generic"], service)["spec"]["template"]["spec"]["containers"]
    assert container["readinessProbe"]["grpc"] == {"port": port, "service": health_name}
    assert container["startupProbe"]["grpc"] == {"port": port, "service": health_name}
    assert container["livenessProbe"]["grpc"] == {"port": port, "service": ""}
    env = {e["name"]: e.get("value") for e in container["env"]}
    assert env["DOC2SLM_HOST"] == "0.0.0.0"
    assert env["DOC2SLM_PORT"] == str(port)
    assert env["DOC2SLM_METRICS_PORT"] == "9090"
    assert {p["containerPort"] for p in container["ports"]} == {port, 9090}


def test_predictor_and_minio_have_http_probes(chart_renders: dict[str, list[Manifest]]) -> None:
    (isvc,) = by_kind(chart_renders["generic"], "InferenceService")
    (predictor,) = containers(isvc)
    assert predictor["readinessProbe"]["httpGet"] == {"path": "/v2/health/ready", "port": 8080}
    assert "livenessProbe" in predictor
    (minio,) = containers(by_kind(chart_renders["generic"], "StatefulSet")[0])
    assert minio["readinessProbe"]["httpGet"]["path"] == "/minio/health/ready"
    assert minio["livenessProbe"]["httpGet"]["path"] == "/minio/health/live"


@pytest.mark.parametrize("cloud", ALL)
def test_every_chart_workload_has_a_disruption_budget_that_selects_it(
    chart_renders: dict[str, list[Manifest]], cloud: str
) -> None:
    budgets = by_kind(chart_renders[cloud], "PodDisruptionBudget")
    for workload in by_kind(chart_renders[cloud], "Deployment") + by_kind(chart_renders[cloud], "StatefulSet"):
        labels = workload["spec"]["template"]["metadata"]["labels"]
        matching = [b for b in budgets
                    if all(labels.get(k) == v for k, v in b["spec"]["selector"]["matchLabels"].items())]
        assert len(matching) == 1, workload["metadata"]["name"]
        assert matching[0]["spec"].get("maxUnavailable", 0) >= 1  # never blocks a drain at 1 replica


def test_autoscaling_adds_an_hpa_and_leaves_replicas_to_it() -> None:
    from tests.deploy.render import helm_template

    rendered = helm_template(sets=["services.embedding.autoscaling.enabled=true"])
    (hpa,) = by_kind(rendered, "HorizontalPodAutoscaler")
    assert hpa["spec"]["scaleTargetRef"]["name"] == "doc2slm-embedding"
    assert "replicas" not in deployment(rendered, "embedding")["spec"]
    assert deployment(rendered, "qagen")["spec"]["replicas"] == 2


def test_grpc_services_are_headless_and_clients_use_dns_round_robin(chart_renders: dict[str, list[Manifest]]) -> None:
    services = {s["metadata"]["name"]: s for s in by_kind(chart_renders["generic"], "Service")}
    config = release_config(chart_renders["generic"])
    for name, (port, _) in GRPC.items():
        service = services[f"doc2slm-{name}"]
        assert service["spec"]["clusterIP"] == "None"
        assert config["data"][f"DOC2SLM_{name.upper()}_ADDRESS"] == (
            f"dns:///doc2slm-{name}.doc2slm.svc.cluster.local:{port}")


def _walk(node: Any, path: str = "") -> list[tuple[str, Any]]:
    if isinstance(node, dict):
        return [item for k, v in node.items() for item in _walk(v, f"{path}.{k}" if path else str(k))]
    if isinstance(node, list):
        return [item for i, v in enumerate(node) for item in _walk(v, f"{path}[{i}]")]
    return [(path, node)]


@pytest.mark.parametrize("values_file", sorted(p.name for p in CHART.glob("values*.yaml")))
def test_values_files_hold_no_secret_data(values_file: str) -> None:
    """Secret-sounding keys may only name a Secret or a key inside one, never hold a credential."""
    allowed = {"existingSecret", "storageSecret", "secret", "accessKeyKey", "secretKeyKey", "apiKeyKey"}
    values = yaml.safe_load((CHART / values_file).read_text())
    for path, value in _walk(values):
        leaf = path.rsplit(".", 1)[-1]
        if SECRET_LIKE.search(leaf) and not leaf.startswith("secure"):
            assert leaf in allowed, f"{values_file}: {path} looks like secret data"
            # A name, or "" where the chart falls back to another value's name.
            assert re.fullmatch(r"[A-Za-z0-9_.-]{0,63}", str(value)), f"{values_file}: {path} is not a name"


@pytest.mark.parametrize("cloud", ALL)
def test_rendered_objects_reference_secrets_and_never_carry_them(
    chart_renders: dict[str, list[Manifest]], cloud: str
) -> None:
    rendered = chart_renders[cloud]
    # The one Secret the chart renders is the pipeline account's token, which Kubernetes fills in.
    for secret in by_kind(rendered, "Secret"):
        assert secret["type"] == "kubernetes.io/service-account-token", secret["metadata"]["name"]
        assert "data" not in secret and "stringData" not in secret, secret["metadata"]["name"]
    referenced = set()
    for workload in workloads(rendered):
        for container in containers(workload):
            for env in container.get("env", []):
                if SECRET_LIKE.search(env["name"]):
                    assert "value" not in env, f"{env['name']} carries a literal value"
                    referenced.add(env["valueFrom"]["secretKeyRef"]["name"])
    # One Secret per storage identity (embedding has none; the pipeline's is read by the users Job), MinIO's
    # root, the teacher's key.
    assert referenced == {"doc2slm-minio-root", "doc2slm-store-extraction", "doc2slm-store-qagen",
                          "doc2slm-store-scoring", "doc2slm-kserve-s3", "doc2slm-object-store",
                          "doc2slm-store-training", "doc2slm-teacher"}
    for config in by_kind(rendered, "ConfigMap"):
        assert not any(SECRET_LIKE.search(k) for k in config["data"])


@pytest.mark.parametrize("cloud", ALL)
def test_images_are_pinned(chart_renders: dict[str, list[Manifest]], cloud: str) -> None:
    for workload in workloads(chart_renders[cloud]):
        for container in containers(workload):
            image = container.get("image")
            if image is None:  # a KServe runtime image comes from its ServingRuntime
                continue
            if "@" in image:  # by digest (image.digests)
                repository, _, digest = image.partition("@")
                assert repository and re.fullmatch(r"sha256:[0-9a-f]{64}", digest), image
                continue
            repository, _, tag = image.rpartition(":")
            assert repository and tag and tag != "latest" and "/" not in tag, image


def test_pipeline_role_grants_what_the_deploy_and_training_steps_call(
    chart_renders: dict[str, list[Manifest]],
) -> None:
    """deploy_kserve reads, creates and replaces the InferenceService; trainjob_run creates and follows
    TrainJobs or PyTorchJobs and reads rank 0's pod logs. Nothing cluster-wide, no Secrets."""
    (role,) = by_kind(chart_renders["generic"], "Role")
    granted = {(group, resource, verb) for rule in role["rules"] for group in rule["apiGroups"]
               for resource in rule["resources"] for verb in rule["verbs"]}
    needed = {("serving.kserve.io", "inferenceservices", v) for v in ("get", "create", "update", "patch")}
    needed |= {("trainer.kubeflow.org", "trainjobs", v) for v in ("get", "create", "watch")}
    needed |= {("kubeflow.org", "pytorchjobs", v) for v in ("get", "create", "watch")}
    needed |= {("", "pods", "list"), ("", "pods/log", "get")}
    assert needed <= granted
    assert not any(resource == "secrets" or "*" in (group, resource, verb) for group, resource, verb in granted)
    assert not by_kind(chart_renders["generic"], "ClusterRole")
    (binding,) = by_kind(chart_renders["generic"], "RoleBinding")
    # Only the dedicated account (issue 14, finding 5): never KFP's shared pipeline-runner by default.
    assert [(s["name"], s.get("namespace")) for s in binding["subjects"]] == [("doc2slm-pipeline", "doc2slm")]
