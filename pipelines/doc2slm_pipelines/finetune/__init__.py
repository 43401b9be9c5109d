"""LoRA/QLoRA fine-tuning of the base model on QA pairs.

Nothing here imports grpc, kfp or kserve, so the GPU training image needs only torch, transformers,
peft, bitsandbytes and doc2slm_common. The package itself imports lazily: the CLI builds its flags from
`config` without paying for torch at every `doc2slm` start.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from .config import FinetuneConfig, field_help
    from .run import FinetuneInputs, finetune

__all__ = ["FinetuneConfig", "FinetuneInputs", "field_help", "finetune"]
_HOME = {"FinetuneConfig": "config", "field_help": "config", "FinetuneInputs": "run", "finetune": "run"}


def __getattr__(name: str) -> Any:
    if name in _HOME:
        import importlib

        return getattr(importlib.import_module(f"{__name__}.{_HOME[name]}"), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
