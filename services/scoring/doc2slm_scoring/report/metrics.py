"""metrics.json: per set and per system, the statistics, buckets and lexical scores, and tuned vs base.

The file is the report's single source of numbers: the Markdown, the HTML and the KFP metrics are all
rendered from it, so they cannot disagree.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from doc2slm_scoring.report.facts_or_register import facts_beyond_register
from doc2slm_scoring.report.records import SEEN, SYSTEMS, headline_set, set_role
from doc2slm_scoring.report.scored import EMPTY_ANSWER_SCORE, ScoredRecord
from doc2slm_scoring.similarity import Thresholds
from doc2slm_scoring.statistics import compare_paired, describe_scores, mean_and_interval

SCHEMA_VERSION = 1
LEXICAL_METRICS = ("token_f1", "rouge_l")


def _system_metrics(
    scored: Sequence[ScoredRecord], system: str, thresholds: Thresholds, samples: int, seed: int
) -> dict[str, Any]:
    scores = [item.scores[system] for item in scored]
    result: dict[str, Any] = {
        "cosine": describe_scores([s.cosine for s in scores], thresholds, samples, seed).as_dict(),
        "empty_answers": sum(s.empty for s in scores),
    }
    for metric in LEXICAL_METRICS:
        result[metric] = mean_and_interval([getattr(s, metric) for s in scores], samples, seed)
    return result


def _comparison_metrics(scored: Sequence[ScoredRecord], samples: int, seed: int) -> dict[str, Any]:
    result: dict[str, Any] = {}
    for metric in ("cosine", *LEXICAL_METRICS):
        base = [getattr(item.scores["base"], metric) for item in scored]
        tuned = [getattr(item.scores["tuned"], metric) for item in scored]
        comparison = compare_paired(base, tuned, samples, seed)
        result[metric] = {**comparison.as_dict(), "verdict": comparison.verdict}
    return result


def build_metrics(
    scored_by_set: Mapping[str, Sequence[ScoredRecord]],
    *,
    embedding_model: str,
    thresholds: Thresholds,
    bootstrap_samples: int,
    seed: int,
    floors: Mapping[str, Mapping[str, float] | None] | None = None,
) -> dict[str, Any]:
    """The metrics document; `scored_by_set` must already be in report order (records.group_by_set).
    `floors`: per set, each system's mean cosine against mismatched references (scored.mismatched_floor)."""
    sets: dict[str, Any] = {}
    for set_name, scored in scored_by_set.items():
        sets[set_name] = {
            "role": set_role(set_name),
            "is_result": set_name != SEEN,
            "n": len(scored),
            "systems": {
                system: _system_metrics(scored, system, thresholds, bootstrap_samples, seed)
                for system in SYSTEMS
            },
            "tuned_vs_base": _comparison_metrics(scored, bootstrap_samples, seed),
            "floor": dict(floors[set_name] or {}) if floors and set_name in floors else None,
        }
    return {
        "schema_version": SCHEMA_VERSION,
        "embedding_model": embedding_model,
        "thresholds": thresholds.as_dict(),
        "bootstrap_samples": bootstrap_samples,
        "seed": seed,
        "confidence": 0.95,
        "systems": list(SYSTEMS),
        "headline_set": headline_set(scored_by_set),
        "set_order": list(scored_by_set),
        "counts": {
            "total": sum(len(s) for s in scored_by_set.values()),
            "per_set": {name: len(s) for name, s in scored_by_set.items()},
        },
        "empty_answer_score": EMPTY_ANSWER_SCORE,
        "sets": sets,
        # None unless both held-out sets were evaluated: how much of the gain an untrained document shares.
        "facts_beyond_register": facts_beyond_register(scored_by_set, bootstrap_samples, seed),
    }
