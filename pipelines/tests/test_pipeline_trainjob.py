"""The scale-out training job: rendered manifests checked against the Trainer and Kubernetes schemas,
the command they run parses with the fine-tune entry point's own argument parser, and (issue 14) the
images and pods the pipeline creates on the cluster follow cluster_policy.py."""

from __future__ import annotations

import json
import re
import shlex
from pathlib import Path
from typing import Any

import kubernetes_validate
import pytest
from doc2slm_common.errors import InvalidInput
from doc2slm_pipelines.cluster_policy import ImageNotAllowed
from doc2slm_pipelines.finetune.__main__ import build_parser
from doc2slm_pipelines.finetune.arguments import config_from_args
from doc2slm_pipelines.steps.deploy_kserve import deploy_to_kserve, new_inference_service
from doc2slm_pipelines.trainjob import TrainJobSpec, finetune_arguments, render
from doc2slm_pipelines.trainjob_run import TOKEN_FILE_ENV, job_state, load_kube_config
from kubeflow_trainer_api.models.trainer_v1alpha1_train_job import TrainerV1alpha1TrainJob

KUBERNETES_VERSION = "1.33"
GPU_TOLERATION = {"key": "nvidia.com/gpu", "operator": "Exists", "effect": "NoSchedule"}


def job_spec(**overrides: Any) -> TrainJobSpec:
    values: dict[str, Any] = dict(
        train_uri="s3://doc2slm/runs/r1/split/train.jsonl", output_uri="s3://doc2slm/runs/r1/adapter",
        base_model="s3://doc2slm/models/llama-2-13b-chat", eval_uri="s3://doc2slm/runs/r1/split/eval.jsonl",
        chunks_uri="s3://doc2slm/runs/r1/chunks.jsonl",
        config_json=json.dumps({"epochs": 3, "lora_rank": 64, "packing": False, "gradient_checkpointing": True}),
        nodes=2, gpus_per_node=4, image="ghcr.io/doc2slm/doc2slm-pipelines-gpu:0.1.0", namespace="ml",
        node_selector={"cloud.google.com/gke-accelerator": "nvidia-l4"}, tolerations=[GPU_TOLERATION],
        env={"MINIO_ENDPOINT": "doc2slm-minio:9000"}, env_from_secret="doc2slm-s3")
    values.update(overrides)
    return TrainJobSpec(**values)


def without_nones(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: without_nones(v) for k, v in value.items() if v is not None}
    if isinstance(value, list):
        return [without_nones(v) for v in value]
    return value


def test_trainjob_matches_the_trainer_v2_schema_field_for_field() -> None:
    manifest = render(job_spec(), "TrainJob")
    parsed = TrainerV1alpha1TrainJob.from_dict(manifest)
    assert parsed is not None
    # The generated models ignore unknown keys; a round trip that loses nothing proves every key is known.
    assert without_nones(parsed.to_dict()) == manifest
    trainer = manifest["spec"]["trainer"]
    assert trainer["numNodes"] == 2 and trainer["numProcPerNode"] == 4
    assert trainer["resourcesPerNode"]["limits"] == {"nvidia.com/gpu": "4"}
    patch = manifest["spec"]["runtimePatches"][0]["trainingRuntimeSpec"]["template"]["spec"]["replicatedJobs"][0]
    pod = patch["template"]["spec"]["template"]["spec"]
    assert pod["nodeSelector"] == {"cloud.google.com/gke-accelerator": "nvidia-l4"}
    assert pod["tolerations"] == [GPU_TOLERATION]


def test_a_misspelt_trainjob_field_is_caught_by_the_round_trip() -> None:
    manifest = render(job_spec(), "TrainJob")
    manifest["spec"]["trainer"]["numNode"] = manifest["spec"]["trainer"].pop("numNodes")
    parsed = TrainerV1alpha1TrainJob.from_dict(manifest)
    assert parsed is not None and without_nones(parsed.to_dict()) != manifest


def test_pytorchjob_pod_templates_are_valid_kubernetes() -> None:
    manifest = render(job_spec(nodes=3), "PyTorchJob")
    replicas = manifest["spec"]["pytorchReplicaSpecs"]
    assert replicas["Master"]["replicas"] == 1 and replicas["Worker"]["replicas"] == 2
    assert manifest["spec"]["nprocPerNode"] == "4"
    for replica in replicas.values():
        # A PodTemplate is the core kind whose schema is exactly a replica's template.
        kubernetes_validate.validate({"apiVersion": "v1", "kind": "PodTemplate", "metadata": {"name": "t"},
                                      "template": replica["template"]}, KUBERNETES_VERSION, strict=True)
        assert replica["template"]["spec"]["containers"][0]["name"] == "pytorch"


def test_one_node_pytorchjob_has_only_a_master() -> None:
    assert set(render(job_spec(nodes=1), "PyTorchJob")["spec"]["pytorchReplicaSpecs"]) == {"Master"}


def test_launch_flags_parse_with_the_finetune_entry_point() -> None:
    spec = job_spec()
    args = build_parser().parse_args(finetune_arguments(spec))
    config = config_from_args(args)
    assert (args.train, args.out, args.base_model) == (spec.train_uri, spec.output_uri, spec.base_model)
    assert (config.epochs, config.lora_rank, config.packing, config.gradient_checkpointing) == (3, 64, False, True)
    command = render(spec, "TrainJob")["spec"]["trainer"]["command"]
    script = command[-1]
    assert command[:2] == ["/bin/sh", "-c"]
    assert script.startswith("torchrun ") and "-m doc2slm_pipelines.finetune" in script
    assert '--nnodes "$PET_NNODES"' in script and '--nproc_per_node "$PET_NPROC_PER_NODE"' in script
    assert shlex.join(finetune_arguments(spec)) in script


@pytest.mark.parametrize("change, message", [
    ({"nodes": 0}, "nodes >= 1"), ({"image": ""}, "container image"), ({"kind": "MPIJob"}, "job kind"),
    ({"output_uri": "file:///tmp/adapter"}, "object storage"),
])
def test_bad_job_settings_are_refused_by_name(change: dict[str, Any], message: str) -> None:
    with pytest.raises(InvalidInput, match=message):
        job_spec(**change).validate()


def test_job_name_is_stable_per_input_and_a_valid_dns_label() -> None:
    assert job_spec().name == job_spec(nodes=4).name
    assert job_spec().name != job_spec(train_uri="s3://doc2slm/other.jsonl").name
    kubernetes_validate.validate({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": job_spec().name}},
                                 KUBERNETES_VERSION, strict=True)


@pytest.mark.parametrize("kind, conditions, state", [
    ("TrainJob", [{"type": "Created", "status": "True"}], "running"),
    ("TrainJob", [{"type": "Complete", "status": "True", "message": "done"}], "succeeded"),
    ("TrainJob", [{"type": "Failed", "status": "True", "reason": "BackoffLimitExceeded"}], "failed"),
    ("PyTorchJob", [{"type": "Running", "status": "True"}, {"type": "Succeeded", "status": "True"}], "succeeded"),
    ("PyTorchJob", [{"type": "Failed", "status": "False"}], "running"),
])
def test_job_state_reads_the_final_conditions(kind: str, conditions: list[dict[str, str]], state: str) -> None:
    assert job_state(kind, {"status": {"conditions": conditions}})[0] == state


# Issue 14, finding 5: the job's pods hold the object-store credentials, so what they run and how is fixed.

@pytest.mark.parametrize("image", [
    "docker.io/attacker/miner:latest", "ghcr.io/doc2slm-evil/doc2slm-pipelines-gpu:0.1.0",
    "ghcr.io/doc2slm/../evil/x:1", "ghcr.io/doc2slm/x y", "https://ghcr.io/doc2slm/x:1", "pytorch/pytorch",
])
def test_an_image_outside_the_allowed_registry_is_refused(image: str) -> None:
    with pytest.raises(ImageNotAllowed):
        job_spec(image=image).validate()
    with pytest.raises(ImageNotAllowed):
        render(job_spec(image=image), "PyTorchJob")


def test_the_allowed_registries_come_from_the_chart_config(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DOC2SLM_ALLOWED_IMAGE_PREFIXES", "registry.corp.example:5000/ml, ghcr.io/doc2slm/")
    corp = "registry.corp.example:5000/ml/doc2slm-pipelines-gpu@sha256:" + "a" * 64
    assert job_spec(image=corp).validate().image == corp
    with pytest.raises(ImageNotAllowed, match=re.escape("registry.corp.example:5000/ml/")):
        job_spec(image="registry.corp.example:5000/mlx/trainer:1").validate()


def _pods(kind: str) -> list[tuple[dict[str, Any], dict[str, Any], dict[str, Any]]]:
    """(pod labels, pod spec or patch, trainer container or patch) of each pod template the job makes."""
    manifest = render(job_spec(), kind)
    if kind == "PyTorchJob":
        return [(r["template"]["metadata"]["labels"], r["template"]["spec"], r["template"]["spec"]["containers"][0])
                for r in manifest["spec"]["pytorchReplicaSpecs"].values()]
    (patch,) = manifest["spec"]["runtimePatches"][0]["trainingRuntimeSpec"]["template"]["spec"]["replicatedJobs"]
    pod = patch["template"]["spec"]["template"]
    return [(pod["metadata"]["labels"], pod["spec"], pod["spec"]["containers"][0])]


@pytest.mark.parametrize("kind", ["TrainJob", "PyTorchJob"])
def test_training_pods_are_restricted_labelled_and_tokenless(kind: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DOC2SLM_RELEASE_POD_LABELS", '{"app.kubernetes.io/name": "doc2slm", '
                                                    '"app.kubernetes.io/instance": "team-a"}')
    for labels, pod, container in _pods(kind):
        assert labels["app.kubernetes.io/instance"] == "team-a"
        assert labels["app.kubernetes.io/component"] == "training"
        assert pod["serviceAccountName"] == "doc2slm-training"
        assert pod["securityContext"]["runAsNonRoot"] is True
        assert pod["securityContext"]["seccompProfile"] == {"type": "RuntimeDefault"}
        security = container["securityContext"]
        assert security["allowPrivilegeEscalation"] is False and security["readOnlyRootFilesystem"] is True
        assert security["capabilities"] == {"drop": ["ALL"]}
        mounts = {m["mountPath"] for m in container["volumeMounts"]}
        assert {"/tmp", "/cache", "/dev/shm"} <= mounts
        assert {v["name"] for v in pod["volumes"]} == {m["name"] for m in container["volumeMounts"]}
        if kind == "PyTorchJob":
            assert pod["automountServiceAccountToken"] is False
            env = {e["name"]: e["value"] for e in container["env"] if "value" in e}
            assert env["HOME"].startswith("/cache/") and env["HF_HOME"].startswith("/cache/")


@pytest.mark.parametrize("kind", ["TrainJob", "PyTorchJob"])
def test_training_pods_get_the_store_address_and_key_references_from_the_chart_config(
        kind: str, monkeypatch: pytest.MonkeyPatch) -> None:
    """The step pod has the chart's ConfigMap in its environment; the job's pods must reach the same store
    with the Secret the chart names for training, by reference and with the chart's key names."""
    config = {"MINIO_ENDPOINT": "doc2slm-minio.ml.svc:9000", "MINIO_SECURE": "false",
              "DOC2SLM_TRAINING_STORE_KEYS_FROM": "doc2slm-training-store",
              "DOC2SLM_STORE_KEY_NAMES": "accesskey,secretkey"}
    for key, value in config.items():
        monkeypatch.setenv(key, value)
    given = job_spec()  # env and env_from_secret left to their defaults, read from the environment now:
    spec = TrainJobSpec(train_uri=given.train_uri, output_uri=given.output_uri, base_model=given.base_model,
                        config_json=given.config_json, image=given.image, nodes=2)
    manifest = render(spec, kind)
    containers = ([manifest["spec"]["trainer"]] if kind == "TrainJob" else
                  [replica["template"]["spec"]["containers"][0]
                   for replica in manifest["spec"]["pytorchReplicaSpecs"].values()])
    for container in containers:
        env = {e["name"]: e.get("value", e.get("valueFrom")) for e in container["env"]}
        assert env["MINIO_ENDPOINT"] == "doc2slm-minio.ml.svc:9000" and env["MINIO_SECURE"] == "false"
        assert env["MINIO_ACCESS_KEY"] == {"secretKeyRef": {"name": "doc2slm-training-store", "key": "accesskey"}}
        assert env["MINIO_SECRET_KEY"] == {"secretKeyRef": {"name": "doc2slm-training-store", "key": "secretkey"}}
        assert "envFrom" not in container  # a whole Secret would hand over every key in it
    monkeypatch.setenv("DOC2SLM_STORE_KEY_NAMES", "only-one")
    with pytest.raises(ValueError, match="DOC2SLM_STORE_KEY_NAMES"):
        render(spec, kind)


def test_the_deploy_step_refuses_a_foreign_predictor_image_before_touching_the_cluster() -> None:
    with pytest.raises(ImageNotAllowed, match="not under the allowed registries"):
        deploy_to_kserve("s3://doc2slm/runs/r1/adapter", name="doc2slm", namespace="ml", adapter_name="a",
                         base_model="bundled", image="docker.io/attacker/serving:1", gpus=0)
    manifest = new_inference_service("doc2slm", "ml", adapter_uri="s3://doc2slm/runs/r1/adapter",
                                     adapter_name="a", base_model="bundled",
                                     image="ghcr.io/doc2slm/doc2slm-serving:0.1.0", gpus=0)
    predictor = manifest["spec"]["predictor"]
    assert predictor["labels"]["app.kubernetes.io/component"] == "predictor"
    assert predictor["containers"][0]["securityContext"]["readOnlyRootFilesystem"] is True


def test_the_job_is_created_as_the_pipeline_identity_when_its_token_is_mounted(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from kubernetes import client
    from kubernetes.config import incluster_config

    pod_token, pipeline_token, ca = tmp_path / "pod-token", tmp_path / "pipeline-token", tmp_path / "ca.crt"
    pod_token.write_text("the-step-pods-own-token")
    pipeline_token.write_text("doc2slm-pipeline-token\n")
    ca.write_text("not checked until a connection is made")
    monkeypatch.setattr(incluster_config, "SERVICE_TOKEN_FILENAME", str(pod_token))
    monkeypatch.setattr(incluster_config, "SERVICE_CERT_FILENAME", str(ca))
    monkeypatch.setenv("KUBERNETES_SERVICE_HOST", "10.96.0.1")
    monkeypatch.setenv("KUBERNETES_SERVICE_PORT", "443")
    original = client.Configuration.get_default_copy()
    try:
        monkeypatch.setenv(TOKEN_FILE_ENV, str(tmp_path / "absent"))
        load_kube_config()
        assert client.Configuration.get_default_copy().api_key["authorization"].lower() == (
            "bearer the-step-pods-own-token")
        monkeypatch.setenv(TOKEN_FILE_ENV, str(pipeline_token))
        load_kube_config()
        configuration = client.Configuration.get_default_copy()
        assert configuration.api_key["authorization"] == "Bearer doc2slm-pipeline-token"
        assert configuration.host == "https://10.96.0.1:443"
    finally:
        client.Configuration.set_default(original)
