"""Statistics of one set of per-question scores, and the paired comparison of two systems.

Intervals are percentile bootstraps of the mean: they assume nothing about the score distribution
(cosines pile up near the top, lexical scores near zero) and read the same for every metric.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import asdict, dataclass

import numpy as np
from doc2slm_common.errors import InvalidInput
from scipy import stats as scipy_stats

from doc2slm_scoring.similarity import ACCEPTABLE, BORDERLINE, UNACCEPTABLE, Thresholds, bucket_counts

# Resampled index matrices are generated in blocks of at most this many cells, so a large set with
# many resamples never allocates more than ~16 MiB at once.
_BOOTSTRAP_BLOCK_CELLS = 2_000_000
# Two per-question scores closer than this are a tie (identical answers give bit-identical cosines;
# the tolerance only absorbs float noise).
TIE_TOLERANCE = 1e-9
# Below this many paired questions a bootstrap interval is too unstable to call a winner.
MIN_QUESTIONS_FOR_VERDICT = 10


def as_scores(values: Sequence[float] | np.ndarray, name: str) -> np.ndarray:
    """A 1-D float64 array of finite values with at least one entry, or InvalidInput naming `name`."""
    try:
        array = np.asarray(values, dtype=np.float64)
    except (TypeError, ValueError) as error:
        raise InvalidInput(f"{name}: not a list of numbers ({error})") from error
    if array.ndim != 1:
        raise InvalidInput(f"{name}: expected a flat list of scores, got shape {array.shape}")
    if array.size == 0:
        raise InvalidInput(f"{name}: no scores given")
    bad = np.flatnonzero(~np.isfinite(array))
    if bad.size:
        raise InvalidInput(f"{name}: score {int(bad[0])} is NaN or infinite")
    return array


def bootstrap_mean_interval(
    values: Sequence[float] | np.ndarray, samples: int, seed: int, confidence: float = 0.95
) -> tuple[float, float]:
    """Percentile bootstrap interval of the mean of `values`."""
    data = as_scores(values, "values")
    check_resampling(samples, confidence)
    return percentile_interval(bootstrap_means(data, samples, np.random.default_rng(seed)), confidence)


def check_resampling(samples: int, confidence: float) -> None:
    if samples < 1:
        raise InvalidInput(f"bootstrap samples must be at least 1, got {samples}")
    if not 0.0 < confidence < 1.0:
        raise InvalidInput(f"confidence must be in (0, 1), got {confidence}")


def bootstrap_means(data: np.ndarray, samples: int, rng: np.random.Generator) -> np.ndarray:
    """The means of `samples` resamples (with replacement) of `data`."""
    n = data.size
    rows_per_block = max(1, _BOOTSTRAP_BLOCK_CELLS // n)
    means = np.empty(samples, dtype=np.float64)
    for start in range(0, samples, rows_per_block):
        rows = min(rows_per_block, samples - start)
        indices = rng.integers(0, n, size=(rows, n))
        means[start : start + rows] = data[indices].mean(axis=1)
    return means


def percentile_interval(resampled: np.ndarray, confidence: float) -> tuple[float, float]:
    tail = (1.0 - confidence) / 2.0 * 100.0
    low, high = np.percentile(resampled, [tail, 100.0 - tail])
    return float(low), float(high)


@dataclass(frozen=True)
class SetStatistics:
    n: int
    mean: float
    median: float
    p10: float
    p90: float
    mean_ci95: tuple[float, float]
    share_acceptable: float
    share_borderline: float
    share_unacceptable: float
    bucket_counts: dict[str, int]

    def as_dict(self) -> dict[str, object]:
        result = asdict(self)
        result["mean_ci95"] = list(self.mean_ci95)
        return result


def describe_scores(
    cosines: Sequence[float] | np.ndarray, thresholds: Thresholds, bootstrap_samples: int, seed: int
) -> SetStatistics:
    """Mean, median, p10/p90, bootstrap 95% interval of the mean and bucket shares of cosines."""
    data = as_scores(cosines, "cosines")
    counts = bucket_counts(data, thresholds)
    p10, median, p90 = np.percentile(data, [10, 50, 90])
    return SetStatistics(
        n=int(data.size),
        mean=float(data.mean()),
        median=float(median),
        p10=float(p10),
        p90=float(p90),
        mean_ci95=bootstrap_mean_interval(data, bootstrap_samples, seed),
        share_acceptable=counts[ACCEPTABLE] / data.size,
        share_borderline=counts[BORDERLINE] / data.size,
        share_unacceptable=counts[UNACCEPTABLE] / data.size,
        bucket_counts=counts,
    )


@dataclass(frozen=True)
class PairedComparison:
    """candidate minus baseline, question by question."""

    n: int
    mean_difference: float
    difference_ci95: tuple[float, float]
    win_rate: float
    tie_rate: float
    loss_rate: float
    # Two-sided Wilcoxon signed-rank test of the differences; 1.0 when every difference is a tie.
    wilcoxon_p: float

    def as_dict(self) -> dict[str, object]:
        result = asdict(self)
        result["difference_ci95"] = list(self.difference_ci95)
        return result

    @property
    def verdict(self) -> str:
        """'better', 'worse' or 'no clear difference', from whether the interval excludes zero."""
        if self.n < MIN_QUESTIONS_FOR_VERDICT:
            return "too few questions"
        low, high = self.difference_ci95
        if low > 0:
            return "better"
        if high < 0:
            return "worse"
        return "no clear difference"


def compare_paired(
    baseline: Sequence[float] | np.ndarray,
    candidate: Sequence[float] | np.ndarray,
    bootstrap_samples: int,
    seed: int,
) -> PairedComparison:
    base = as_scores(baseline, "baseline")
    cand = as_scores(candidate, "candidate")
    if base.size != cand.size:
        raise InvalidInput(f"baseline has {base.size} scores but candidate has {cand.size}: not paired")
    differences = cand - base
    ties = np.abs(differences) <= TIE_TOLERANCE
    wins = (differences > 0) & ~ties
    return PairedComparison(
        n=int(differences.size),
        mean_difference=float(differences.mean()),
        difference_ci95=bootstrap_mean_interval(differences, bootstrap_samples, seed),
        win_rate=float(wins.mean()),
        tie_rate=float(ties.mean()),
        loss_rate=float((~wins & ~ties).mean()),
        wilcoxon_p=wilcoxon_p_value(np.where(ties, 0.0, differences)),
    )


def wilcoxon_p_value(differences: np.ndarray) -> float:
    nonzero = differences[differences != 0.0]
    if nonzero.size == 0:
        return 1.0
    # zero_method="wilcox" drops ties, the textbook test; with one nonzero difference the p-value is 1.
    result = scipy_stats.wilcoxon(nonzero, zero_method="wilcox", alternative="two-sided")
    return float(result.pvalue)


def mean_and_interval(
    values: Sequence[float] | np.ndarray, bootstrap_samples: int, seed: int
) -> dict[str, object]:
    """Mean, median and bootstrap 95% interval of any per-question score (used for lexical scores)."""
    data = as_scores(values, "values")
    return {
        "mean": float(data.mean()),
        "median": float(np.median(data)),
        "mean_ci95": list(bootstrap_mean_interval(data, bootstrap_samples, seed)),
    }
