"""Facts or register: how much of the gain on trained documents shows on a document never trained on.

A tuned model can gain on held-out questions for two reasons. It learnt the documents' facts, or it learnt
their register: how they word an answer (length, terms, tone), which helps on any question about such
documents. The held-out document was never trained on, so its gain is the register alone. The held-out
questions (new wordings of trained facts) get both. Their difference is what training on the facts added.

Why the report shows it: on real manuals with the local default, the two gains were equal within their
intervals on every bench (docs/knowledge.md). A report that shows only the held-out-question gain invites
reading it as knowledge when it is the register.

The two sets hold different questions, so the interval resamples each set on its own (unpaired). The
comparison is only as fair as the held-out document is like the trained ones: one document is a rough
control, and the report says so.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from doc2slm_scoring.report.records import HELDOUT_DOCS, HELDOUT_QUESTIONS
from doc2slm_scoring.report.scored import ScoredRecord
from doc2slm_scoring.statistics import (
    MIN_QUESTIONS_FOR_VERDICT,
    as_scores,
    bootstrap_means,
    check_resampling,
    percentile_interval,
)

FACTS = "facts beyond register"
REGISTER_ONLY = "no gain beyond register"
BELOW_REGISTER = "less than register"
TOO_FEW = "too few questions"


def gain_verdict(facts_n: int, register_n: int, interval: tuple[float, float] | list[float]) -> str:
    """FACTS when the whole interval of (held-out question gain - held-out document gain) is above 0."""
    if min(facts_n, register_n) < MIN_QUESTIONS_FOR_VERDICT:
        return TOO_FEW
    low, high = interval
    if low > 0:
        return FACTS
    if high < 0:
        return BELOW_REGISTER
    return REGISTER_ONLY


@dataclass(frozen=True)
class GainComparison:
    """Tuned-minus-base gain on new wordings of trained facts against the gain on an untrained document."""

    heldout_questions_n: int
    heldout_questions_gain: float
    heldout_docs_n: int
    heldout_docs_gain: float
    difference: float
    difference_ci95: tuple[float, float]

    @property
    def verdict(self) -> str:
        return gain_verdict(self.heldout_questions_n, self.heldout_docs_n, self.difference_ci95)

    def as_dict(self) -> dict[str, Any]:
        return {"heldout_questions_n": self.heldout_questions_n,
                "heldout_questions_gain": self.heldout_questions_gain,
                "heldout_docs_n": self.heldout_docs_n, "heldout_docs_gain": self.heldout_docs_gain,
                "difference": self.difference, "difference_ci95": list(self.difference_ci95),
                "verdict": self.verdict}


def compare_gains(facts_gains: Sequence[float] | np.ndarray, register_gains: Sequence[float] | np.ndarray,
                  samples: int, seed: int, confidence: float = 0.95) -> GainComparison:
    """Per-question gains (tuned - base) of the held-out questions and of the held-out document's questions;
    the interval of the difference of their means resamples each set independently."""
    facts = as_scores(facts_gains, "held-out question gains")
    register = as_scores(register_gains, "held-out document gains")
    check_resampling(samples, confidence)
    rng = np.random.default_rng(seed)
    resampled = bootstrap_means(facts, samples, rng) - bootstrap_means(register, samples, rng)
    return GainComparison(heldout_questions_n=int(facts.size), heldout_questions_gain=float(facts.mean()),
                          heldout_docs_n=int(register.size), heldout_docs_gain=float(register.mean()),
                          difference=float(facts.mean() - register.mean()),
                          difference_ci95=percentile_interval(resampled, confidence))


def _cosine_gains(scored: Sequence[ScoredRecord]) -> list[float]:
    return [item.scores["tuned"].cosine - item.scores["base"].cosine for item in scored]


def facts_beyond_register(scored_by_set: Mapping[str, Sequence[ScoredRecord]], samples: int,
                          seed: int) -> dict[str, Any] | None:
    """The comparison as metrics.json holds it; None unless both held-out sets were evaluated."""
    facts, register = scored_by_set.get(HELDOUT_QUESTIONS), scored_by_set.get(HELDOUT_DOCS)
    if not facts or not register:
        return None
    return compare_gains(_cosine_gains(facts), _cosine_gains(register), samples, seed).as_dict()
