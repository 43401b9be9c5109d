"""The training loop: AdamW on the LoRA weights, warmup + cosine schedule, accumulation, checkpoints.

A plain loop rather than transformers' Trainer: resuming at the exact micro-batch, token-weighted loss over
accumulated micro-batches and a small per-step overhead (the benchmark holds it to >= 0.9x of a bare
PyTorch loop) are each a few lines here and a fight with callbacks there.
"""

from __future__ import annotations

import contextlib
import logging
import math
import time
from collections.abc import Callable
from dataclasses import dataclass

import torch
from doc2slm_common.process_memory import own_peak_rss_bytes

from .batching import BatchStream
from .checkpoint import TrainingProgress, apply_checkpoint, load_latest, rng_state, save_checkpoint
from .config import FinetuneConfig
from .contrast import SLOTS, contrast_losses, question_value
from .distributed import SINGLE_PROCESS, Ranks, from_main, gather_objects, sum_across, wrap_data_parallel
from .model import PreparedModel
from .noise import embedding_noise
from .validation import BestWeights, ValidationSlice, evaluation_steps, loss_at

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


@dataclass
class StepLosses:
    """One step on one rank: its part of the answer loss and of the contrast term, and the step's tokens."""

    answer: torch.Tensor
    contrast: torch.Tensor
    real_tokens: int
    label_tokens: int


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


def train_step(prepared: PreparedModel, stream: BatchStream, step: int, grad_accumulation: int, *,
               ranks: Ranks = SINGLE_PROCESS, module: torch.nn.Module | None = None,
               contrast: tuple[float, float] = (0.0, 1.0)) -> StepLosses:
    """Forward and backward over this rank's share of one step.

    The loss is the mean over every label token of the step (not a mean of micro-batch means), so a
    micro-batch with few answer tokens does not weigh as much as a full one. With W ranks a step is
    grad_accumulation x W consecutive micro-batches and rank r takes every W-th from r: a pure function of
    (step, rank), so a resume lands on the same data, and the union over ranks is the very set of
    micro-batches one process with grad_accumulation x W would use. The returned loss is this rank's part
    of the step's mean (the parts sum to it over ranks); the token counts are the whole step's.
    contrast: (weight, margin) of the question-contrast term (contrast.py), averaged over the step's
    contrast examples and added to the answer loss.
    """
    world = ranks.world_size
    per_step = grad_accumulation * world
    # Every rank collates the whole step (cheap next to a forward pass) so that each knows the step's
    # label-token total without a round of communication.
    batches = [stream.micro_batch(step * per_step + i) for i in range(per_step)]
    label_tokens = sum(b.label_tokens for b in batches)
    contrast_pairs = sum(b.contrast_pairs for b in batches)
    mine = batches[ranks.rank::world]
    forward = prepared.model if module is None else module
    total = torch.zeros((), device=prepared.device)
    contrast_total = torch.zeros((), device=prepared.device)
    for index, batch in enumerate(mine):
        inputs = {k: v.to(prepared.device, non_blocking=True) for k, v in batch.tensors.items()}
        # DDP all-reduces gradients on every backward; the step's earlier micro-batches skip that.
        last = index == len(mine) - 1
        sync = contextlib.nullcontext() if last or world == 1 else forward.no_sync()  # type: ignore[operator]
        with sync:
            with _autocast(prepared):
                if SLOTS in inputs:
                    loss, penalty = contrast_losses(forward, inputs, batch.contrast_pairs, label_tokens,
                                                    contrast_pairs, *contrast)
                else:
                    # use_cache=False also matters for packing: transformers derives the block-diagonal
                    # mask from position_ids only when no cache is in play.
                    loss = forward(**inputs, num_items_in_batch=max(1, label_tokens), use_cache=False).loss
                    penalty = torch.zeros((), device=prepared.device)
            # DDP averages gradients over ranks; scaling by W turns that average into the sum over the step.
            objective = loss + penalty
            (objective * world if world > 1 else objective).backward()
        total += loss.detach().float()
        contrast_total += penalty.detach().float()
    return StepLosses(total, contrast_total, sum(b.real_tokens for b in batches), label_tokens)


def peak_memory_bytes(device: torch.device) -> int:
    if device.type == "cuda":
        return int(torch.cuda.max_memory_allocated(device))
    return own_peak_rss_bytes()


def train(prepared: PreparedModel, stream: BatchStream, config: FinetuneConfig, total_steps: int, *,
          output_uri: str | None, fingerprint: str, on_step: StepCallback | None = None,
          validation: ValidationSlice | None = None, ranks: Ranks = SINGLE_PROCESS) -> TrainResult:
    """Run (or resume) the optimizer steps up to total_steps, checkpointing every checkpoint_every.

    With a validation slice it is judged at regular steps (and once before the first, for the base
    model's value), training stops early when the judgement no longer improves, and the model ends with
    the weights of its best judgement.
    Under torchrun every rank calls this; rank 0 alone writes checkpoints, and every rank resumes from
    the same one: all ranks read it before the DDP wrap below, a collective that rank 0 must pass before
    it can write a newer one.
    """
    optimizer, scheduler = make_optimizer(prepared, config, total_steps)
    progress = TrainingProgress(validation_metric=validation.metric if validation else "loss")
    blob = load_latest(output_uri, fingerprint) if output_uri else None
    if blob is not None:
        progress = apply_checkpoint(blob, prepared.model, optimizer, scheduler, rank=ranks.rank)
    resumed_from = progress.step
    best = BestWeights(config, progress, blob.get("best_trainable") if blob is not None else None)
    checks = (evaluation_steps(config, math.ceil(stream.per_epoch / (config.grad_accumulation * ranks.world_size)),
                               total_steps) if validation is not None else set())
    if blob is None:
        # Dropout draws from this state; seeding it makes a fresh run repeatable, and a resumed run
        # continues from the state its checkpoint saved. Each rank draws its own dropout masks.
        torch.manual_seed(config.seed + ranks.rank)
    module = wrap_data_parallel(prepared.model, prepared.device, ranks)
    trainable = [p for p in prepared.model.parameters() if p.requires_grad]
    prepared.model.train()
    if prepared.device.type == "cuda":
        torch.cuda.reset_peak_memory_stats(prepared.device)
    if validation is not None and validation.by_answers and progress.step == 0:
        # Before any step the LoRA update is zero: this is the base model's answer score. Every rank takes
        # part in the broadcast, though only rank 0 has a judge.
        progress.base_validation_value = from_main(
            validation.judge.score(prepared.model) if validation.judge is not None else None, ranks)
    if validation is not None and validation.contrast_stream is not None and progress.step == 0:
        progress.base_question_value = from_main(
            _rounded(validation_question_value(prepared, validation.contrast_stream)) if ranks.is_main else None,
            ranks)
    session_tokens, session_start = 0, time.perf_counter()
    # The noise acts in training mode only (the validation judge inside the loop answers in eval mode), and
    # the hook is gone once the loop ends, so the answers after training see clean inputs.
    with embedding_noise(prepared.model, config.neftune_alpha):
        for step in range(progress.step, total_steps):
            started = time.perf_counter()
            losses = train_step(prepared, stream, step, config.grad_accumulation, ranks=ranks, module=module,
                                contrast=(config.contrast_weight, config.contrast_margin))
            # Gradients are already the same on every rank (DDP), so each clips and steps identically.
            torch.nn.utils.clip_grad_norm_(trainable, MAX_GRAD_NORM)
            optimizer.step()
            scheduler.step()
            optimizer.zero_grad(set_to_none=True)
            # One all-reduce for both figures.
            loss_value, contrast_value = sum_across(torch.stack([losses.answer, losses.contrast]), ranks).tolist()
            if not math.isfinite(loss_value + contrast_value):
                raise FloatingPointError(f"training loss became {loss_value} (contrast {contrast_value}) at "
                                         f"step {step + 1}; lower learning_rate or check the data")
            progress.step = step + 1
            progress.tokens_seen += losses.real_tokens
            progress.label_tokens_seen += losses.label_tokens
            progress.train_seconds += time.perf_counter() - started
            session_tokens += losses.real_tokens
            progress.loss_curve.append([progress.step, round(loss_value, 5)])
            if config.contrast_weight > 0:
                progress.contrast_curve.append([progress.step, round(contrast_value, 5)])
            if progress.step % config.log_every == 0 or progress.step == total_steps:
                log.info("step %d/%d loss %.4f lr %.2e", progress.step, total_steps, loss_value,
                         scheduler.get_last_lr()[0])
            if on_step is not None:
                on_step(progress.step, total_steps, loss_value)
            stop = False
            if validation is not None and progress.step in checks:
                # One rank judges (the weights are the same on all); the others take its figure.
                value, loss, asked = from_main(judge_validation(prepared, validation) if ranks.is_main else None,
                                               ranks)
                progress.validation_loss_curve.append([progress.step, round(loss, 5)])
                if asked is not None:
                    progress.question_value_curve.append([progress.step, asked])
                stop = best.record(progress.step, value, prepared.model)
            if stop:
                break
            if (output_uri and config.checkpoint_every and progress.step % config.checkpoint_every == 0
                    and progress.step < total_steps):
                # Each rank's RNG (its dropout stream) goes into the checkpoint, so a resume is exact per rank.
                states = gather_objects(rng_state(), ranks) if ranks.distributed else None
                if ranks.is_main:
                    save_checkpoint(output_uri, prepared.model, optimizer, scheduler, progress, fingerprint,
                                    rng_by_rank=states, best_trainable=best.state)
    elapsed = time.perf_counter() - session_start
    best.restore(prepared.model)
    eval_loss = loss_at(progress, progress.best_step)
    return TrainResult(progress, total_steps, resumed_from, session_tokens / elapsed if elapsed > 0 else 0.0,
                       peak_memory_bytes(prepared.device), eval_loss)


def judge_validation(prepared: PreparedModel, validation: ValidationSlice) -> tuple[float, float, float | None]:
    """(the slice's judgement: the loss or the answers' score, the validation loss, recorded either way, and
    the question's value where the slice has contrast examples)."""
    loss = evaluate_loss(prepared, validation.stream)
    asked = (None if validation.contrast_stream is None
             else _rounded(validation_question_value(prepared, validation.contrast_stream)))
    return (loss if validation.judge is None else validation.judge.score(prepared.model)), loss, asked


def _rounded(value: float) -> float | None:
    return round(value, 5) if math.isfinite(value) else None


@torch.no_grad()
def validation_question_value(prepared: PreparedModel, stream: BatchStream) -> float:
    """How much likelier the validation answers are after their own question than after another's (nats
    per token; contrast.py): the model's reliance on what was asked."""
    prepared.model.eval()
    batches = [stream.micro_batch(index) for index in range(stream.per_epoch)]
    with _autocast(prepared):
        value = question_value(prepared.model, [b.tensors for b in batches], [b.contrast_pairs for b in batches],
                               prepared.device)
    prepared.model.train()
    return value


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
