"""Create the training job on the cluster, follow it to the end, and surface its logs on failure.

Which API the cluster serves decides the kind: Trainer v2 when `trainer.kubeflow.org` is registered,
else the Training Operator's PyTorchJob. A job of the same name (same inputs) that already exists is
waited for instead of created again, so a retried pipeline step does not start a second training run.
"""

from __future__ import annotations

import logging
import time
from typing import Any

from doc2slm_common.errors import NotFound, TimeLimitExceeded, UpstreamUnavailable

from doc2slm_pipelines.trainjob import (
    PYTORCHJOB_GROUP,
    PYTORCHJOB_PLURAL,
    PYTORCHJOB_VERSION,
    TRAINJOB_GROUP,
    TRAINJOB_PLURAL,
    TRAINJOB_VERSION,
    TrainJobSpec,
    render,
)

log = logging.getLogger("doc2slm.trainjob")

POLL_S = 15.0
LOG_TAIL_LINES = 200
# Condition types that end a job, per kind: (succeeded, failed).
FINAL_CONDITIONS = {"TrainJob": ("Complete", "Failed"), "PyTorchJob": ("Succeeded", "Failed")}
POD_LABEL = {"TrainJob": "jobset.sigs.k8s.io/jobset-name", "PyTorchJob": "training.kubeflow.org/job-name"}
API = {"TrainJob": (TRAINJOB_GROUP, TRAINJOB_VERSION, TRAINJOB_PLURAL),
       "PyTorchJob": (PYTORCHJOB_GROUP, PYTORCHJOB_VERSION, PYTORCHJOB_PLURAL)}


class TrainingJobFailed(UpstreamUnavailable):
    """The job ended Failed; the message carries its reason and the tail of the rank-0 logs."""


# The pipeline identity's token, mounted only into the steps that need the pipeline Role (deploy and
# fine-tune; KFP v2 has no per-task service account, so the identity travels as the chart's token Secret).
TOKEN_FILE_ENV = "DOC2SLM_KUBE_TOKEN_FILE"
DEFAULT_TOKEN_FILE = "/var/run/secrets/doc2slm-pipeline/token"


def load_kube_config() -> None:
    """Call the API as the pipeline identity when its token is mounted, else as the pod's own account
    (or the local kubeconfig outside a cluster)."""
    import os
    from pathlib import Path

    from kubernetes import client, config

    token_file = Path(os.environ.get(TOKEN_FILE_ENV) or DEFAULT_TOKEN_FILE)
    try:
        config.load_incluster_config()
    except config.ConfigException:
        config.load_kube_config()
        return
    if token_file.is_file():
        configuration = client.Configuration.get_default_copy()
        configuration.api_key = {"authorization": f"Bearer {token_file.read_text().strip()}"}
        configuration.refresh_api_key_hook = None  # the in-cluster hook would re-read the pod's own token
        client.Configuration.set_default(configuration)
        log.info("calling the Kubernetes API as the pipeline identity (%s)", token_file)


def pick_kind(requested: str) -> str:
    """TrainJob when Trainer v2's API group is served, else PyTorchJob; an explicit kind must exist."""
    from kubernetes import client

    groups = {group.name for group in client.ApisApi().get_api_versions().groups}
    available = [kind for kind, (group, _, _) in API.items() if group in groups]
    if requested != "auto":
        if requested not in available:
            raise NotFound(f"the cluster serves no {requested} API ({API[requested][0]} is not registered)")
        return requested
    if not available:
        raise NotFound("the cluster has neither Kubeflow Trainer (TrainJob) nor the Training Operator "
                       "(PyTorchJob); install one or run the fine-tune step on one GPU (trainer_nodes=0)")
    return available[0]


def job_state(kind: str, job: dict[str, Any]) -> tuple[str, str]:
    """('running' | 'succeeded' | 'failed', reason) from the job's status conditions."""
    succeeded, failed = FINAL_CONDITIONS[kind]
    for condition in (job.get("status") or {}).get("conditions") or []:
        if condition.get("status") != "True":
            continue
        if condition.get("type") == succeeded:
            return "succeeded", condition.get("message", "")
        if condition.get("type") == failed:
            return "failed", condition.get("message") or condition.get("reason", "")
    return "running", ""


def rank0_logs(kind: str, name: str, namespace: str) -> str:
    """The tail of the logs of the job's first pod (rank 0 prints the loss and the errors)."""
    from kubernetes import client

    core = client.CoreV1Api()
    pods = core.list_namespaced_pod(namespace, label_selector=f"{POD_LABEL[kind]}={name}").items
    if not pods:
        return "(no pod of the job was found)"
    first = sorted(pods, key=lambda pod: pod.metadata.name)[0]
    try:
        text: str = core.read_namespaced_pod_log(first.metadata.name, namespace, tail_lines=LOG_TAIL_LINES)
    except client.ApiException as error:
        return f"(logs of {first.metadata.name} unavailable: {error.reason})"
    return text


def create_or_find(kind: str, manifest: dict[str, Any]) -> None:
    from kubernetes import client

    group, version, plural = API[kind]
    api = client.CustomObjectsApi()
    namespace, name = manifest["metadata"]["namespace"], manifest["metadata"]["name"]
    try:
        api.create_namespaced_custom_object(group, version, namespace, plural, manifest)
        log.info("created %s %s/%s", kind, namespace, name)
    except client.ApiException as error:
        if error.status != 409:
            raise UpstreamUnavailable(f"could not create {kind} {name}: {error.status} {error.reason}") from None
        log.info("%s %s/%s exists already; following it", kind, namespace, name)


def wait_for_job(kind: str, name: str, namespace: str, timeout_s: float, poll_s: float = POLL_S) -> None:
    from kubernetes import client

    group, version, plural = API[kind]
    api = client.CustomObjectsApi()
    deadline = time.monotonic() + timeout_s
    last = ""
    while time.monotonic() < deadline:
        job = api.get_namespaced_custom_object(group, version, namespace, plural, name)
        state, reason = job_state(kind, job)
        if state != last:
            log.info("%s %s: %s %s", kind, name, state, reason)
            last = state
        if state == "succeeded":
            return
        if state == "failed":
            raise TrainingJobFailed(f"{kind} {namespace}/{name} failed: {reason}\n"
                                    f"--- rank-0 log tail ---\n{rank0_logs(kind, name, namespace)}")
        time.sleep(poll_s)
    raise TimeLimitExceeded(f"{kind} {namespace}/{name} did not finish within {timeout_s:.0f}s")


def run_training_job(spec: TrainJobSpec) -> str:
    """Render, create (or find) and follow the job to success; returns the kind that ran."""
    spec.validate()
    load_kube_config()
    kind = pick_kind(spec.kind)
    manifest = render(spec, kind)
    create_or_find(kind, manifest)
    wait_for_job(kind, spec.name, spec.namespace, spec.timeout_s)
    log.info("training finished; adapter at %s", spec.output_uri)
    return kind
