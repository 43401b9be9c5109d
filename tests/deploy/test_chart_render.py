"""The chart lints, renders for every cloud, and every object passes the Kubernetes schemas; the
InferenceService passes the kserve package's models; bad values are refused with a clear message."""

from __future__ import annotations

import copy

import kubernetes_validate
import pytest

from tests.deploy.kserve_check import ModelMismatch, build_inference_service
from tests.deploy.render import (
    CHART,
    CLOUDS,
    KUBERNETES_VERSION,
    Manifest,
    by_kind,
    cloud_values,
    helm_template,
    release_config,
    run,
    tool,
)

CUSTOM_RESOURCES = {("serving.kserve.io/v1beta1", "InferenceService")}


@pytest.mark.parametrize("cloud", ["generic", *CLOUDS])
def test_helm_lint_strict(cloud: str) -> None:
    values = [] if cloud == "generic" else ["-f", str(cloud_values(cloud))]
    result = run([tool("helm"), "lint", "--strict", CHART, *values])
    assert result.returncode == 0, result.stdout + result.stderr


@pytest.mark.parametrize("cloud", ["generic", *CLOUDS])
def test_every_object_matches_the_kubernetes_schema(chart_renders: dict[str, list[Manifest]], cloud: str) -> None:
    checked = 0
    for manifest in chart_renders[cloud]:
        if (manifest["apiVersion"], manifest["kind"]) in CUSTOM_RESOURCES:
            continue
        kubernetes_validate.validate(manifest, KUBERNETES_VERSION, strict=True)
        checked += 1
    assert checked >= 25  # four services x (Deployment, Service, PDB, NetworkPolicy) and the rest


ALL_OPTIONS = [
    *[f"services.{svc}.autoscaling.enabled=true" for svc in ("extraction", "qagen", "embedding", "scoring")],
    "inferenceService.external.enabled=true",
    "inferenceService.external.loadBalancerSourceRanges={10.20.0.0/16}",
    "inferenceService.runtime=huggingface-vllm",
    "minio.enabled=false",
    "objectStore.endpoint=storage.googleapis.com:443",
    "imagePullSecrets[0].name=regcred",
]


@pytest.mark.parametrize("cloud", CLOUDS)
def test_every_option_renders_valid_objects(cloud: str) -> None:
    """HPAs, the external LoadBalancer, the vLLM runtime and an external object store, all at once."""
    rendered = helm_template([cloud_values(cloud)], ALL_OPTIONS)
    kinds = {m["kind"] for m in rendered}
    assert {"HorizontalPodAutoscaler", "InferenceService"} <= kinds and "StatefulSet" not in kinds
    for manifest in rendered:
        if (manifest["apiVersion"], manifest["kind"]) in CUSTOM_RESOURCES:
            build_inference_service(manifest)
        else:
            kubernetes_validate.validate(manifest, KUBERNETES_VERSION, strict=True)
    (external,) = [m for m in by_kind(rendered, "Service") if m["spec"].get("type") == "LoadBalancer"]
    assert external["metadata"]["annotations"]  # the cloud's load balancer annotations


def test_schema_validation_really_rejects_a_broken_object(chart_renders: dict[str, list[Manifest]]) -> None:
    deployment = copy.deepcopy(by_kind(chart_renders["generic"], "Deployment")[0])
    deployment["spec"]["template"]["spec"]["containers"][0]["imagePullPolcy"] = "Always"
    with pytest.raises(kubernetes_validate.ValidationError):
        kubernetes_validate.validate(deployment, KUBERNETES_VERSION, strict=True)


@pytest.mark.parametrize("cloud", ["generic", *CLOUDS])
def test_inference_service_matches_the_kserve_models(chart_renders: dict[str, list[Manifest]], cloud: str) -> None:
    (isvc,) = by_kind(chart_renders[cloud], "InferenceService")
    model = build_inference_service(isvc)
    assert model.spec.predictor.containers[0].name == "kserve-container"


def test_vllm_runtime_matches_the_kserve_models() -> None:
    rendered = helm_template([cloud_values("gke")], ["inferenceService.runtime=huggingface-vllm"])
    (isvc,) = by_kind(rendered, "InferenceService")
    model = build_inference_service(isvc)
    assert model.spec.predictor.model.model_format.name == "huggingface"
    assert "--enable-lora" in model.spec.predictor.model.args


def test_kserve_check_rejects_an_unknown_field(chart_renders: dict[str, list[Manifest]]) -> None:
    (isvc,) = by_kind(chart_renders["generic"], "InferenceService")
    broken = copy.deepcopy(isvc)
    broken["spec"]["predictor"]["containers"][0]["imagee"] = "x"
    with pytest.raises(ModelMismatch, match="imagee"):
        build_inference_service(broken)


@pytest.mark.parametrize(
    ("assignment", "message"),
    [
        ("services.extraction.replicas=-1", "at '/services/extraction/replicas': minimum: got -1, want 0"),
        ("cloud=azure", "at '/cloud': value must be one of 'generic', 'aks', 'eks', 'gke'"),
        ("objectStore.accessKey=AKIAEXAMPLE", "additional properties 'accessKey' not allowed"),
        ("teacher.apiKey=sk-example", "additional properties 'apiKey' not allowed"),
        ("image.tag=latest", "at '/image/tag'"),
        ("inferenceService.runtime=triton", "at '/inferenceService/runtime'"),
        ("inferenceService.gpu.count=-2", "at '/inferenceService/gpu/count': minimum: got -2, want 0"),
        # Storage identities (tests/deploy/test_chart_storage.py): key prefixes, no keys, no extra identities.
        ("objectStore.identities.qagen.write={../}", "at '/objectStore/identities/qagen/write/0'"),
        ("objectStore.identities.qagen.write={runs}", "at '/objectStore/identities/qagen/write/0'"),
        ("objectStore.identities.extraction.read={/etc/}", "at '/objectStore/identities/extraction/read/0'"),
        ("objectStore.identities.extraction.read={*/}", "at '/objectStore/identities/extraction/read/0'"),
        ("objectStore.identities.serving.write={runs/}", "additional properties 'write' not allowed"),
        ("objectStore.identities.serving.read=null", "at '/objectStore/identities/serving': missing property 'read'"),
        ("objectStore.identities.embedding.secret=doc2slm-store-embedding", "additional properties 'embedding'"),
        ("objectStore.identities.qagen.accessKey=AKIAEXAMPLE", "additional properties 'accessKey' not allowed"),
        ("objectStore.identities.qagen.secret=Not_A_Name", "at '/objectStore/identities/qagen/secret'"),
        ("minio.provisioning.image=quay.io/minio/mc:latest", "at '/minio/provisioning/image'"),
        # Image digests (test_chart_images.py) and the admission policy (test_chart_admission.py).
        ("image.digests.qagen=sha256:abc", "at '/image/digests/qagen'"),
        ("image.digests.qagen=sha512:" + "a" * 64, "at '/image/digests/qagen'"),
        ("image.digests.qagen=SHA256:" + "a" * 64, "at '/image/digests/qagen'"),
        ("image.digests.trainer=sha256:" + "a" * 64, "invalid propertyName 'trainer'"),
        ("admissionPolicy.validationActions={Deny,Warn}", "at '/admissionPolicy/validationActions'"),
        ("admissionPolicy.validationActions={Block}", "at '/admissionPolicy/validationActions/0'"),
        ("admissionPolicy.extraImagePrefixes={docker.io}", "at '/admissionPolicy/extraImagePrefixes/0'"),
        ("admissionPolicy.namespaces={Team_A}", "at '/admissionPolicy/namespaces/0'"),
    ],
)
def test_bad_values_are_rejected_by_the_schema(assignment: str, message: str) -> None:
    with pytest.raises(ValueError) as error:
        helm_template(sets=[assignment])
    assert "values don't meet the specifications of the schema" in str(error.value)
    assert message in str(error.value)


@pytest.mark.parametrize(
    ("assignments", "message"),
    [
        (["minio.enabled=false"], "objectStore.endpoint is required when minio.enabled is false"),
        (["services.qagen.autoscaling.enabled=true", "services.qagen.autoscaling.minReplicas=9"],
         "services.qagen.autoscaling.minReplicas (9) must not exceed maxReplicas (8)"),
        # Storage identities (test_chart_storage.py): never MinIO's root keys, never another identity's.
        (["objectStore.identities.qagen.secret=doc2slm-minio-root"],
         "objectStore.identities.qagen.secret names the Secret doc2slm-minio-root, which is already "
         "minio.rootSecret.name (MinIO's root credentials)"),
        (["objectStore.identities.training.secret=doc2slm-store-qagen"],
         "objectStore.identities.training.secret names the Secret doc2slm-store-qagen, which is already "
         "objectStore.identities.qagen.secret"),
        (["minio.rootSecret.name=doc2slm-kserve-s3"],
         "inferenceService.storageSecret names the Secret doc2slm-kserve-s3, which is already minio.rootSecret.name"),
        (["inferenceService.storageUri=s3://doc2slm/runs/r1/qa"],
         "inferenceService.storageUri s3://doc2slm/runs/r1/qa lies outside objectStore.identities.serving.read"),
    ],
)
def test_inconsistent_values_fail_with_a_clear_message(assignments: list[str], message: str) -> None:
    with pytest.raises(ValueError, match=message.replace("(", r"\(").replace(")", r"\)")):
        helm_template(sets=assignments)


def test_external_object_store_drops_minio_and_opens_egress_to_it() -> None:
    rendered = helm_template(sets=["minio.enabled=false", "objectStore.endpoint=s3.eu-west-1.amazonaws.com:443",
                                   "objectStore.secure=true"])
    assert not by_kind(rendered, "StatefulSet")
    config = release_config(rendered)
    assert config["data"]["MINIO_ENDPOINT"] == "s3.eu-west-1.amazonaws.com:443"
    assert config["data"]["MINIO_SECURE"] == "true"
    policies = {p["metadata"]["name"]: p for p in by_kind(rendered, "NetworkPolicy")}
    assert "doc2slm-minio" not in policies
    egress_ports = [port["port"] for rule in policies["doc2slm-extraction"]["spec"]["egress"]
                    for port in rule["ports"]]
    assert 443 in egress_ports and 9000 not in egress_ports
