"""Choosing when to stop: the loss on held-out validation questions, the best weights, early stopping.

Training to convergence on facts a model did not know raises hallucination (Gekhman et al. 2024), and
the right number of epochs differs by corpus, so the loop measures the answer loss of the validation
slice (held-out wordings of trained facts, never the reported test set) at regular steps, keeps the
LoRA weights of the lowest loss, stops once `early_stopping_patience` evaluations in a row brought no
gain, and hands back the best weights rather than the last ones. LoRA weights are a few MB, so the best
copy lives in memory and rides along in checkpoints.
"""

from __future__ import annotations

import logging
import math

import torch

from .checkpoint import TrainingProgress, trainable_state
from .config import FinetuneConfig

log = logging.getLogger(__name__)


def evaluation_steps(config: FinetuneConfig, steps_per_epoch: int, total_steps: int) -> set[int]:
    """Optimizer steps after which the validation loss is measured (the last step always)."""
    every = config.eval_every or max(1, steps_per_epoch)
    return {step for step in range(every, total_steps + 1, every)} | {total_steps}


class BestWeights:
    """The validation curve, the best step and its weights; decides when training stops."""

    def __init__(self, config: FinetuneConfig, progress: TrainingProgress,
                 best_state: dict[str, torch.Tensor] | None = None) -> None:
        self.patience = config.early_stopping_patience
        self.min_gain = config.early_stopping_min_gain
        self.progress = progress
        self.state = best_state

    def record(self, step: int, loss: float, model: torch.nn.Module) -> bool:
        """Add one measurement; True when training should stop here."""
        progress = self.progress
        progress.validation_curve.append([step, round(loss, 5)])
        best = progress.best_validation_loss
        if best is None or loss < best - self.min_gain:
            progress.best_validation_loss, progress.best_step = loss, step
            progress.evaluations_without_gain = 0
            self.state = trainable_state(model)
        elif math.isfinite(loss):
            progress.evaluations_without_gain += 1
        log.info("validation loss %.4f at step %d (best %.4f at step %d)", loss, step,
                 progress.best_validation_loss, progress.best_step)
        stop = self.patience > 0 and progress.evaluations_without_gain >= self.patience
        if stop:
            progress.stopped_early = True
            log.info("stopping early: %d validations without a gain", progress.evaluations_without_gain)
        return stop

    def restore(self, model: torch.nn.Module) -> bool:
        """Put the best weights back into the model; False when there are none or they are the last."""
        if self.state is None or self.progress.best_step == self.progress.step:
            return False
        params = dict(model.named_parameters())
        with torch.no_grad():
            for name, tensor in self.state.items():
                params[name].copy_(tensor.to(params[name].device))
        log.info("restored the weights of step %d (validation loss %.4f)", self.progress.best_step,
                 self.progress.best_validation_loss)
        return True
