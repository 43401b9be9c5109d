"""Facts or register: the gain on held-out questions against the gain on a document never trained on."""

from __future__ import annotations

import numpy as np
import pytest
from doc2slm_common.errors import InvalidInput
from doc2slm_scoring.report.facts_or_register import (
    BELOW_REGISTER,
    FACTS,
    REGISTER_ONLY,
    TOO_FEW,
    compare_gains,
    gain_verdict,
)
from doc2slm_scoring.report.summary import facts_paragraph
from scipy import stats

RNG = np.random.default_rng(17)
REGISTER = RNG.normal(0.04, 0.1, 150)  # an untrained document: the register's gain alone


def test_the_difference_and_its_interval_agree_with_scipys_two_sample_bootstrap() -> None:
    facts = RNG.normal(0.07, 0.12, 90)
    result = compare_gains(facts, REGISTER, samples=4000, seed=2)
    assert result.heldout_questions_n == 90 and result.heldout_docs_n == 150
    assert result.heldout_questions_gain == pytest.approx(facts.mean())
    assert result.difference == pytest.approx(facts.mean() - REGISTER.mean())
    reference = stats.bootstrap((facts, REGISTER), lambda a, b, axis: a.mean(axis=axis) - b.mean(axis=axis),
                                n_resamples=4000, paired=False, method="percentile", vectorized=True,
                                random_state=np.random.default_rng(2))
    # Different resamples, same method: the ends agree to Monte Carlo error.
    assert result.difference_ci95[0] == pytest.approx(reference.confidence_interval.low, abs=0.006)
    assert result.difference_ci95[1] == pytest.approx(reference.confidence_interval.high, abs=0.006)
    assert result == compare_gains(facts, REGISTER, samples=4000, seed=2)


@pytest.mark.parametrize(("shift", "verdict"), [(0.08, FACTS), (0.0, REGISTER_ONLY), (-0.08, BELOW_REGISTER)])
def test_the_verdict_follows_the_interval(shift: float, verdict: str) -> None:
    facts = REGISTER[:100] + shift + RNG.normal(0, 0.02, 100)
    result = compare_gains(facts, REGISTER, samples=2000, seed=0)
    assert result.verdict == verdict
    assert result.as_dict()["verdict"] == verdict
    assert result.difference_ci95[0] <= result.difference <= result.difference_ci95[1]


def test_a_set_under_the_verdict_minimum_calls_nothing() -> None:
    assert compare_gains([0.5] * 9, [0.0] * 40, samples=100, seed=0).verdict == TOO_FEW
    assert gain_verdict(40, 9, (0.1, 0.2)) == TOO_FEW
    assert gain_verdict(10, 10, (0.1, 0.2)) == FACTS


def test_bad_gains_are_refused_by_name() -> None:
    with pytest.raises(InvalidInput, match="held-out document gains: no scores"):
        compare_gains([0.1], [], samples=10, seed=0)
    with pytest.raises(InvalidInput, match="held-out question gains: score 1 is NaN"):
        compare_gains([0.1, float("nan")], [0.1], samples=10, seed=0)
    with pytest.raises(InvalidInput, match="bootstrap samples"):
        compare_gains([0.1], [0.1], samples=0, seed=0)


def test_a_difference_made_by_harm_to_the_untrained_document_is_not_called_knowledge_alone() -> None:
    # An 8-epoch run picked by loss on real manuals (2026-12-07): it memorised, and forgot everything else.
    harmed = compare_gains(RNG.normal(0.015, 0.2, 21), RNG.normal(-0.217, 0.2, 81), samples=1000, seed=0)
    paragraph = facts_paragraph({"facts_beyond_register": harmed.as_dict()})
    assert paragraph is not None and harmed.verdict == FACTS
    assert "part of the difference is harm to everything else" in paragraph
    healthy = compare_gains(REGISTER + 0.05, REGISTER, samples=1000, seed=0)
    assert "harm" not in (facts_paragraph({"facts_beyond_register": healthy.as_dict()}) or "harm")
    assert facts_paragraph({"facts_beyond_register": None}) is None
