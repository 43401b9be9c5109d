"""Scale-out fine-tuning: the Kubeflow Trainer job that runs the fine-tune step over N nodes x M GPUs.

Trainer v2 (`trainer.kubeflow.org` TrainJob on the `torch-distributed` runtime) is preferred; a cluster
that still runs the Training Operator gets the same work as a `kubeflow.org/v1` PyTorchJob. Both launch
the one fine-tune entry point (`python -m doc2slm_pipelines.finetune`) through `torchrun`, one process per
GPU, reading the rendezvous from the PET_* variables both operators set, so there is no hand-made
launcher. The ranks train the LoRA weights data-parallel (DDP over a full 4-bit base on every GPU, the
well-supported QLoRA path); FSDP sharding of the base (QLoRA with bnb_4bit_quant_storage=bfloat16 through
accelerate's FSDP plugin) is future work, needed only once a base no longer fits one GPU in 4-bit. The
adapter and checkpoints go to `output_uri` in object storage: a preempted job resumes on every rank.

The job's pods hold the object-store credentials, so they follow cluster_policy.py: the image must be
under the operator's allowed registries, the pods meet the restricted Pod Security Standard with a
read-only root, run as the training ServiceAccount (no API rights, no token) and carry the release's
pod labels, so the chart's default-deny NetworkPolicy covers them.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import shlex
from dataclasses import dataclass, field
from typing import Any

from doc2slm_common.errors import InvalidInput

from doc2slm_pipelines import cluster_policy as policy
from doc2slm_pipelines.finetune.config import FinetuneConfig

TRAINJOB_GROUP, TRAINJOB_VERSION, TRAINJOB_PLURAL = "trainer.kubeflow.org", "v1alpha1", "trainjobs"
PYTORCHJOB_GROUP, PYTORCHJOB_VERSION, PYTORCHJOB_PLURAL = "kubeflow.org", "v1", "pytorchjobs"
# The replicated job of the torch-distributed runtime that runs the trainer container.
TRAINER_REPLICATED_JOB = "node"
TRAINER_CONTAINER = "node"  # the torch-distributed runtime's trainer container
PATCH_MANAGER = "doc2slm.io/pipeline"


@dataclass
class TrainJobSpec:
    """Everything the job needs; the first six fields are the fine-tune step's own inputs."""

    train_uri: str
    output_uri: str
    base_model: str
    config_json: str
    eval_uri: str = ""
    chunks_uri: str = ""
    nodes: int = 1
    gpus_per_node: int = 1
    image: str = ""
    namespace: str = "kubeflow"
    runtime: str = "torch-distributed"
    kind: str = "auto"  # auto | TrainJob | PyTorchJob
    gpu_resource: str = "nvidia.com/gpu"
    node_selector: dict[str, str] = field(default_factory=dict)
    tolerations: list[dict[str, Any]] = field(default_factory=list)
    # Environment for the job's pods (by default the object store's address from the chart's ConfigMap);
    # the storage keys come from the Secret env_from_secret names, key by key, never as values.
    env: dict[str, str] = field(default_factory=policy.training_storage_env)
    env_from_secret: str = field(default_factory=policy.training_storage_secret)
    timeout_s: int = 24 * 3600
    # From the chart's ConfigMap in the step's environment (cluster_policy.py), not from pipeline parameters.
    allowed_image_prefixes: list[str] = field(default_factory=policy.allowed_image_prefixes)
    pod_labels: dict[str, str] = field(default_factory=lambda: policy.release_pod_labels("training"))
    service_account: str = field(default_factory=policy.training_service_account)

    def validate(self) -> TrainJobSpec:
        if self.nodes < 1 or self.gpus_per_node < 1:
            raise InvalidInput(f"a training job needs nodes >= 1 and gpus_per_node >= 1, got "
                               f"{self.nodes} x {self.gpus_per_node}")
        if not self.image:
            raise InvalidInput("the training job needs a container image (trainer_image)")
        policy.check_image(self.image, self.allowed_image_prefixes)
        if self.kind not in ("auto", "TrainJob", "PyTorchJob"):
            raise InvalidInput(f"job kind {self.kind!r} is not one of auto, TrainJob, PyTorchJob")
        if not self.output_uri.startswith("s3://"):
            raise InvalidInput(f"a multi-node job writes to object storage; output {self.output_uri} is not s3://")
        return self

    @property
    def name(self) -> str:
        """Stable per input: re-submitting the same step finds (and waits for) the same job."""
        key = json.dumps([self.train_uri, self.output_uri, self.base_model, self.config_json], sort_keys=True)
        return f"doc2slm-finetune-{hashlib.sha256(key.encode()).hexdigest()[:10]}"


def finetune_arguments(spec: TrainJobSpec) -> list[str]:
    """Flags of `python -m doc2slm_pipelines.finetune` for this job (config fields become flags)."""
    args = ["--train", spec.train_uri, "--out", spec.output_uri]
    for flag, value in (("--eval", spec.eval_uri), ("--chunks", spec.chunks_uri), ("--base-model", spec.base_model)):
        if value:
            args += [flag, value]
    optional_bools = {f.name for f in dataclasses.fields(FinetuneConfig) if str(f.type) == "bool | None"}
    for name, value in sorted(json.loads(spec.config_json or "{}").items()):
        flag = "--" + name.replace("_", "-")
        if name in optional_bools:
            args += [flag, "auto" if value is None else ("on" if value else "off")]
        elif isinstance(value, bool):
            args.append(flag if value else "--no-" + name.replace("_", "-"))
        elif value is not None:
            args += [flag, str(value)]
    return args


def launch_command(spec: TrainJobSpec) -> list[str]:
    """torchrun over the rendezvous the operator publishes as PET_* variables; the fine-tune entry point
    runs one rank per GPU with DistributedDataParallel over the LoRA weights (finetune/distributed.py)."""
    torchrun = (
        'torchrun --nnodes "$PET_NNODES" --nproc_per_node "$PET_NPROC_PER_NODE"'
        ' --node_rank "$PET_NODE_RANK" --master_addr "$PET_MASTER_ADDR" --master_port "$PET_MASTER_PORT"'
        " -m doc2slm_pipelines.finetune " + shlex.join(finetune_arguments(spec))
    )
    return ["/bin/sh", "-c", torchrun]


def _env(spec: TrainJobSpec) -> list[dict[str, Any]]:
    env = [{"name": key, "value": value} for key, value in sorted(spec.env.items())]
    env += [{"name": "HF_HUB_OFFLINE", "value": "1"}, {"name": "TRANSFORMERS_OFFLINE", "value": "1"}]
    if spec.env_from_secret:
        env += policy.secret_env(spec.env_from_secret)
    return env + policy.scratch_env()


def _resources(spec: TrainJobSpec) -> dict[str, Any]:
    gpus = str(spec.gpus_per_node)
    return {"limits": {spec.gpu_resource: gpus}, "requests": {spec.gpu_resource: gpus}}


def render_trainjob(spec: TrainJobSpec) -> dict[str, Any]:
    """A Trainer v2 TrainJob on the torch-distributed ClusterTrainingRuntime."""
    spec.validate()
    trainer: dict[str, Any] = {"image": spec.image, "command": launch_command(spec), "env": _env(spec),
                               "numNodes": spec.nodes, "numProcPerNode": spec.gpus_per_node,
                               "resourcesPerNode": _resources(spec)}
    job_spec: dict[str, Any] = {"runtimeRef": {"name": spec.runtime, "apiGroup": TRAINJOB_GROUP,
                                               "kind": "ClusterTrainingRuntime"},
                                "trainer": trainer, "activeDeadlineSeconds": spec.timeout_s}
    # The runtime owns the pod template; a patch adds what the job's pods must have on top of it.
    pod_patch: dict[str, Any] = {
        "serviceAccountName": spec.service_account, "securityContext": policy.pod_security_context(),
        "volumes": policy.scratch_volumes(),
        "containers": [{"name": TRAINER_CONTAINER, "securityContext": policy.container_security_context(),
                        "volumeMounts": policy.scratch_mounts()}]}
    if spec.node_selector:
        pod_patch["nodeSelector"] = dict(spec.node_selector)
    if spec.tolerations:
        pod_patch["tolerations"] = list(spec.tolerations)
    pod = {"metadata": {"labels": dict(spec.pod_labels)}, "spec": pod_patch}
    replicated = {"name": TRAINER_REPLICATED_JOB, "template": {"spec": {"template": pod}}}
    job_spec["runtimePatches"] = [{"manager": PATCH_MANAGER, "trainingRuntimeSpec": {
        "template": {"spec": {"replicatedJobs": [replicated]}}}}]
    return {"apiVersion": f"{TRAINJOB_GROUP}/{TRAINJOB_VERSION}", "kind": "TrainJob",
            "metadata": {"name": spec.name, "namespace": spec.namespace, "labels": dict(spec.pod_labels)},
            "spec": job_spec}


def pod_template(spec: TrainJobSpec) -> dict[str, Any]:
    """The PyTorchJob replicas' pod template (the container must be named `pytorch`)."""
    container: dict[str, Any] = {"name": "pytorch", "image": spec.image, "command": launch_command(spec),
                                 "env": _env(spec), "resources": _resources(spec),
                                 "securityContext": policy.container_security_context(),
                                 "volumeMounts": policy.scratch_mounts()}
    pod: dict[str, Any] = {"containers": [container], "restartPolicy": "OnFailure",
                           "serviceAccountName": spec.service_account, "automountServiceAccountToken": False,
                           "securityContext": policy.pod_security_context(), "volumes": policy.scratch_volumes()}
    if spec.node_selector:
        pod["nodeSelector"] = dict(spec.node_selector)
    if spec.tolerations:
        pod["tolerations"] = list(spec.tolerations)
    return {"metadata": {"labels": dict(spec.pod_labels)}, "spec": pod}


def render_pytorchjob(spec: TrainJobSpec) -> dict[str, Any]:
    """The Training Operator's PyTorchJob: one Master and nodes - 1 Workers, nprocPerNode GPUs each."""
    spec.validate()
    replicas: dict[str, Any] = {"Master": {"replicas": 1, "restartPolicy": "OnFailure",
                                           "template": pod_template(spec)}}
    if spec.nodes > 1:
        replicas["Worker"] = {"replicas": spec.nodes - 1, "restartPolicy": "OnFailure",
                              "template": pod_template(spec)}
    return {"apiVersion": f"{PYTORCHJOB_GROUP}/{PYTORCHJOB_VERSION}", "kind": "PyTorchJob",
            "metadata": {"name": spec.name, "namespace": spec.namespace, "labels": dict(spec.pod_labels)},
            "spec": {"nprocPerNode": str(spec.gpus_per_node),
                     "runPolicy": {"activeDeadlineSeconds": spec.timeout_s, "cleanPodPolicy": "None"},
                     "pytorchReplicaSpecs": replicas}}


def render(spec: TrainJobSpec, kind: str) -> dict[str, Any]:
    if kind == "TrainJob":
        return render_trainjob(spec)
    if kind == "PyTorchJob":
        return render_pytorchjob(spec)
    raise InvalidInput(f"cannot render a {kind!r}")
