"""What every pod the pipeline creates on a cluster looks like: which images, which labels, how locked down.

The training job (trainjob.py) and the InferenceService the deploy step may create (steps/deploy_kserve.py)
run with object-store credentials (the chart's training and serving storage identities), so the image is the
one choice a pipeline parameter must not make freely: it has to come from the operator's registry
(`DOC2SLM_ALLOWED_IMAGE_PREFIXES`, in the chart's ConfigMap; default: the registry the pipeline is compiled
for). The pods meet the restricted Pod Security Standard with a read-only root (scratch and caches on
emptyDirs) and carry the release's pod labels, so the chart's default-deny NetworkPolicy selects them and
only its allows apply.

The chart's settings reach the step through its environment (the ConfigMap `<release>-config`); unset,
the chart's defaults apply. This is a check in the step: it stops a pipeline parameter from choosing the
image, not someone who writes their own step; the chart's optional ValidatingAdmissionPolicy
(admissionPolicy.enabled) applies the same rule on the API server (docs/security.md).
"""

from __future__ import annotations

import json
import os
import re
from typing import Any

from doc2slm_common.uri_access import AccessDenied

from doc2slm_pipelines.components.images import DEFAULT_REGISTRY

ENV_ALLOWED_IMAGES = "DOC2SLM_ALLOWED_IMAGE_PREFIXES"
ENV_POD_LABELS = "DOC2SLM_RELEASE_POD_LABELS"
ENV_TRAINING_ACCOUNT = "DOC2SLM_TRAINING_SERVICE_ACCOUNT"
ENV_TRAINING_STORAGE_SECRET = "DOC2SLM_TRAINING_STORE_KEYS_FROM"
ENV_STORAGE_SECRET_KEYS = "DOC2SLM_STORE_KEY_NAMES"
# The object store's address, from the same ConfigMap: the training pods need it as much as the step does.
STORAGE_ADDRESS_KEYS = ("MINIO_ENDPOINT", "MINIO_SECURE")
STORAGE_CREDENTIAL_ENV = ("MINIO_ACCESS_KEY", "MINIO_SECRET_KEY")
# The chart's defaults (release "doc2slm"): doc2slm.releasePodLabels and pipeline.trainingServiceAccount.
DEFAULT_POD_LABELS = {"app.kubernetes.io/name": "doc2slm", "app.kubernetes.io/instance": "doc2slm"}
DEFAULT_TRAINING_ACCOUNT = "doc2slm-training"
RUN_AS = 10001  # the images' user (USER 10001:10001 in every Dockerfile), as the chart's podSecurity
# A Docker reference: host[:port]/path[:tag][@sha256:digest]; no "..", no spaces, no scheme.
_COMPONENT = r"[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*"
IMAGE_PATTERN = re.compile(
    rf"^[a-zA-Z0-9.-]+(?::[0-9]+)?(?:/{_COMPONENT})+(?::[A-Za-z0-9_][A-Za-z0-9_.-]{{0,127}})?(?:@sha256:[0-9a-f]{{64}})?$")
# The read-only root needs somewhere to write: scratch, the caches of HF, torch and triton, NCCL's /dev/shm.
SCRATCH_ENV = {"HOME": "/cache/home", "XDG_CACHE_HOME": "/cache", "HF_HOME": "/cache/huggingface",
               "DOC2SLM_CACHE_DIR": "/cache/doc2slm", "TRITON_CACHE_DIR": "/cache/triton",
               "TORCHINDUCTOR_CACHE_DIR": "/cache/inductor", "MPLCONFIGDIR": "/tmp/matplotlib"}


class ImageNotAllowed(AccessDenied):
    """An image outside the allowed registry prefixes (PERMISSION_DENIED)."""


def allowed_image_prefixes(value: str | None = None) -> list[str]:
    """The prefixes from `value`, else the environment, else the default registry; each ends with '/'."""
    raw = value if value is not None else os.environ.get(ENV_ALLOWED_IMAGES, "")
    prefixes = [p.strip() for p in raw.split(",") if p.strip()] or [DEFAULT_REGISTRY]
    # "registry/team" must not admit "registry/team-evil/x": a prefix is a whole path segment.
    return [p if p.endswith("/") else p + "/" for p in prefixes]


def check_image(image: str, prefixes: list[str]) -> str:
    """`image` when it is a plain reference under one of `prefixes`; ImageNotAllowed otherwise."""
    if not IMAGE_PATTERN.match(image):
        raise ImageNotAllowed(f"image {image!r} is not a plain registry/path[:tag][@digest] reference")
    if not any(image.startswith(prefix) for prefix in prefixes):
        raise ImageNotAllowed(f"image {image!r} is not under the allowed registries {', '.join(prefixes)} "
                              f"({ENV_ALLOWED_IMAGES}, chart value pipeline.allowedImagePrefixes)")
    return image


def release_pod_labels(component: str) -> dict[str, str]:
    """The chart's release pod labels (from the ConfigMap as JSON, else its defaults) plus the component."""
    raw = os.environ.get(ENV_POD_LABELS, "")
    labels = json.loads(raw) if raw else dict(DEFAULT_POD_LABELS)
    if not isinstance(labels, dict) or not all(isinstance(v, str) for v in labels.values()):
        raise ValueError(f"{ENV_POD_LABELS} must be a JSON object of strings, got {raw!r}")
    return {**labels, "app.kubernetes.io/component": component, "app.kubernetes.io/part-of": "doc2slm"}


def training_service_account() -> str:
    return os.environ.get(ENV_TRAINING_ACCOUNT, "") or DEFAULT_TRAINING_ACCOUNT


def training_storage_env() -> dict[str, str]:
    """The object store's address for the training pods, as the step itself has it."""
    return {key: os.environ[key] for key in STORAGE_ADDRESS_KEYS if os.environ.get(key)}


def training_storage_secret() -> str:
    """The Secret whose keys the training pods get as MINIO_ACCESS_KEY / MINIO_SECRET_KEY (the chart's
    training storage identity, objectStore.identities.training.secret); empty: none is mounted."""
    return os.environ.get(ENV_TRAINING_STORAGE_SECRET, "")


def storage_secret_keys() -> dict[str, str]:
    """Env name -> key in that Secret (the chart's objectStore.accessKeyKey / secretKeyKey)."""
    raw = os.environ.get(ENV_STORAGE_SECRET_KEYS, "")
    keys = [key.strip() for key in raw.split(",") if key.strip()] if raw else list(STORAGE_CREDENTIAL_ENV)
    if len(keys) != len(STORAGE_CREDENTIAL_ENV):
        raise ValueError(f"{ENV_STORAGE_SECRET_KEYS} must name the access key and the secret key, got {raw!r}")
    return dict(zip(STORAGE_CREDENTIAL_ENV, keys, strict=True))


def secret_env(secret: str) -> list[dict[str, Any]]:
    """The storage credentials as env entries that reference `secret` key by key (never their values)."""
    return [{"name": name, "valueFrom": {"secretKeyRef": {"name": secret, "key": key}}}
            for name, key in storage_secret_keys().items()]


def pod_security_context() -> dict[str, Any]:
    return {"runAsNonRoot": True, "runAsUser": RUN_AS, "runAsGroup": RUN_AS, "fsGroup": RUN_AS,
            "seccompProfile": {"type": "RuntimeDefault"}}


def container_security_context() -> dict[str, Any]:
    return {"allowPrivilegeEscalation": False, "readOnlyRootFilesystem": True, "runAsNonRoot": True,
            "capabilities": {"drop": ["ALL"]}, "seccompProfile": {"type": "RuntimeDefault"}}


def scratch_volumes() -> list[dict[str, Any]]:
    # No size on the cache: a 13B base model is tens of GB, the node's ephemeral storage bounds it.
    return [{"name": "tmp", "emptyDir": {"sizeLimit": "8Gi"}}, {"name": "cache", "emptyDir": {}},
            {"name": "dshm", "emptyDir": {"medium": "Memory"}}]


def scratch_mounts() -> list[dict[str, Any]]:
    return [{"name": "tmp", "mountPath": "/tmp"}, {"name": "cache", "mountPath": "/cache"},
            {"name": "dshm", "mountPath": "/dev/shm"}]


def scratch_env() -> list[dict[str, str]]:
    return [{"name": key, "value": value} for key, value in sorted(SCRATCH_ENV.items())]
