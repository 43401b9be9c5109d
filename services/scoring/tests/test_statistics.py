"""Set statistics and the paired comparison against numpy and scipy on fixed data."""

from __future__ import annotations

import numpy as np
import pytest
from doc2slm_common.errors import InvalidInput
from doc2slm_scoring.similarity import Thresholds
from doc2slm_scoring.statistics import (
    bootstrap_mean_interval,
    compare_paired,
    describe_scores,
    mean_and_interval,
)
from scipy import stats

FIXED = np.array([0.12, 0.35, 0.41, 0.44, 0.47, 0.5, 0.52, 0.55, 0.58, 0.61, 0.63, 0.66, 0.7, 0.74, 0.81,
                  0.38, 0.49, 0.57, 0.9, 0.28])


def test_describe_scores_matches_numpy() -> None:
    result = describe_scores(FIXED, Thresholds(), bootstrap_samples=2000, seed=3)
    assert result.n == FIXED.size
    assert result.mean == pytest.approx(np.mean(FIXED))
    assert result.median == pytest.approx(np.median(FIXED))
    assert result.p10 == pytest.approx(np.percentile(FIXED, 10))
    assert result.p90 == pytest.approx(np.percentile(FIXED, 90))
    assert result.share_acceptable == pytest.approx(np.mean(FIXED >= 0.5))
    assert result.share_borderline == pytest.approx(np.mean((FIXED >= 0.4) & (FIXED < 0.5)))
    assert result.share_unacceptable == pytest.approx(np.mean(FIXED < 0.4))
    assert sum(result.bucket_counts.values()) == FIXED.size


def test_bootstrap_interval_covers_the_mean_and_agrees_with_scipy() -> None:
    low, high = bootstrap_mean_interval(FIXED, samples=5000, seed=11)
    assert low < FIXED.mean() < high
    reference = stats.bootstrap((FIXED,), np.mean, n_resamples=5000, method="percentile",
                                confidence_level=0.95, random_state=np.random.default_rng(11))
    # Different resamples, same method: the ends agree to Monte Carlo error.
    assert low == pytest.approx(reference.confidence_interval.low, abs=0.01)
    assert high == pytest.approx(reference.confidence_interval.high, abs=0.01)


def test_bootstrap_interval_covers_the_true_mean_about_95_percent_of_the_time() -> None:
    rng = np.random.default_rng(5)
    covered = 0
    for trial in range(200):
        sample = rng.beta(5, 3, size=60)  # true mean 5/8
        low, high = bootstrap_mean_interval(sample, samples=400, seed=trial)
        covered += low <= 0.625 <= high
    assert 0.88 <= covered / 200 <= 0.99


def test_bootstrap_is_deterministic_per_seed_and_works_in_blocks() -> None:
    large = np.random.default_rng(1).random(50_000)
    first = bootstrap_mean_interval(large, samples=100, seed=4)  # 5M cells: several blocks
    assert first == bootstrap_mean_interval(large, samples=100, seed=4)
    assert first[0] < large.mean() < first[1]
    assert bootstrap_mean_interval([0.7], samples=50, seed=0) == (0.7, 0.7)


def test_paired_comparison_counts_wins_ties_losses_and_matches_scipy_wilcoxon() -> None:
    base = FIXED
    tuned = FIXED + np.where(np.arange(FIXED.size) % 4 == 0, 0.0, np.linspace(-0.05, 0.2, FIXED.size))
    result = compare_paired(base, tuned, bootstrap_samples=2000, seed=2)
    differences = tuned - base
    assert result.n == FIXED.size
    assert result.mean_difference == pytest.approx(differences.mean())
    assert result.tie_rate == pytest.approx(np.mean(differences == 0))
    assert result.win_rate == pytest.approx(np.mean(differences > 0))
    assert result.loss_rate == pytest.approx(np.mean(differences < 0))
    assert result.win_rate + result.tie_rate + result.loss_rate == pytest.approx(1.0)
    assert result.difference_ci95[0] < result.mean_difference < result.difference_ci95[1]
    nonzero = differences[differences != 0]
    assert result.wilcoxon_p == pytest.approx(stats.wilcoxon(nonzero).pvalue)
    assert result.verdict == "better"


def test_verdicts() -> None:
    worse = compare_paired(FIXED, FIXED - 0.1, bootstrap_samples=500, seed=0)
    assert worse.verdict == "worse" and worse.loss_rate == 1.0
    same = compare_paired(FIXED, FIXED, bootstrap_samples=500, seed=0)
    assert same.verdict == "no clear difference" and same.tie_rate == 1.0 and same.wilcoxon_p == 1.0
    few = compare_paired(FIXED[:5], FIXED[:5] + 0.3, bootstrap_samples=500, seed=0)
    assert few.verdict == "too few questions"


@pytest.mark.parametrize(
    ("baseline", "candidate", "message"),
    [
        ([0.1, 0.2], [0.3], "not paired"),
        ([], [], "no scores"),
        ([0.1, float("nan")], [0.2, 0.3], "NaN"),
        ([[0.1]], [[0.2]], "flat list"),
    ],
)
def test_malformed_score_lists_are_invalid(baseline, candidate, message) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(InvalidInput, match=message):
        compare_paired(baseline, candidate, bootstrap_samples=10, seed=0)


def test_mean_and_interval_for_lexical_scores() -> None:
    summary = mean_and_interval(FIXED, bootstrap_samples=1000, seed=0)
    assert summary["mean"] == pytest.approx(FIXED.mean())
    assert summary["median"] == pytest.approx(np.median(FIXED))
    with pytest.raises(InvalidInput, match="at least 1"):
        bootstrap_mean_interval(FIXED, samples=0, seed=0)
