"""Figures of bench-quality pooled over several splits of the same manuals.

One split's ~60 held-out questions give tuned - base an interval of about +-0.03: with a true gain near the
+0.05 target, one run passes or fails it by chance about half the time (measured 2026-12-07: +0.068, +0.031
and +0.043 on three splits of the same configuration). Pooling the per-question scores of several splits
(`split_seed` draws the chunk sample, the held-out document and the held-out questions) measures the
configuration rather than one draw. The interval is a stratified paired bootstrap: each split is resampled
within itself, keeping its size, so a split with more questions weighs more and no resample is all one split.
"""

from __future__ import annotations

import csv
from pathlib import Path
from typing import Any

import numpy as np

BOOTSTRAP_SAMPLES = 2000
BOOTSTRAP_SEED = 0
CONFIDENCE = 0.95


Rows = list[dict[str, str]]


def read_sets(pairs_csv: Path) -> dict[str, Rows]:
    """A report's pairs.csv (per question: both answers, both scores) by evaluation set; {} where absent."""
    if not pairs_csv.exists():
        return {}
    by_set: dict[str, Rows] = {}
    with pairs_csv.open(newline="", encoding="utf-8") as handle:
        for row in csv.DictReader(handle):
            by_set.setdefault(row["set"], []).append(row)
    return by_set


def stratified_interval(groups: list[np.ndarray], samples: int = BOOTSTRAP_SAMPLES, seed: int = BOOTSTRAP_SEED,
                        confidence: float = CONFIDENCE) -> tuple[float, float]:
    """Percentile interval of the mean over all values, resampling each group within itself."""
    groups = [g for g in groups if g.size]
    if not groups:
        raise ValueError("no values to pool")
    rng = np.random.default_rng(seed)
    total = sum(g.size for g in groups)
    sums = np.zeros(samples)
    for group in groups:
        sums += group[rng.integers(0, group.size, size=(samples, group.size))].sum(axis=1)
    tail = (1.0 - confidence) / 2.0 * 100.0
    low, high = np.percentile(sums / total, [tail, 100.0 - tail])
    return float(low), float(high)


def _column(rows: Rows, name: str) -> np.ndarray:
    return np.array([float(row[name]) for row in rows], dtype=np.float64)


def pooled_figures(reports: dict[int, dict[str, Rows]], set_name: str) -> dict[str, Any] | None:
    """One set pooled over the splits' reports (split seed -> read_sets of its pairs.csv), in the shape of
    a single run's figures (bench_quality.set_figures) plus each split's own n and difference; None where no
    split has it."""
    by_seed = {seed: rows for seed, sets in reports.items() if (rows := sets.get(set_name))}
    if not by_seed:
        return None
    everything = [row for rows in by_seed.values() for row in rows]
    cosine = {s: _column(r, "tuned_cosine") - _column(r, "base_cosine") for s, r in by_seed.items()}
    token_f1 = {s: _column(r, "tuned_token_f1") - _column(r, "base_token_f1") for s, r in by_seed.items()}
    return {
        "n": len(everything),
        "base_cosine": float(_column(everything, "base_cosine").mean()),
        "tuned_cosine": float(_column(everything, "tuned_cosine").mean()),
        "cosine_difference": float(np.concatenate(list(cosine.values())).mean()),
        "cosine_difference_ci95": list(stratified_interval(list(cosine.values()))),
        "base_token_f1": float(_column(everything, "base_token_f1").mean()),
        "tuned_token_f1": float(_column(everything, "tuned_token_f1").mean()),
        "token_f1_difference_ci95": list(stratified_interval(list(token_f1.values()))),
        "per_split": {str(seed): {"n": int(diff.size), "cosine_difference": round(float(diff.mean()), 4)}
                      for seed, diff in cosine.items()},
    }


def pooled_sets(runs: dict[int, Path]) -> dict[str, Any]:
    """Every set bench-quality reports, pooled over the splits' output directories (split seed -> dir)."""
    generated = {seed: read_sets(out / "report" / "pairs.csv") for seed, out in runs.items()}
    people = {seed: read_sets(out / "human" / "report" / "pairs.csv") for seed, out in runs.items()}
    return {"heldout_questions": pooled_figures(generated, "eval_heldout_questions"),
            "heldout_docs": pooled_figures(generated, "eval_heldout_docs"),
            "seen": pooled_figures(generated, "eval_seen"),
            "human_questions": {name: pooled_figures(people, name)
                                for name in ("faq_heldout_docs", "faq_trained_docs")}}
