"""NetworkPolicy (default deny plus the data flow's allows) and GPU placement per cloud, checked on
the rendered chart with a NetworkPolicy evaluator rather than by string matching."""

from __future__ import annotations

import json

import pytest

from tests.deploy.netpol import Pod, connection_allowed
from tests.deploy.render import CLOUDS, Manifest, by_kind, helm_template, release_config

RELEASE = {"app.kubernetes.io/name": "doc2slm", "app.kubernetes.io/instance": "doc2slm"}
PORTS = {"extraction": 50051, "qagen": 50052, "embedding": 50053, "scoring": 50054}
PIPELINE_STEP = Pod({"pipelines.kubeflow.org/v2_component": "true"}, ip="10.0.1.5")
STRANGER = Pod({"app": "something-else"}, ip="10.0.1.6")
OTHER_NAMESPACE_STEP = Pod({"pipelines.kubeflow.org/v2_component": "true"}, namespace="team-b", ip="10.0.2.5")
# Standalone Kubeflow Pipelines runs its step pods in "kubeflow" (networkPolicy.pipelineNamespaces).
KUBEFLOW_STEP = Pod({"pipelines.kubeflow.org/v2_component": "true"}, namespace="kubeflow", ip="10.0.2.6")
KUBEFLOW_OTHER = Pod({"app": "ml-pipeline-ui"}, namespace="kubeflow", ip="10.0.2.7")
# The pipeline's training pods carry the release labels (trainjob.py); a job without them is a stranger.
TRAINING_POD = Pod({**RELEASE, "app.kubernetes.io/component": "training",
                    "jobset.sigs.k8s.io/jobset-name": "finetune-abc"}, ip="10.0.1.8")
UNLABELLED_JOB = Pod({"jobset.sigs.k8s.io/jobset-name": "finetune-abc"}, ip="10.0.1.9")
INTERNET = Pod({}, namespace="", ip="203.0.113.7")
PROMETHEUS = Pod({"app": "prometheus"}, namespace="monitoring", ip="10.0.3.3")


def pod(component: str) -> Pod:
    return Pod({**RELEASE, "app.kubernetes.io/component": component}, ip="10.0.0.20")


@pytest.fixture(scope="module")
def policies(chart_renders: dict[str, list[Manifest]]) -> list[Manifest]:
    return by_kind(chart_renders["generic"], "NetworkPolicy")


def test_default_deny_selects_every_pod_of_the_release(
    chart_renders: dict[str, list[Manifest]], policies: list[Manifest]
) -> None:
    (deny,) = [p for p in policies if p["metadata"]["name"] == "doc2slm-default-deny"]
    assert deny["spec"]["policyTypes"] == ["Ingress", "Egress"]
    assert "ingress" not in deny["spec"] and "egress" not in deny["spec"]
    selector = deny["spec"]["podSelector"]["matchLabels"]
    rendered = chart_renders["generic"]
    pod_labels = [w["spec"]["template"]["metadata"]["labels"] for kind in ("Deployment", "StatefulSet", "Job")
                  for w in by_kind(rendered, kind)]
    pod_labels += [i["spec"]["predictor"]["labels"] for i in by_kind(rendered, "InferenceService")]
    assert len(pod_labels) == 7
    for labels in pod_labels:
        assert all(labels.get(k) == v for k, v in selector.items()), labels


@pytest.mark.parametrize("service", sorted(PORTS))
def test_pipeline_steps_reach_the_services_and_strangers_do_not(policies: list[Manifest], service: str) -> None:
    port = PORTS[service]
    assert connection_allowed(policies, PIPELINE_STEP, pod(service), port)
    assert connection_allowed(policies, KUBEFLOW_STEP, pod(service), port)
    assert not connection_allowed(policies, KUBEFLOW_OTHER, pod(service), port)
    assert not connection_allowed(policies, TRAINING_POD, pod(service), port)
    assert not connection_allowed(policies, STRANGER, pod(service), port)
    assert not connection_allowed(policies, OTHER_NAMESPACE_STEP, pod(service), port)
    assert not connection_allowed(policies, PIPELINE_STEP, pod(service), port + 1)
    assert connection_allowed(policies, PROMETHEUS, pod(service), 9090)
    assert not connection_allowed(policies, STRANGER, pod(service), 9090)


@pytest.mark.parametrize("service", sorted(PORTS))
def test_services_reach_the_object_store_and_dns_only(policies: list[Manifest], service: str) -> None:
    kube_dns = Pod({"k8s-app": "kube-dns"}, namespace="kube-system", ip="10.0.9.10")
    assert connection_allowed(policies, pod(service), pod("minio"), 9000)
    assert connection_allowed(policies, pod(service), kube_dns, 53)
    assert not connection_allowed(policies, pod(service), STRANGER, 443)
    # Only qagen talks to the teacher (an HTTPS endpoint outside the cluster).
    assert connection_allowed(policies, pod(service), INTERNET, 443) == (service == "qagen")


def test_only_scoring_calls_the_embedding_service(policies: list[Manifest]) -> None:
    for service in sorted(PORTS):
        allowed = connection_allowed(policies, pod(service), pod("embedding"), PORTS["embedding"])
        assert allowed == (service == "scoring"), service


def test_the_object_store_and_predictor_are_closed_to_strangers(policies: list[Manifest]) -> None:
    assert connection_allowed(policies, PIPELINE_STEP, pod("minio"), 9000)
    assert connection_allowed(policies, pod("predictor"), pod("minio"), 9000)  # storage initializer
    assert connection_allowed(policies, TRAINING_POD, pod("minio"), 9000)  # data and checkpoints
    assert not connection_allowed(policies, UNLABELLED_JOB, pod("minio"), 9000)
    assert connection_allowed(policies, KUBEFLOW_STEP, pod("minio"), 9000)
    assert connection_allowed(policies, KUBEFLOW_STEP, pod("predictor"), 8080)
    assert not connection_allowed(policies, TRAINING_POD, pod("predictor"), 8080)
    assert not connection_allowed(policies, STRANGER, pod("minio"), 9000)
    assert connection_allowed(policies, PIPELINE_STEP, pod("predictor"), 8080)
    assert connection_allowed(policies, pod("qagen"), pod("predictor"), 8080)  # served model as teacher
    assert not connection_allowed(policies, STRANGER, pod("predictor"), 8080)
    assert not connection_allowed(policies, INTERNET, pod("predictor"), 8080)
    assert not connection_allowed(policies, pod("predictor"), INTERNET, 443)


def test_external_endpoint_opens_the_predictor_to_its_source_ranges() -> None:
    rendered = helm_template(sets=["inferenceService.external.enabled=true",
                                   "inferenceService.external.loadBalancerSourceRanges={203.0.113.0/24}"])
    policies = by_kind(rendered, "NetworkPolicy")
    assert connection_allowed(policies, INTERNET, pod("predictor"), 8080)
    assert not connection_allowed(policies, Pod({}, namespace="", ip="198.51.100.1"), pod("predictor"), 8080)
    (service,) = [s for s in by_kind(rendered, "Service") if s["spec"].get("type") == "LoadBalancer"]
    assert service["spec"]["loadBalancerSourceRanges"] == ["203.0.113.0/24"]


EXPECTED_GPU = {
    "aks": ({"accelerator": "nvidia"}, "sku", "managed-csi"),
    "eks": ({"k8s.amazonaws.com/accelerator": "nvidia-a10g"}, "nvidia.com/gpu", "gp3"),
    "gke": ({"cloud.google.com/gke-accelerator": "nvidia-l4"}, "nvidia.com/gpu", "standard-rwo"),
}


@pytest.mark.parametrize("cloud", CLOUDS)
def test_gpu_selection_per_cloud(chart_renders: dict[str, list[Manifest]], cloud: str) -> None:
    node_selector, taint_key, storage_class = EXPECTED_GPU[cloud]
    rendered = chart_renders[cloud]
    (isvc,) = by_kind(rendered, "InferenceService")
    predictor = isvc["spec"]["predictor"]
    assert predictor["nodeSelector"] == node_selector
    assert any(t["key"] == taint_key and t["effect"] == "NoSchedule" for t in predictor["tolerations"])
    (container,) = predictor["containers"]
    assert container["resources"]["limits"]["nvidia.com/gpu"] == "1"
    config = release_config(rendered)
    assert json.loads(config["data"]["DOC2SLM_GPU_NODE_SELECTOR"]) == node_selector
    assert json.loads(config["data"]["DOC2SLM_GPU_TOLERATIONS"]) == predictor["tolerations"]
    (minio,) = by_kind(rendered, "StatefulSet")
    assert minio["spec"]["volumeClaimTemplates"][0]["spec"]["storageClassName"] == storage_class
    # The CPU services stay off the GPU pool.
    for workload in by_kind(rendered, "Deployment"):
        assert "nodeSelector" not in workload["spec"]["template"]["spec"]
        assert "tolerations" not in workload["spec"]["template"]["spec"]


def test_cpu_predictor_drops_gpu_placement() -> None:
    rendered = helm_template(sets=["cloud=gke", "inferenceService.gpu.count=0"],
                             values=None)
    (isvc,) = by_kind(rendered, "InferenceService")
    assert "nodeSelector" not in isvc["spec"]["predictor"]
    assert "nvidia.com/gpu" not in isvc["spec"]["predictor"]["containers"][0]["resources"]["limits"]
