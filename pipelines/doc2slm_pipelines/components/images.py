"""Container images the components run in (`install_kfp_package=False`: kfp is already inside).

The committed YAML names the default registry and tag; `doc2slm pipeline compile --registry R --tag T`
rewrites them in the compiled spec, so the component definitions stay constants.
"""

from __future__ import annotations

DEFAULT_REGISTRY = "ghcr.io/doc2slm"
DEFAULT_TAG = "0.1.0"


def image(name: str, registry: str = DEFAULT_REGISTRY, tag: str = DEFAULT_TAG) -> str:
    """`<registry>/doc2slm-<name>:<tag>`, the same scheme as the Helm chart's images."""
    return f"{registry.rstrip('/')}/doc2slm-{name}:{tag}"


# CPU image with kfp, doc2slm_common, doc2slm_pipelines, doc2slm_scoring and the kubernetes client:
# the gRPC client steps, the split and the deploy step.
PIPELINES_IMAGE = image("pipelines")
# CUDA image (torch with CUDA, bitsandbytes, peft): fine-tuning and the base/tuned answering.
PIPELINES_GPU_IMAGE = image("pipelines-gpu")

# Every image the compiled pipeline names (serving: the predictor of the deploy step).
ALL_IMAGE_NAMES = ("pipelines-gpu", "pipelines", "serving")
