"""training_card.json: what was trained, on what, how, and what it cost, beside the adapter files.

The card is the adapter's provenance: the evaluation report and the serving step read the base model
from it, and a person reading it can tell whether two adapters are comparable.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import platform
from typing import Any

import torch

from .config import FinetuneConfig
from .data import DataCard
from .estimate import TrainingEstimate
from .model import PreparedModel
from .trainer import TrainResult
from .validation import value_at

CARD_NAME = "training_card.json"
CARD_VERSION = 1
# Settings that change what is trained; the others (logging, price) do not invalidate a checkpoint.
_NOT_TRAINING = {"log_every", "price_per_hour_usd", "memory_fraction", "checkpoint_every"}


def run_fingerprint(config: FinetuneConfig, base_model: str, train_bytes: bytes, extra: bytes = b"") -> str:
    """Identity of a run: same settings, base model and data give the same fingerprint."""
    settings = {k: v for k, v in config.to_dict().items() if k not in _NOT_TRAINING}
    digest = hashlib.sha256(json.dumps(settings, sort_keys=True).encode())
    digest.update(base_model.encode())
    digest.update(hashlib.sha256(train_bytes).digest())
    digest.update(hashlib.sha256(extra).digest())
    return digest.hexdigest()


def device_name(device: torch.device) -> str:
    if device.type == "cuda":
        return str(torch.cuda.get_device_name(device))
    return f"cpu ({platform.processor() or platform.machine()}, {torch.get_num_threads()} threads)"


def build_card(*, config: FinetuneConfig, base_model: str, base_model_dir: str, data: DataCard,
               estimate: TrainingEstimate, prepared: PreparedModel, result: TrainResult,
               wall_seconds: float, fingerprint: str, eval_examples: int) -> dict[str, Any]:
    progress = result.progress
    return {
        "card_version": CARD_VERSION,
        "base_model": base_model,
        "base_model_dir": base_model_dir,
        "fingerprint": fingerprint,
        "data": dataclasses.asdict(data) | {"eval_examples": eval_examples},
        "hyperparameters": config.to_dict(),
        "device": device_name(prepared.device),
        "precision": prepared.precision,
        "parameters": {"total": prepared.total_params, "trainable": prepared.trainable_params},
        "steps": progress.step,
        "resumed_from_step": result.resumed_from_step,
        "loss_curve": progress.loss_curve,
        "final_loss": progress.loss_curve[-1][1] if progress.loss_curve else None,
        "eval_loss": result.eval_loss,
        "validation": {"metric": progress.validation_metric, "curve": progress.validation_curve,
                       "base_value": progress.base_validation_value, "best_step": progress.best_step or None,
                       "best_value": progress.best_validation_value, "loss_curve": progress.validation_loss_curve,
                       "stopped_early": progress.stopped_early, "examples": eval_examples,
                       # nats/token by which the right question makes an answer likelier than another's
                       "question_value": {"base": progress.base_question_value,
                                          "curve": progress.question_value_curve,
                                          "at_best_step": value_at(progress.question_value_curve, progress.best_step)}},
        "contrast_curve": progress.contrast_curve,
        "tokens_seen": progress.tokens_seen,
        "label_tokens_seen": progress.label_tokens_seen,
        "tokens_per_s": round(result.tokens_per_s, 2),
        "train_seconds": round(progress.train_seconds, 2),
        "wall_seconds": round(wall_seconds, 2),
        "peak_memory_gib": round(result.peak_memory_bytes / 1024**3, 3),
        "estimate": estimate.to_dict(),
        "versions": {"torch": torch.__version__, **_library_versions()},
    }


def _library_versions() -> dict[str, str]:
    import peft
    import transformers

    return {"transformers": transformers.__version__, "peft": peft.__version__}
