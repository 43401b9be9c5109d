"""The training loop: AdamW on the LoRA weights, warmup + cosine schedule, accumulation, checkpoints.

A plain loop rather than transformers' Trainer: resuming at the exact micro-batch, token-weighted loss over
accumulated micro-batches and a small per-step overhead (the benchmark holds it to >= 0.9x of a bare
PyTorch loop) are each a few lines here and a fight with callbacks there.
"""

from __future__ import annotations

import contextlib
import logging
import math
import resource
import time
from collections.abc import Callable
from dataclasses import dataclass

import torch

from .batching import BatchStream
from .checkpoint import TrainingProgress, apply_checkpoint, load_latest, save_checkpoint
from .config import FinetuneConfig
from .model import PreparedModel

log = logging.getLogger(__name__)
MAX_GRAD_NORM = 1.0
_FINAL_LR_SHARE = 0.1  # cosine decays to this share of the peak rate

# Called after each optimizer step with (step, total_steps, loss of that step).
StepCallback = Callable[[int, int, float], None]


@dataclass
class TrainResult:
    progress: TrainingProgress
    total_steps: int
    resumed_from_step: int
    tokens_per_s: float
    peak_memory_bytes: int
    eval_loss: float | None


def lr_schedule(total_steps: int, warmup_ratio: float) -> Callable[[int], float]:
    warmup = max(1, math.ceil(total_steps * warmup_ratio)) if warmup_ratio > 0 else 0

    def factor(step: int) -> float:
        if step < warmup:
            return (step + 1) / warmup
        span = max(1, total_steps - warmup)
        cosine = 0.5 * (1.0 + math.cos(math.pi * min(1.0, (step - warmup) / span)))
        return _FINAL_LR_SHARE + (1.0 - _FINAL_LR_SHARE) * cosine

    return factor


def make_optimizer(prepared: PreparedModel, config: FinetuneConfig, total_steps: int
                   ) -> tuple[torch.optim.Optimizer, torch.optim.lr_scheduler.LambdaLR]:
    params = [p for p in prepared.model.parameters() if p.requires_grad]
    optimizer = torch.optim.AdamW(params, lr=config.learning_rate, weight_decay=config.weight_decay,
                                  fused=prepared.device.type == "cuda")
    scheduler = torch.optim.lr_scheduler.LambdaLR(optimizer, lr_schedule(total_steps, config.warmup_ratio))
    return optimizer, scheduler


def _autocast(prepared: PreparedModel) -> contextlib.AbstractContextManager[object]:
    if prepared.autocast_dtype is None:
        return contextlib.nullcontext()
    return torch.autocast(prepared.device.type, dtype=prepared.autocast_dtype)


def train_step(prepared: PreparedModel, stream: BatchStream, step: int, grad_accumulation: int
               ) -> tuple[torch.Tensor, int, int]:
    """Forward and backward over one step's micro-batches; returns (loss, real tokens, label tokens).

    The loss is the mean over every label token of the step (not a mean of micro-batch means), so a
    micro-batch with few answer tokens does not weigh as much as a full one.
    """
    batches = [stream.micro_batch(step * grad_accumulation + i) for i in range(grad_accumulation)]
    label_tokens = sum(b.label_tokens for b in batches)
    total = torch.zeros((), device=prepared.device)
    for batch in batches:
        inputs = {k: v.to(prepared.device, non_blocking=True) for k, v in batch.tensors.items()}
        with _autocast(prepared):
            # use_cache=False also matters for packing: transformers derives the block-diagonal mask
            # from position_ids only when no cache is in play.
            loss = prepared.model(**inputs, num_items_in_batch=max(1, label_tokens), use_cache=False).loss
        loss.backward()
        total += loss.detach().float()
    return total, sum(b.real_tokens for b in batches), label_tokens


def peak_memory_bytes(device: torch.device) -> int:
    if device.type == "cuda":
        return int(torch.cuda.max_memory_allocated(device))
    return int(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss) * 1024  # Linux reports KiB


def train(prepared: PreparedModel, stream: BatchStream, config: FinetuneConfig, total_steps: int, *,
          output_uri: str | None, fingerprint: str, on_step: StepCallback | None = None,
          eval_stream: BatchStream | None = None) -> TrainResult:
    """Run (or resume) the optimizer steps up to total_steps, checkpointing every checkpoint_every."""
    optimizer, scheduler = make_optimizer(prepared, config, total_steps)
    progress = TrainingProgress()
    blob = load_latest(output_uri, fingerprint) if output_uri else None
    if blob is not None:
        progress = apply_checkpoint(blob, prepared.model, optimizer, scheduler)
    resumed_from = progress.step
    if blob is None:
        # Dropout draws from this state; seeding it makes a fresh run repeatable, and a resumed run
        # continues from the state its checkpoint saved.
        torch.manual_seed(config.seed)
    trainable = [p for p in prepared.model.parameters() if p.requires_grad]
    prepared.model.train()
    if prepared.device.type == "cuda":
        torch.cuda.reset_peak_memory_stats(prepared.device)
    session_tokens, session_start = 0, time.perf_counter()
    for step in range(progress.step, total_steps):
        started = time.perf_counter()
        loss, real_tokens, label_tokens = train_step(prepared, stream, step, config.grad_accumulation)
        torch.nn.utils.clip_grad_norm_(trainable, MAX_GRAD_NORM)
        optimizer.step()
        scheduler.step()
        optimizer.zero_grad(set_to_none=True)
        loss_value = float(loss.item())
        if not math.isfinite(loss_value):
            raise FloatingPointError(f"training loss became {loss_value} at step {step + 1}; lower "
                                     "learning_rate or check the data")
        progress.step = step + 1
        progress.tokens_seen += real_tokens
        progress.label_tokens_seen += label_tokens
        progress.train_seconds += time.perf_counter() - started
        session_tokens += real_tokens
        progress.loss_curve.append([progress.step, round(loss_value, 5)])
        if progress.step % config.log_every == 0 or progress.step == total_steps:
            log.info("step %d/%d loss %.4f lr %.2e", progress.step, total_steps, loss_value,
                     scheduler.get_last_lr()[0])
        if on_step is not None:
            on_step(progress.step, total_steps, loss_value)
        if (output_uri and config.checkpoint_every and progress.step % config.checkpoint_every == 0
                and progress.step < total_steps):
            save_checkpoint(output_uri, prepared.model, optimizer, scheduler, progress, fingerprint)
    elapsed = time.perf_counter() - session_start
    eval_loss = evaluate_loss(prepared, eval_stream) if eval_stream is not None else None
    return TrainResult(progress, total_steps, resumed_from, session_tokens / elapsed if elapsed > 0 else 0.0,
                       peak_memory_bytes(prepared.device), eval_loss)


@torch.no_grad()
def evaluate_loss(prepared: PreparedModel, stream: BatchStream) -> float:
    """Token-weighted mean loss over one pass of the evaluation examples."""
    prepared.model.eval()
    total, count = 0.0, 0
    for index in range(stream.per_epoch):
        batch = stream.micro_batch(index)
        inputs = {k: v.to(prepared.device) for k, v in batch.tensors.items()}
        with _autocast(prepared):
            loss = prepared.model(**inputs, num_items_in_batch=max(1, batch.label_tokens), use_cache=False).loss
        total += float(loss) * batch.label_tokens
        count += batch.label_tokens
    prepared.model.train()
    return total / max(1, count)
