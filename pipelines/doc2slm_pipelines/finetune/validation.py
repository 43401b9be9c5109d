"""Choosing when to stop: a judgement of the validation slice at regular steps, the best weights, early
stopping.

Training to convergence on facts a model did not know raises hallucination (Gekhman et al. 2024), and
the right number of epochs differs by corpus, so the loop judges the validation slice (held-out wordings
of trained facts, never the reported test set) at regular steps, keeps the LoRA weights of the best
judgement, stops once `early_stopping_patience` judgements in a row brought no gain, and hands back the
best weights rather than the last ones. The judgement is the greedy answers' score by default
(answer_validation.py says why the loss is not enough); the loss remains a choice. LoRA weights are a few
MB, so the best copy lives in memory and rides along in checkpoints.
"""

from __future__ import annotations

import logging
import math
from dataclasses import dataclass

import torch

from .answer_validation import LOSS, AnswerJudge
from .batching import BatchStream
from .checkpoint import TrainingProgress, trainable_state
from .config import FinetuneConfig

log = logging.getLogger(__name__)


@dataclass
class ValidationSlice:
    """The validation examples (for the loss) and, unless the metric is the loss, their answer judge."""

    stream: BatchStream
    metric: str
    judge: AnswerJudge | None = None
    # The slice with each answer also after a wrong question, for the question's value (contrast.py).
    contrast_stream: BatchStream | None = None

    @property
    def examples(self) -> int:
        return len(self.stream.examples)

    @property
    def by_answers(self) -> bool:
        """Judged by answers (on rank 0, which alone holds the judge) rather than by the loss."""
        return self.metric != LOSS


def value_at(curve: list[list[float]], step: int) -> float | None:
    """A [step, value] curve's value at `step`, if it was measured there."""
    return next((value for at, value in curve if at == step), None)


def loss_at(progress: TrainingProgress, step: int) -> float | None:
    """The validation loss measured at `step`, if one was."""
    return value_at(progress.validation_loss_curve, step)


def evaluation_steps(config: FinetuneConfig, steps_per_epoch: int, total_steps: int) -> set[int]:
    """Optimizer steps after which the validation slice is judged (the last step always)."""
    every = config.eval_every or max(1, steps_per_epoch)
    return {step for step in range(every, total_steps + 1, every)} | {total_steps}


class BestWeights:
    """The validation curve, the best step and its weights; decides when training stops.

    A loss is better when lower, an answer score when higher; `progress.validation_metric` says which.
    """

    def __init__(self, config: FinetuneConfig, progress: TrainingProgress,
                 best_state: dict[str, torch.Tensor] | None = None) -> None:
        self.patience = config.early_stopping_patience
        self.min_gain = config.early_stopping_min_gain
        self.progress = progress
        self.state = best_state

    def _gain(self, value: float, best: float) -> float:
        return best - value if self.progress.validation_metric == LOSS else value - best

    def record(self, step: int, value: float, model: torch.nn.Module) -> bool:
        """Add one measurement; True when training should stop here."""
        progress = self.progress
        progress.validation_curve.append([step, round(value, 5)])
        best = progress.best_validation_value
        if best is None or (math.isfinite(value) and self._gain(value, best) > self.min_gain):
            progress.best_validation_value, progress.best_step = value, step
            progress.evaluations_without_gain = 0
            self.state = trainable_state(model)
        else:
            progress.evaluations_without_gain += 1
        log.info("validation %s %.4f at step %d (best %.4f at step %d)", progress.validation_metric, value,
                 step, progress.best_validation_value, progress.best_step)
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
        log.info("restored the weights of step %d (validation %s %.4f)", self.progress.best_step,
                 self.progress.validation_metric, self.progress.best_validation_value)
        return True
