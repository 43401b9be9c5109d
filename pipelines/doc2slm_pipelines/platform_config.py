"""What each step's pod gets from the cluster: GPU placement, the pipeline identity, the object store.

These write the `platforms.kubernetes` executor config (KubernetesExecutorConfig as JSON) that
kfp-kubernetes' add_node_selector_json / add_toleration_json / use_secret_as_volume / use_secret_as_env /
use_config_map_as_env write, without depending on that package; every name is a pipeline parameter that
the KFP backend resolves when it builds the pod (referenced as componentInputParameter). Each helper adds
its entries to what the task already has, so several can apply to one task.
"""

from __future__ import annotations

from typing import Any

from kfp import dsl
from kfp.dsl import pipeline_channel

from doc2slm_pipelines.cluster_policy import STORAGE_ADDRESS_KEYS, STORAGE_CREDENTIAL_ENV

# What the chart's ConfigMap tells the steps that touch the cluster (images they may start, labels,
# account and storage Secret of training pods), by key; the environment variable has the key's name.
CLUSTER_POLICY_KEYS = ("DOC2SLM_ALLOWED_IMAGE_PREFIXES", "DOC2SLM_RELEASE_POD_LABELS",
                       "DOC2SLM_TRAINING_SERVICE_ACCOUNT", "DOC2SLM_TRAINING_STORE_KEYS_FROM",
                       "DOC2SLM_STORE_KEY_NAMES")
PIPELINE_TOKEN_MOUNT = "/var/run/secrets/doc2slm-pipeline"


def _kubernetes(task: dsl.PipelineTask, *channels: pipeline_channel.PipelineParameterChannel) -> dict[str, Any]:
    task.register_pipeline_channels(list(channels))
    config: dict[str, Any] = task.platform_config.setdefault("kubernetes", {})
    return config


def _parameter(channel: pipeline_channel.PipelineParameterChannel) -> dict[str, str]:
    return {"componentInputParameter": channel.full_name}


def _config_map_env(config: dict[str, Any], config_map: pipeline_channel.PipelineParameterChannel,
                    keys: tuple[str, ...]) -> None:
    config.setdefault("configMapAsEnv", []).append(
        {"configMapNameParameter": _parameter(config_map),
         "keyToEnv": [{"configMapKey": key, "envVar": key} for key in keys], "optional": True})


def schedule_on_gpu_nodes(task: dsl.PipelineTask, node_selector: pipeline_channel.PipelineParameterChannel,
                          tolerations: pipeline_channel.PipelineParameterChannel) -> None:
    """Node selector and tolerations from pipeline parameters (a toleration parameter may be one object or
    a list)."""
    config = _kubernetes(task, node_selector, tolerations)
    config["nodeSelector"] = {"nodeSelectorJson": _parameter(node_selector)}
    config["tolerations"] = [{"tolerationJson": _parameter(tolerations)}]


def use_pipeline_identity(task: dsl.PipelineTask, token_secret: pipeline_channel.PipelineParameterChannel,
                          config_map: pipeline_channel.PipelineParameterChannel) -> None:
    """Mount the pipeline account's token Secret and the cluster policy from the chart's ConfigMap.

    KFP v2 runs every step as one service account and has no per-task account, so the steps that create
    InferenceServices and training jobs (deploy, fine-tune) mount the token of the chart's dedicated
    account (trainjob_run.load_kube_config reads it) and no other step sees it. Both are optional: on a
    cluster without the chart's objects the steps run with their defaults.
    """
    config = _kubernetes(task, token_secret, config_map)
    config.setdefault("secretAsVolume", []).append(
        {"secretNameParameter": _parameter(token_secret), "mountPath": PIPELINE_TOKEN_MOUNT, "optional": True})
    _config_map_env(config, config_map, CLUSTER_POLICY_KEYS)


def use_object_store(task: dsl.PipelineTask, storage_secret: pipeline_channel.PipelineParameterChannel,
                     config_map: pipeline_channel.PipelineParameterChannel) -> None:
    """The object store's address from the chart's ConfigMap and its keys from a Secret, by reference.

    Every step reads or writes s3:// URIs in its own process (cards, splits, the adapter, the report), so
    each needs MINIO_ENDPOINT and keys; the Secret is a pipeline parameter so that an operator can give
    the pipeline's steps a key of their own, narrower than the services' (its keys must be named
    MINIO_ACCESS_KEY and MINIO_SECRET_KEY). Optional, so a cluster without them fails with the storage
    layer's own message ("MINIO_ENDPOINT is not set") rather than a pod that never starts.
    """
    config = _kubernetes(task, storage_secret, config_map)
    _config_map_env(config, config_map, STORAGE_ADDRESS_KEYS)
    config.setdefault("secretAsEnv", []).append(
        {"secretNameParameter": _parameter(storage_secret),
         "keyToEnv": [{"secretKey": key, "envVar": key} for key in STORAGE_CREDENTIAL_ENV], "optional": True})
