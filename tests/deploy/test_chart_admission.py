"""Issue 14, finding 5 (images come from pipeline parameters), on the API server: the chart's optional
ValidatingAdmissionPolicy. Its CEL is evaluated here with cel-python against the objects doc2slm itself
creates (they pass) and the same objects with an image from elsewhere (they are refused), so a wrong path
or a missing container list in the expression fails a test, not a cluster."""

from __future__ import annotations

import copy
from typing import Any

import celpy
import kubernetes_validate
import pytest
from celpy import celtypes
from doc2slm_pipelines.steps.deploy_kserve import new_inference_service
from doc2slm_pipelines.trainjob import TrainJobSpec, render

from tests.deploy.render import KUBERNETES_VERSION, Manifest, by_kind, containers, helm_template

ENABLED = ["admissionPolicy.enabled=true"]
OURS = "ghcr.io/doc2slm/doc2slm-pipelines-gpu:0.1.0"
FOREIGN = "evil.example/miner:1"
LOOKALIKE = "ghcr.io/doc2slm-evil/doc2slm-pipelines-gpu:0.1.0"  # a prefix of the string, not of the path


class AdmissionPolicy:
    """The rendered policy, its variables evaluated once; `refusals(obj)` lists the messages of the
    validations an object fails, as the API server would for a CREATE of it."""

    def __init__(self, rendered: list[Manifest]) -> None:
        (self.policy,) = by_kind(rendered, "ValidatingAdmissionPolicy")
        (self.binding,) = by_kind(rendered, "ValidatingAdmissionPolicyBinding")
        self.env = celpy.Environment()
        self.variables = celtypes.MapType({
            celtypes.StringType(v["name"]): self._program(v["expression"]).evaluate({})
            for v in self.policy["spec"]["variables"]})
        self.validations = [(self._program(v["expression"]), v["message"]) for v in self.policy["spec"]["validations"]]

    def _program(self, expression: str) -> Any:
        return self.env.program(self.env.compile(expression))

    def matches(self, group: str, resource: str) -> bool:
        return any(group in rule["apiGroups"] and resource in rule["resources"]
                   for rule in self.policy["spec"]["matchConstraints"]["resourceRules"])

    def refusals(self, obj: Manifest) -> list[str]:
        activation = {"object": celpy.json_to_cel(obj), "variables": self.variables,
                      "request": celpy.json_to_cel({"kind": {"kind": obj["kind"]}, "operation": "CREATE"})}
        refused = []
        for program, message in self.validations:
            result = program.evaluate(activation)
            assert isinstance(result, celtypes.BoolType), f"{obj['kind']}: the expression failed: {result!r}"
            if not result:
                refused.append(message)
        return refused


@pytest.fixture(scope="module")
def admission() -> AdmissionPolicy:
    return AdmissionPolicy(helm_template(sets=[*ENABLED, "admissionPolicy.pods=true"]))


def _job(kind: str, image: str = OURS) -> Manifest:
    """The training job the fine-tune step creates; `image` may be one the step itself would refuse (someone
    with the pipeline identity's token creating the job directly)."""
    spec = TrainJobSpec(train_uri="s3://doc2slm/runs/r1/split/train.jsonl", output_uri="s3://doc2slm/runs/r1/adapter",
                        base_model="bundled", config_json="{}", nodes=2, gpus_per_node=1, namespace="doc2slm",
                        image=image, allowed_image_prefixes=[image.rsplit("/", 1)[0] + "/"])
    return render(spec, kind)


def _pod(workload: Manifest) -> Manifest:
    return {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "p"}, "spec": workload["spec"]["template"]["spec"]}


def test_the_policy_is_off_by_default_so_the_chart_stays_namespaced(chart_renders: dict[str, list[Manifest]]) -> None:
    kinds = {m["kind"] for m in chart_renders["generic"]}
    assert not kinds & {"ValidatingAdmissionPolicy", "ValidatingAdmissionPolicyBinding", "ClusterRole"}


def test_the_policy_and_binding_are_valid_objects_bound_to_the_release_namespaces() -> None:
    rendered = helm_template(sets=[*ENABLED, "admissionPolicy.namespaces={kubeflow-user-alice}"])
    for kind in ("ValidatingAdmissionPolicy", "ValidatingAdmissionPolicyBinding"):
        (manifest,) = by_kind(rendered, kind)
        kubernetes_validate.validate(manifest, KUBERNETES_VERSION, strict=True)
    policy = AdmissionPolicy(rendered)
    assert policy.binding["spec"]["policyName"] == policy.policy["metadata"]["name"]
    assert policy.binding["spec"]["validationActions"] == ["Deny"]
    (selector,) = policy.binding["spec"]["matchResources"]["namespaceSelector"]["matchExpressions"]
    assert selector == {"key": "kubernetes.io/metadata.name", "operator": "In",
                        "values": ["doc2slm", "kubeflow-user-alice"]}
    assert policy.policy["spec"]["failurePolicy"] == "Fail"
    for group, resource in (("trainer.kubeflow.org", "trainjobs"), ("kubeflow.org", "pytorchjobs"),
                            ("serving.kserve.io", "inferenceservices")):
        assert policy.matches(group, resource)
    assert not policy.matches("", "pods")  # Pods only with admissionPolicy.pods


@pytest.mark.parametrize("kind", ["TrainJob", "PyTorchJob"])
def test_training_jobs_from_the_release_registry_pass_and_others_are_refused(
        admission: AdmissionPolicy, kind: str) -> None:
    assert admission.refusals(_job(kind)) == []
    for image in (FOREIGN, LOOKALIKE):
        (message,) = admission.refusals(_job(kind, image))
        assert message.startswith(f"a {kind} here may only run images from: ghcr.io/doc2slm/")


def test_a_trainjob_cannot_swap_the_image_in_through_its_runtime_patch(admission: AdmissionPolicy) -> None:
    job = _job("TrainJob")
    patch = job["spec"]["runtimePatches"][0]["trainingRuntimeSpec"]["template"]["spec"]["replicatedJobs"][0]
    patch["template"]["spec"]["template"]["spec"]["containers"][0]["image"] = FOREIGN
    assert len(admission.refusals(job)) == 1
    job = _job("TrainJob")
    job["spec"]["podTemplateOverrides"] = [{"targetJobs": [{"name": "node"}],
                                            "spec": {"initContainers": [{"name": "x", "image": FOREIGN}]}}]
    assert len(admission.refusals(job)) == 1


def test_a_pytorchjob_worker_or_init_container_from_elsewhere_is_refused(admission: AdmissionPolicy) -> None:
    job = _job("PyTorchJob")
    job["spec"]["pytorchReplicaSpecs"]["Worker"]["template"]["spec"]["containers"][0]["image"] = FOREIGN
    assert len(admission.refusals(job)) == 1
    job = _job("PyTorchJob")
    job["spec"]["pytorchReplicaSpecs"]["Master"]["template"]["spec"]["initContainers"] = [
        {"name": "fetch", "image": FOREIGN}]
    assert len(admission.refusals(job)) == 1


def test_inference_services_of_the_chart_and_the_deploy_step_pass(admission: AdmissionPolicy) -> None:
    (chart_isvc,) = by_kind(helm_template(), "InferenceService")
    (vllm_isvc,) = by_kind(helm_template(sets=["inferenceService.runtime=huggingface-vllm"]), "InferenceService")
    created = new_inference_service("doc2slm", "doc2slm", adapter_uri="s3://doc2slm/runs/r1/adapter",
                                    adapter_name="a", base_model="bundled",
                                    image="ghcr.io/doc2slm/doc2slm-serving:0.1.0", gpus=0)
    for isvc in (chart_isvc, vllm_isvc, created):
        assert admission.refusals(isvc) == []


@pytest.mark.parametrize("where", ["containers", "model", "huggingface", "transformer", "lookalike"])
def test_an_inference_service_naming_another_image_anywhere_is_refused(admission: AdmissionPolicy, where: str) -> None:
    (isvc,) = by_kind(helm_template(), "InferenceService")
    isvc = copy.deepcopy(isvc)
    predictor = isvc["spec"]["predictor"]
    if where == "containers":
        predictor["containers"][0]["image"] = FOREIGN
    elif where == "lookalike":
        predictor["containers"][0]["image"] = LOOKALIKE
    elif where == "transformer":
        isvc["spec"]["transformer"] = {"containers": [{"name": "kserve-container", "image": FOREIGN}]}
    else:
        predictor[where] = {"storageUri": "s3://doc2slm/runs/r1/adapter", "image": FOREIGN}
    (message,) = admission.refusals(isvc)
    assert message.startswith("an InferenceService here may only run images from:")


def test_pods_of_the_release_pass_and_a_foreign_container_is_refused(admission: AdmissionPolicy) -> None:
    rendered = helm_template()
    workloads = by_kind(rendered, "Deployment") + by_kind(rendered, "StatefulSet") + by_kind(rendered, "Job")
    assert len(workloads) == 6  # four services, MinIO and the job that creates its users
    for workload in workloads:
        assert admission.refusals(_pod(workload)) == [], workload["metadata"]["name"]
    pod = _pod(by_kind(rendered, "StatefulSet")[0])
    pod["spec"]["ephemeralContainers"] = [{"name": "debug", "image": FOREIGN}]
    (message,) = admission.refusals(pod)
    assert message.startswith("a Pod here may only run images from:")
    pod = _pod(by_kind(rendered, "StatefulSet")[0])
    pod["spec"]["containers"][0]["image"] = "quay.io/minio/minio:latest"  # MinIO's pinned image only
    assert len(admission.refusals(pod)) == 1


def test_digests_and_extra_prefixes_reach_the_policy() -> None:
    digest = "sha256:" + "0" * 64
    rendered = helm_template(sets=[*ENABLED, "admissionPolicy.pods=true", f"image.digests.minio={digest}",
                                   "admissionPolicy.extraImagePrefixes={kserve/storage-initializer:}",
                                   "pipeline.allowedImagePrefixes={registry.corp.example/ml}"])
    policy = AdmissionPolicy(rendered)
    (minio,) = by_kind(rendered, "StatefulSet")
    assert containers(minio)[0]["image"] == f"quay.io/minio/minio@{digest}"
    assert policy.refusals(_pod(minio)) == []
    pod = _pod(minio)
    pod["spec"]["containers"][0]["image"] = "quay.io/minio/minio:RELEASE.2025-04-22T22-12-26Z"  # not the digest
    assert len(policy.refusals(pod)) == 1
    pod["spec"]["containers"][0]["image"] = "registry.corp.example/ml/doc2slm-serving:0.1.0"
    pod["spec"]["initContainers"] = [{"name": "storage-initializer", "image": "kserve/storage-initializer:v0.15.2"}]
    assert policy.refusals(pod) == []
    assert len(policy.refusals(_job("PyTorchJob"))) == 1  # ghcr.io/doc2slm/ is no longer the registry
