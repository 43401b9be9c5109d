"""Figures of bench-quality pooled over several splits of the same manuals.

One split's ~60 held-out questions give tuned - base an interval of about +-0.03: with a true gain near the
+0.05 target, one run passes or fails it by chance about half the time (measured 2026-12-07: +0.068, +0.031
and +0.043 on three splits of the same configuration). Pooling the per-question scores of several splits
(`split_seed` draws the chunk sample, the held-out document and the held-out questions) measures the
configuration rather than one draw. The interval is a stratified paired bootstrap: each split is resampled
within itself, keeping its size, so a split with more questions weighs more and no resample is all one split.

The interval covers which questions were asked, not the fine-tune's own chance: on the same pairs, another
training seed moved one split's held-out questions by +0.013 (+0.000 to +0.025, n=60) and its people's
questions by +0.021 (2026-12-07). So a split can run under several training seeds (replicates); each
question's tuned scores are then averaged over them before pooling, and each seed's own pooled figure is
reported beside, as the spread that chance alone gives.
"""

from __future__ import annotations

import csv
from pathlib import Path
from typing import Any

import numpy as np
from doc2slm_scoring.report.facts_or_register import GainComparison
from doc2slm_scoring.statistics import percentile_interval

BOOTSTRAP_SAMPLES = 2000
BOOTSTRAP_SEED = 0
CONFIDENCE = 0.95


Rows = list[dict[str, str]]
# The scores of the tuned model, which differ between training runs; the base model's do not.
TUNED_SCORES = ("tuned_cosine", "tuned_token_f1")


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
    return percentile_interval(stratified_means(groups, samples, np.random.default_rng(seed)), confidence)


def stratified_means(groups: list[np.ndarray], samples: int, rng: np.random.Generator) -> np.ndarray:
    """The pooled means of `samples` resamples, each group resampled within itself."""
    groups = [g for g in groups if g.size]
    if not groups:
        raise ValueError("no values to pool")
    total = sum(g.size for g in groups)
    sums = np.zeros(samples)
    for group in groups:
        sums += group[rng.integers(0, group.size, size=(samples, group.size))].sum(axis=1)
    return sums / total



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
    cosine = {s: _gains(r) for s, r in by_seed.items()}
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


def _gains(rows: Rows) -> np.ndarray:
    return _column(rows, "tuned_cosine") - _column(rows, "base_cosine")


def pooled_facts_beyond_register(reports: dict[int, dict[str, Rows]], facts_set: str,
                                 register_set: str) -> dict[str, Any] | None:
    """The gain on `facts_set` (questions on trained documents) minus the gain on `register_set` (a document
    never trained on), pooled over the splits; each set of each split resampled within itself
    (doc2slm_scoring's facts_or_register.py says what the difference means). None where either is missing."""
    facts = [_gains(rows) for sets in reports.values() if (rows := sets.get(facts_set))]
    register = [_gains(rows) for sets in reports.values() if (rows := sets.get(register_set))]
    if not facts or not register:
        return None
    rng = np.random.default_rng(BOOTSTRAP_SEED)
    resampled = (stratified_means(facts, BOOTSTRAP_SAMPLES, rng)
                 - stratified_means(register, BOOTSTRAP_SAMPLES, rng))
    facts_all, register_all = np.concatenate(facts), np.concatenate(register)
    return GainComparison(heldout_questions_n=int(facts_all.size), heldout_questions_gain=float(facts_all.mean()),
                          heldout_docs_n=int(register_all.size), heldout_docs_gain=float(register_all.mean()),
                          difference=float(facts_all.mean() - register_all.mean()),
                          difference_ci95=percentile_interval(resampled, CONFIDENCE)).as_dict()


def merge_replicates(replicates: list[dict[str, Rows]]) -> dict[str, Rows]:
    """One split's reports from several training runs on the same pairs -> one report: each question asked in
    every run once, its tuned scores averaged over the runs (its base scores are the same in all). The rows'
    other tuned columns (answer, bucket) are the first run's; the pooling reads only the scores."""
    if len(replicates) == 1:
        return replicates[0]
    merged: dict[str, Rows] = {}
    for set_name in set.intersection(*(set(report) for report in replicates)):
        by_question = [{(r["question"], r["reference"]): r for r in report[set_name]} for report in replicates]
        shared = [key for key in by_question[0] if all(key in other for other in by_question[1:])]
        rows = []
        for key in shared:
            row = dict(by_question[0][key])
            for score in TUNED_SCORES:
                row[score] = str(np.mean([float(run[key][score]) for run in by_question]))
            rows.append(row)
        merged[set_name] = rows
    return merged


def pooled_sets(runs: dict[int, list[Path]], train_seeds: list[str] | None = None) -> dict[str, Any]:
    """Every set bench-quality reports, pooled over the splits (split seed -> its runs' output directories,
    one per training seed, in the order of train_seeds). With several training seeds, also what chance alone
    moves: each seed's own pooled held-out-question difference ("per_train_seed")."""
    def reports(subdir: str) -> dict[int, list[dict[str, Rows]]]:
        return {seed: [read_sets(out / subdir / "pairs.csv") for out in outs] for seed, outs in runs.items()}

    generated, people = reports("report"), reports("human/report")  # each file read once
    merged = {seed: merge_replicates(sets) for seed, sets in generated.items()}
    merged_people = {seed: merge_replicates(sets) for seed, sets in people.items()}
    pooled: dict[str, Any] = {
        "heldout_questions": pooled_figures(merged, "eval_heldout_questions"),
        "heldout_docs": pooled_figures(merged, "eval_heldout_docs"),
        "seen": pooled_figures(merged, "eval_seen"),
        "human_questions": {name: pooled_figures(merged_people, name)
                            for name in ("faq_heldout_docs", "faq_trained_docs")},
        "facts_beyond_register": pooled_facts_beyond_register(merged, "eval_heldout_questions", "eval_heldout_docs"),
        # The people's questions on trained documents stand where the held-out questions stand (their keys
        # say heldout_questions), though many ask about chunks the bench's 80 did not train.
        "human_facts_beyond_register": pooled_facts_beyond_register(merged_people, "faq_trained_docs",
                                                                    "faq_heldout_docs")}
    if train_seeds and len(train_seeds) > 1:
        pooled["per_train_seed"] = {
            train_seed: _mean_difference([sets[index] for sets in generated.values()], "eval_heldout_questions")
            for index, train_seed in enumerate(train_seeds)}
    return pooled


def _mean_difference(reports: list[dict[str, Rows]], set_name: str) -> float | None:
    rows = [row for sets in reports for row in sets.get(set_name, [])]
    return float((_column(rows, "tuned_cosine") - _column(rows, "base_cosine")).mean()) if rows else None
