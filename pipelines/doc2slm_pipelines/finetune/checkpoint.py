"""Resumable checkpoints in the output URI (local directory or s3://).

A checkpoint is one blob (trainable weights, optimizer, scheduler, RNG states, step and progress) written
atomically, then a small `latest.json` pointer written atomically after it. A run killed at any moment
leaves either the previous pointer or the new one, each naming a complete blob, so a resume never reads a
half-written checkpoint. The data position is the step itself: batches are a pure function of
(seed, epoch), so step k resumes at micro-batch k x grad_accumulation.
"""

from __future__ import annotations

import io
import json
import logging
import random
from dataclasses import dataclass, field
from typing import Any

import torch
from doc2slm_common import storage

log = logging.getLogger(__name__)
POINTER = "latest.json"
_KEEP_LOCAL = 2  # older local checkpoints are deleted; object stores keep theirs (lifecycle rules decide)


@dataclass
class TrainingProgress:
    """What a resumed run needs besides the tensors, and what the training card reports."""

    step: int = 0
    tokens_seen: int = 0
    label_tokens_seen: int = 0
    train_seconds: float = 0.0
    loss_curve: list[list[float]] = field(default_factory=list)  # [step, loss]
    validation_metric: str = "loss"
    validation_curve: list[list[float]] = field(default_factory=list)  # [step, validation value]
    validation_loss_curve: list[list[float]] = field(default_factory=list)  # [step, validation loss]
    base_validation_value: float | None = None  # the untrained model's value, for scale (answer metrics)
    contrast_curve: list[list[float]] = field(default_factory=list)  # [step, question-contrast term]
    question_value_curve: list[list[float]] = field(default_factory=list)  # [step, nats/token] (contrast.py)
    base_question_value: float | None = None
    best_step: int = 0
    best_validation_value: float | None = None
    evaluations_without_gain: int = 0
    stopped_early: bool = False


def rng_state() -> dict[str, Any]:
    state: dict[str, Any] = {"python": random.getstate(), "torch": torch.get_rng_state()}
    if torch.cuda.is_available():
        state["cuda"] = torch.cuda.get_rng_state_all()
    return state


def restore_rng(state: dict[str, Any]) -> None:
    random.setstate(state["python"])
    torch.set_rng_state(state["torch"])
    if "cuda" in state and torch.cuda.is_available():
        torch.cuda.set_rng_state_all(state["cuda"])


def trainable_state(model: torch.nn.Module) -> dict[str, torch.Tensor]:
    return {n: p.detach().cpu().clone() for n, p in model.named_parameters() if p.requires_grad}


def checkpoint_dir(output_uri: str) -> str:
    return storage.join(output_uri, "checkpoints")


def save_checkpoint(output_uri: str, model: torch.nn.Module, optimizer: torch.optim.Optimizer,
                    scheduler: Any, progress: TrainingProgress, fingerprint: str, *,
                    rng_by_rank: list[dict[str, Any]] | None = None,
                    best_trainable: dict[str, torch.Tensor] | None = None) -> str:
    """Write the blob, then the pointer. rng_by_rank: every rank's RNG state under data parallelism;
    best_trainable: the weights of the best validation value so far, so a resumed run can still return them."""
    blob: dict[str, Any] = {
        "trainable": trainable_state(model),
        "optimizer": optimizer.state_dict(),
        "scheduler": scheduler.state_dict(),
        "rng": rng_state(),
        "progress": json.dumps(progress.__dict__),
        "fingerprint": fingerprint,
    }
    if rng_by_rank is not None:
        blob["rng_by_rank"] = rng_by_rank
    if best_trainable is not None:
        blob["best_trainable"] = best_trainable
    buffer = io.BytesIO()
    torch.save(blob, buffer)
    uri = storage.join(checkpoint_dir(output_uri), f"step-{progress.step:08d}.pt")
    storage.write_bytes(uri, buffer.getvalue())
    pointer = {"step": progress.step, "uri": uri, "fingerprint": fingerprint}
    storage.write_text(storage.join(checkpoint_dir(output_uri), POINTER), json.dumps(pointer))
    _prune_local(output_uri, keep_uri=uri)
    log.info("checkpoint at step %d: %s", progress.step, uri)
    return uri


def _prune_local(output_uri: str, keep_uri: str) -> None:
    if storage.is_s3(storage.to_uri(output_uri)):
        return
    blobs = storage.list_uris(checkpoint_dir(output_uri), suffix=".pt")
    for old in blobs[:-_KEEP_LOCAL]:
        if old != keep_uri:
            storage.local_path(old).unlink(missing_ok=True)


def load_latest(output_uri: str, fingerprint: str) -> dict[str, Any] | None:
    """The newest complete checkpoint of this same run (same data and settings), or None."""
    pointer_uri = storage.join(checkpoint_dir(output_uri), POINTER)
    if not storage.exists(pointer_uri):
        return None
    pointer = json.loads(storage.read_text(pointer_uri))
    if pointer.get("fingerprint") != fingerprint:
        # A checkpoint of other data or settings would silently corrupt this run; start afresh instead.
        log.warning("ignoring checkpoint %s: it belongs to a run with other data or settings", pointer["uri"])
        return None
    blob: dict[str, Any] = torch.load(io.BytesIO(storage.read_bytes(pointer["uri"])), weights_only=True)
    return blob


def apply_checkpoint(blob: dict[str, Any], model: torch.nn.Module, optimizer: torch.optim.Optimizer,
                     scheduler: Any, *, rank: int = 0) -> TrainingProgress:
    params = dict(model.named_parameters())
    with torch.no_grad():
        for name, tensor in blob["trainable"].items():
            params[name].copy_(tensor.to(params[name].device))
    optimizer.load_state_dict(blob["optimizer"])
    scheduler.load_state_dict(blob["scheduler"])
    by_rank = blob.get("rng_by_rank")
    restore_rng(by_rank[rank] if by_rank is not None and rank < len(by_rank) else blob["rng"])
    progress = TrainingProgress(**json.loads(blob["progress"]))
    log.info("resumed from checkpoint at step %d", progress.step)
    return progress
