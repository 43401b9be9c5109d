"""The quality gate before publishing: a tuned adapter that answers held-out questions worse than its base
model is not served.

The measure is the report's own: on its headline set (held-out questions on trained documents, else the
first held-out set), the mean of tuned minus base cosine, paired question by question. The adapter passes
when that mean is at least `min_gain` (0 by default: never worse than the model it started from). A run
without any held-out evaluation cannot show that, so it does not pass either. The decision and its figures
go into the deploy card, and the previous adapter keeps serving.

A held-out document, where the run has one, must not be answered clearly worse than by the base model (the
report's verdict "worse": its whole interval below 0). Measured 2026-12-07 on real manuals: 8 epochs with
the checkpoint picked by loss gave held-out questions +0.015 (n=21), which passed, while the held-out
document fell by -0.217 (-0.266 to -0.170, n=81) and people's questions by -0.13 and -0.20: a model that
has memorised its documents and forgotten how to answer anything else.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

from doc2slm_common import storage
from doc2slm_common.errors import InvalidInput

METRICS_FILE = "metrics.json"
HELDOUT_DOCS = "eval_heldout_docs"


@dataclass(frozen=True)
class GateDecision:
    passed: bool
    reason: str
    set_name: str | None = None
    n: int = 0
    base_mean: float | None = None
    tuned_mean: float | None = None
    mean_difference: float | None = None
    difference_ci95: tuple[float, float] | None = None
    min_gain: float = 0.0
    enforced: bool = True

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def judge(metrics: dict[str, Any], min_gain: float, enforced: bool = True) -> GateDecision:
    """Pass or refuse from metrics.json; `enforced=False` records the decision but always passes."""
    head = metrics.get("headline_set")
    if not head or head not in metrics.get("sets", {}):
        return GateDecision(passed=not enforced, min_gain=min_gain, enforced=enforced,
                            reason="no held-out question was evaluated, so nothing shows the tuned model is "
                                   "not worse than its base")
    data = metrics["sets"][head]
    cosine = data["tuned_vs_base"]["cosine"]
    difference = float(cosine["mean_difference"])
    low, high = cosine["difference_ci95"]
    figures = dict(set_name=head, n=int(data["n"]), base_mean=data["systems"]["base"]["cosine"]["mean"],
                   tuned_mean=data["systems"]["tuned"]["cosine"]["mean"], mean_difference=difference,
                   difference_ci95=(float(low), float(high)), min_gain=min_gain, enforced=enforced)
    if difference >= min_gain:
        harm = harm_on_heldout_document(metrics)
        if harm is not None:
            return GateDecision(passed=not enforced, reason=harm, **figures)
        return GateDecision(passed=True, reason=f"tuned - base mean cosine {difference:+.3f} on {head} "
                                                f"(n={data['n']}) is at least {min_gain:+.3f}", **figures)
    return GateDecision(passed=not enforced, **figures,
                        reason=f"tuned - base mean cosine {difference:+.3f} on {head} (n={data['n']}, 95% CI "
                               f"{low:+.3f} to {high:+.3f}) is below the gate's {min_gain:+.3f}: the tuned model "
                               "answers held-out questions worse than its base")


def harm_on_heldout_document(metrics: dict[str, Any]) -> str | None:
    """Why the held-out document refuses the adapter, or None: only the report's verdict "worse" counts (its
    minimum of questions and its whole interval below 0), so a small or noisy set never refuses alone."""
    data = metrics.get("sets", {}).get(HELDOUT_DOCS)
    cosine = (data or {}).get("tuned_vs_base", {}).get("cosine", {})
    if cosine.get("verdict") != "worse":
        return None
    low, high = cosine["difference_ci95"]
    return (f"tuned - base mean cosine {float(cosine['mean_difference']):+.3f} on {HELDOUT_DOCS} (n={data['n']}, "
            f"95% CI {float(low):+.3f} to {float(high):+.3f}): the tuned model answers questions about a document "
            "it never trained on worse than its base, so it has overfitted its training documents")


def judge_report(report_uri: str, min_gain: float, enforced: bool = True) -> GateDecision:
    """The decision for a written report (report_uri: report.html or the report prefix)."""
    if min_gain < -1.0 or min_gain > 1.0:
        raise InvalidInput(f"quality_gate_min_gain {min_gain} is outside -1..1")
    prefix = report_uri.rsplit("/", 1)[0] if report_uri.endswith(".html") else report_uri.rstrip("/")
    uri = storage.join(prefix, METRICS_FILE)
    if not storage.exists(uri):
        raise InvalidInput(f"no {METRICS_FILE} beside the report {report_uri}: the gate has nothing to judge")
    import json

    return judge(json.loads(storage.read_text(uri)), min_gain, enforced)
