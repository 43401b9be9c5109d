"""metrics.json as a flat dict of scalars, for the pipeline's evaluate step to log as KFP Metrics.

KFP's Metrics artifact takes (name, number) pairs; names here are `<set>.<system>.<measure>`,
`<set>.tuned_vs_base.<measure>` and, where both held-out sets were evaluated, `facts_beyond_register.*`, so
the run comparison view lines the same figure up across runs.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

# Per system: the figures someone compares across runs (the rest stays in metrics.json).
_SYSTEM_FIGURES = {
    "cosine_mean": ("cosine", "mean"),
    "cosine_median": ("cosine", "median"),
    "cosine_p10": ("cosine", "p10"),
    "cosine_p90": ("cosine", "p90"),
    "share_acceptable": ("cosine", "share_acceptable"),
    "share_borderline": ("cosine", "share_borderline"),
    "share_unacceptable": ("cosine", "share_unacceptable"),
    "token_f1_mean": ("token_f1", "mean"),
    "rouge_l_mean": ("rouge_l", "mean"),
}


def flatten_metrics(metrics: Mapping[str, Any]) -> dict[str, float]:
    """Scalar figures of a metrics.json document, every value a float."""
    flat: dict[str, float] = {
        "questions_total": float(metrics["counts"]["total"]),
        "threshold_acceptable": float(metrics["thresholds"]["acceptable"]),
        "threshold_borderline": float(metrics["thresholds"]["borderline"]),
    }
    for set_name in metrics["set_order"]:
        data = metrics["sets"][set_name]
        flat[f"{set_name}.n"] = float(data["n"])
        for system, values in data["systems"].items():
            for name, (group, key) in _SYSTEM_FIGURES.items():
                flat[f"{set_name}.{system}.{name}"] = float(values[group][key])
            low, high = values["cosine"]["mean_ci95"]
            flat[f"{set_name}.{system}.cosine_mean_ci95_low"] = float(low)
            flat[f"{set_name}.{system}.cosine_mean_ci95_high"] = float(high)
        for measure, comparison in data["tuned_vs_base"].items():
            prefix = f"{set_name}.tuned_vs_base.{measure}"
            flat[f"{prefix}_mean_difference"] = float(comparison["mean_difference"])
            flat[f"{prefix}_difference_ci95_low"] = float(comparison["difference_ci95"][0])
            flat[f"{prefix}_difference_ci95_high"] = float(comparison["difference_ci95"][1])
            flat[f"{prefix}_win_rate"] = float(comparison["win_rate"])
    facts = metrics.get("facts_beyond_register")
    if facts:
        flat["facts_beyond_register.difference"] = float(facts["difference"])
        flat["facts_beyond_register.difference_ci95_low"] = float(facts["difference_ci95"][0])
        flat["facts_beyond_register.difference_ci95_high"] = float(facts["difference_ci95"][1])
    return flat
