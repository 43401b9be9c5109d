"""The compiled pipeline: committed YAML up to date, cluster settings present, no runtime pip install."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml
from doc2slm_pipelines.components.images import PIPELINES_GPU_IMAGE, PIPELINES_IMAGE, image
from doc2slm_pipelines.pipeline import COMPILED_PATH, compile_pipeline

STEPS = ("extract", "generate-qa", "split", "finetune", "evaluate", "deploy")


@pytest.fixture(scope="module")
def fresh_yaml(tmp_path_factory: pytest.TempPathFactory) -> str:
    return compile_pipeline(tmp_path_factory.mktemp("compiled") / "pipeline.yaml").read_text()


@pytest.fixture(scope="module")
def spec(fresh_yaml: str) -> dict[str, Any]:
    # The compiled file holds two YAML documents: the pipeline spec and the platform (Kubernetes) spec.
    documents = list(yaml.safe_load_all(fresh_yaml))
    return {"pipeline": documents[0], "platform": documents[1] if len(documents) > 1 else {}}


def test_committed_yaml_is_current(fresh_yaml: str) -> None:
    committed = COMPILED_PATH.read_text()
    assert committed == fresh_yaml, (
        "pipelines/doc2slm_pipelines/compiled/doc2slm_pipeline.yaml is stale: run `doc2slm pipeline compile`")


def test_components_never_pip_install_at_pod_start(spec: dict[str, Any]) -> None:
    executors = spec["pipeline"]["deploymentSpec"]["executors"]
    assert set(executors) == {f"exec-{step}" for step in STEPS}
    for name, executor in executors.items():
        command = " ".join(executor["container"]["command"])
        assert "pip install" not in command, name
        assert executor["container"]["image"] in (PIPELINES_IMAGE, PIPELINES_GPU_IMAGE), name


def test_gpu_steps_get_accelerator_node_selector_and_tolerations(spec: dict[str, Any]) -> None:
    executors = spec["pipeline"]["deploymentSpec"]["executors"]
    for step in ("finetune", "evaluate"):
        accelerator = executors[f"exec-{step}"]["container"]["resources"]["accelerator"]
        assert "accelerator_type" in accelerator["resourceType"]
        assert "accelerator_limit" in accelerator["resourceCount"]
        k8s = spec["platform"]["platforms"]["kubernetes"]["deploymentSpec"]["executors"][f"exec-{step}"]
        assert k8s["nodeSelector"] == {"nodeSelectorJson": {"componentInputParameter": "gpu_node_selector"}}
        assert k8s["tolerations"] == [{"tolerationJson": {"componentInputParameter": "gpu_tolerations"}}]
    assert "resources" not in executors["exec-extract"]["container"]


def test_only_the_steps_that_call_the_cluster_mount_the_pipeline_token(spec: dict[str, Any]) -> None:
    executors = spec["platform"]["platforms"]["kubernetes"]["deploymentSpec"]["executors"]
    for step in ("finetune", "deploy"):
        config = executors[f"exec-{step}"]
        [secret] = config["secretAsVolume"]
        assert secret["secretNameParameter"] == {"componentInputParameter": "pipeline_token_secret"}
        assert secret["mountPath"] == "/var/run/secrets/doc2slm-pipeline" and secret["optional"] is True
        [policy] = [entry for entry in config["configMapAsEnv"]
                    if "DOC2SLM_ALLOWED_IMAGE_PREFIXES" in {key["envVar"] for key in entry["keyToEnv"]}]
        assert policy["configMapNameParameter"] == {"componentInputParameter": "cluster_config_map"}
        assert {entry["envVar"] for entry in policy["keyToEnv"]} >= {"DOC2SLM_TRAINING_STORE_KEYS_FROM"}
    for step in ("extract", "generate-qa", "split", "evaluate"):
        assert "secretAsVolume" not in executors.get(f"exec-{step}", {}), step


def test_every_step_gets_the_object_store_address_and_keys_by_reference(spec: dict[str, Any]) -> None:
    """Each step reads and writes s3:// in its own process (cards, splits, adapter, report): without
    MINIO_ENDPOINT and keys in its pod, the first s3:// URI fails on a cluster."""
    executors = spec["platform"]["platforms"]["kubernetes"]["deploymentSpec"]["executors"]
    for step in STEPS:
        config = executors[f"exec-{step}"]
        address = {key["envVar"]: entry["configMapNameParameter"] for entry in config["configMapAsEnv"]
                   for key in entry["keyToEnv"]}
        assert address["MINIO_ENDPOINT"] == address["MINIO_SECURE"] == {"componentInputParameter": "cluster_config_map"}
        [keys] = config["secretAsEnv"]
        assert keys["secretNameParameter"] == {"componentInputParameter": "pipeline_storage_secret"}
        assert {(k["secretKey"], k["envVar"]) for k in keys["keyToEnv"]} == {
            ("MINIO_ACCESS_KEY", "MINIO_ACCESS_KEY"), ("MINIO_SECRET_KEY", "MINIO_SECRET_KEY")}
    defaults = spec["pipeline"]["root"]["inputDefinitions"]["parameters"]
    assert defaults["pipeline_storage_secret"]["defaultValue"] == "doc2slm-object-store"


def test_retries_and_no_caching_on_every_step(spec: dict[str, Any]) -> None:
    tasks = spec["pipeline"]["root"]["dag"]["tasks"]
    assert set(tasks) == set(STEPS)
    for name, task in tasks.items():
        assert task["retryPolicy"]["maxRetryCount"] >= 1, name
        assert not task.get("cachingOptions", {}).get("enableCache", False), name


def test_cluster_defaults_use_service_dns_names(spec: dict[str, Any]) -> None:
    parameters = spec["pipeline"]["root"]["inputDefinitions"]["parameters"]
    assert parameters["extraction_address"]["defaultValue"] == "doc2slm-extraction:50051"
    assert parameters["qagen_address"]["defaultValue"] == "doc2slm-qagen:50052"
    assert parameters["scoring_address"]["defaultValue"] == "doc2slm-scoring:50054"
    assert parameters["deploy_mode"]["defaultValue"] == "kserve"
    assert parameters["gpu_node_selector"]["parameterType"] == "STRUCT"
    assert parameters["gpu_tolerations"]["parameterType"] == "LIST"


def test_compile_for_another_registry_rewrites_every_image(tmp_path: Path) -> None:
    text = compile_pipeline(tmp_path / "p.yaml", registry="registry.example.com/ml", tag="9.9").read_text()
    assert "ghcr.io/doc2slm" not in text
    for name in ("pipelines", "pipelines-gpu", "serving"):
        assert image(name, "registry.example.com/ml", "9.9") in text
