"""Cluster deploy: point the KServe InferenceService at the new adapter, creating it when absent.

The Helm chart normally creates the InferenceService; this step publishes a run's adapter by changing
only where the adapter comes from (STORAGE_URI of doc2slm's predictor container, or storageUri of the
Hugging Face runtime's model). Replacing with the read resourceVersion makes a concurrent edit fail
loudly instead of being overwritten. The predictor image is a pipeline parameter, so it is checked
against the operator's allowed registries (cluster_policy.py) before anything is written; a predictor
this step creates is hardened and labelled like the chart's.
"""

from __future__ import annotations

import copy
import logging
from typing import Any

from doc2slm_common.errors import InvalidInput, UpstreamUnavailable

from doc2slm_pipelines import cluster_policy as policy

log = logging.getLogger("doc2slm.pipeline.deploy")

GROUP, VERSION, PLURAL = "serving.kserve.io", "v1beta1", "inferenceservices"
PREDICTOR_CONTAINER = "kserve-container"
ADAPTER_ANNOTATION = "doc2slm.io/adapter-uri"


def new_inference_service(name: str, namespace: str, *, adapter_uri: str, adapter_name: str,
                          base_model: str, image: str, gpus: int, service_account: str = "") -> dict[str, Any]:
    """doc2slm's predictor serving base model + adapter (the chart's default runtime, minimal form)."""
    labels = policy.release_pod_labels("predictor")
    resources: dict[str, Any] = {"requests": {"cpu": "1", "memory": "4Gi"}, "limits": {"cpu": "4", "memory": "16Gi"}}
    if gpus > 0:
        resources["requests"]["nvidia.com/gpu"] = str(gpus)
        resources["limits"]["nvidia.com/gpu"] = str(gpus)
    predictor: dict[str, Any] = {
        "minReplicas": 1,
        "labels": labels,
        "securityContext": policy.pod_security_context(),
        "volumes": policy.scratch_volumes(),
        "containers": [{
            "name": PREDICTOR_CONTAINER, "image": image,
            "args": [f"--served-name={name}", f"--base-model={base_model or 'bundled'}",
                     f"--adapter={adapter_name}=/mnt/models", "--host=0.0.0.0", "--http-port=8080",
                     "--grpc-port=8081"],
            "env": [{"name": "STORAGE_URI", "value": adapter_uri},
                    {"name": "HF_HUB_OFFLINE", "value": "1"}, {"name": "TRANSFORMERS_OFFLINE", "value": "1"},
                    *policy.scratch_env()],
            "ports": [{"name": "http1", "containerPort": 8080, "protocol": "TCP"}],
            "resources": resources,
            "securityContext": policy.container_security_context(),
            "volumeMounts": policy.scratch_mounts(),
        }],
    }
    if service_account:
        predictor["serviceAccountName"] = service_account
    return {"apiVersion": f"{GROUP}/{VERSION}", "kind": "InferenceService",
            "metadata": {"name": name, "namespace": namespace,
                         "annotations": {"serving.kserve.io/deploymentMode": "RawDeployment",
                                         ADAPTER_ANNOTATION: adapter_uri},
                         "labels": labels},
            "spec": {"predictor": predictor}}


def point_at_adapter(isvc: dict[str, Any], adapter_uri: str) -> dict[str, Any]:
    """A copy of `isvc` that loads the adapter from `adapter_uri`; refuses a shape it does not know."""
    updated = copy.deepcopy(isvc)
    predictor = updated.get("spec", {}).get("predictor", {})
    changed = False
    if isinstance(predictor.get("model"), dict):
        predictor["model"]["storageUri"] = adapter_uri
        changed = True
    for container in predictor.get("containers") or []:
        if container.get("name") != PREDICTOR_CONTAINER:
            continue
        env = container.setdefault("env", [])
        entries = [item for item in env if item.get("name") == "STORAGE_URI"]
        if entries:
            entries[0]["value"] = adapter_uri
        else:
            env.append({"name": "STORAGE_URI", "value": adapter_uri})
        changed = True
    if not changed:
        name = updated.get("metadata", {}).get("name")
        raise InvalidInput(f"InferenceService {name} has neither a model nor a {PREDICTOR_CONTAINER} "
                           f"container to point at the adapter")
    # The annotation changes the pod template, so KServe rolls the predictor even when the URI repeats.
    updated.setdefault("metadata", {}).setdefault("annotations", {})[ADAPTER_ANNOTATION] = adapter_uri
    return updated


def deploy_to_kserve(adapter_uri: str, *, name: str, namespace: str, adapter_name: str, base_model: str,
                     image: str, gpus: int, allowed_image_prefixes: list[str] | None = None) -> dict[str, Any]:
    """Create or update the InferenceService; returns the deploy card.

    The image is checked even when the InferenceService exists (and keeps its own image): a parameter
    naming a foreign registry is a mistake or an attempt either way, and fails the step before any write.
    """
    from kubernetes import client

    from doc2slm_pipelines.trainjob_run import load_kube_config

    if not adapter_uri.startswith("s3://"):
        raise InvalidInput(f"a cluster predictor downloads its adapter; {adapter_uri} is not an s3:// URI")
    policy.check_image(image, allowed_image_prefixes or policy.allowed_image_prefixes())
    load_kube_config()
    api = client.CustomObjectsApi()
    try:
        current = api.get_namespaced_custom_object(GROUP, VERSION, namespace, PLURAL, name)
    except client.ApiException as error:
        if error.status != 404:
            raise UpstreamUnavailable(f"reading InferenceService {namespace}/{name}: {error.reason}") from None
        body = new_inference_service(name, namespace, adapter_uri=adapter_uri, adapter_name=adapter_name,
                                     base_model=base_model, image=image, gpus=gpus)
        api.create_namespaced_custom_object(GROUP, VERSION, namespace, PLURAL, body)
        action = "created"
    else:
        body = point_at_adapter(current, adapter_uri)
        api.replace_namespaced_custom_object(GROUP, VERSION, namespace, PLURAL, name, body)
        action = "updated"
    log.info("%s InferenceService %s/%s with adapter %s", action, namespace, name, adapter_uri)
    return {"mode": "kserve", "action": action, "name": name, "namespace": namespace,
            "adapter_uri": adapter_uri, "adapter_name": adapter_name,
            "endpoint": f"http://{name}-predictor.{namespace}.svc.cluster.local",
            "openai_base_url": f"http://{name}-predictor.{namespace}.svc.cluster.local/openai/v1"}
