"""The one-screen summary of a run, read back from the cards every step leaves under the work URI.

Reading the cards (not KFP's outputs) means the same summary works for a local run, a cluster run
whose work prefix is s3://, and a run someone else started.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from doc2slm_common import storage

from doc2slm_pipelines.steps.records import (
    ADAPTER_DIR,
    DEPLOY_CARD,
    EXTRACTION_CARD,
    GENERATION_CARD,
    REPORT_DIR,
    SPLIT_CARD,
    read_card,
)

TRAINING_CARD = "training_card.json"
SPLIT_SETS = ("train", "eval_heldout_questions", "eval_heldout_docs", "eval_seen")
METRICS_FILE = "metrics.json"


@dataclass
class RunSummary:
    work_uri: str
    cards: dict[str, dict[str, Any]] = field(default_factory=dict)  # name -> card; absent when not reached

    def get(self, card: str, *keys: str, default: Any = None) -> Any:
        value: Any = self.cards.get(card)
        for key in keys:
            if not isinstance(value, dict) or key not in value:
                return default
            value = value[key]
        return value


def load_summary(work_uri: str) -> RunSummary:
    prefix = storage.to_uri(work_uri)
    locations = {
        "extraction": storage.join(prefix, EXTRACTION_CARD),
        "generation": storage.join(prefix, GENERATION_CARD),
        "split": storage.join(prefix, SPLIT_CARD),
        "training": storage.join(prefix, ADAPTER_DIR, TRAINING_CARD),
        "metrics": storage.join(prefix, REPORT_DIR, METRICS_FILE),
        "deploy": storage.join(prefix, DEPLOY_CARD),
    }
    summary = RunSummary(work_uri=prefix)
    for name, uri in locations.items():
        if storage.exists(uri):
            summary.cards[name] = read_card(uri)
    return summary


def _figure(value: Any, digits: int = 3) -> str:
    return f"{value:.{digits}f}" if isinstance(value, (int, float)) else "-"


def similarity_lines(summary: RunSummary) -> list[str]:
    """Per eval set: base vs tuned mean cosine with 95% intervals, share acceptable, and token F1."""
    metrics = summary.cards.get("metrics")
    if not metrics:
        return ["  evaluation: not reached"]
    lines = [f"  similarity ({metrics.get('embedding_model', '?')}; acceptable >= "
             f"{_figure(metrics.get('thresholds', {}).get('acceptable'), 2)}):"]
    for set_name in metrics.get("set_order", []):
        data = metrics["sets"][set_name]
        parts = []
        for system in ("base", "tuned"):
            cosine = data["systems"][system]["cosine"]
            low, high = cosine.get("mean_ci95", [None, None])
            parts.append(f"{system} {_figure(cosine.get('mean'))} [{_figure(low, 2)}, {_figure(high, 2)}] "
                         f"acc {_figure(100 * cosine.get('share_acceptable', 0), 0)}% "
                         f"F1 {_figure(data['systems'][system]['token_f1'].get('mean'), 2)}")
        difference = data.get("tuned_vs_base", {}).get("cosine", {})
        low, high = difference.get("difference_ci95", [None, None])
        floor = data.get("floor") or {}
        lines.append(f"    {set_name} (n={data['n']}): " + " | ".join(parts)
                     + f" | tuned-base {_figure(difference.get('mean_difference'))} "
                     f"[{_figure(low, 3)}, {_figure(high, 3)}] | floor {_figure(floor.get('tuned'), 2)}")
    facts = metrics.get("facts_beyond_register")
    if facts:
        low, high = facts.get("difference_ci95", [None, None])
        lines.append(f"    facts or register: held-out questions gain {_figure(facts.get('heldout_questions_gain'))}, "
                     f"an untrained document {_figure(facts.get('heldout_docs_gain'))}; difference "
                     f"{_figure(facts.get('difference'))} [{_figure(low, 3)}, {_figure(high, 3)}]: "
                     f"{facts.get('verdict', '-')}")
    return lines


def _question_value_lines(summary: RunSummary) -> list[str]:
    """The training card's question's value, base against the kept weights, with what a fall means."""
    value = summary.get("training", "validation", "question_value", default=None)
    if not isinstance(value, dict) or value.get("base") is None or value.get("at_best_step") is None:
        return []
    base, tuned = float(value["base"]), float(value["at_best_step"])
    meaning = ("the answers lean on the question less than the base model's: it learnt the documents' text "
               "more than the way from a question to it") if tuned < base else "the answers lean on the question more"
    return [f"  question's value: base {base:.2f} -> {tuned:.2f} nats/token (how much likelier a validation "
            f"answer is after its own question than after another's): {meaning}"]


def format_summary(summary: RunSummary, served_answer: tuple[str, str] | None = None) -> str:
    """The text `doc2slm run` prints at the end (about 20 lines)."""
    s = summary
    counts = s.get("split", "counts", default={}) or {}
    lines = [
        "doc2slm run summary",
        f"  documents: {s.get('extraction', 'documents', default='-')} "
        f"(failed {s.get('extraction', 'documents_failed', default=0)}), chunks used: "
        f"{s.get('extraction', 'chunks', default='-')} of {s.get('extraction', 'chunks_extracted', default='-')}",
        f"  QA pairs: {s.get('generation', 'pairs', default='-')} from "
        f"{s.get('generation', 'chunks_with_pair', default='-')}/{s.get('generation', 'chunks_total', default='-')} "
        f"chunks ({s.get('generation', 'teacher_calls', default='-')} teacher calls, "
        f"{s.get('generation', 'chunks_cached', default=0)} chunks from cache)",
        "  split: " + (", ".join(f"{name} {counts[name]}" for name in SPLIT_SETS if name in counts) or "-"),
        f"  training: {s.get('training', 'steps', default='-')} steps on {s.get('training', 'device', default='-')} "
        f"({s.get('training', 'precision', default='-')}), loss {_loss_line(s)}, "
        f"{_figure(s.get('training', 'tokens_per_s'), 0)} tokens/s, "
        f"{_figure(s.get('training', 'wall_seconds'), 0)} s",
        *_question_value_lines(s),
        *similarity_lines(s),
        f"  files: {s.work_uri}/ (chunks.jsonl, qa.jsonl, split/, adapter/, answers.jsonl, report/report.html)",
    ]
    gate = s.get("deploy", "quality_gate", default=None)
    if isinstance(gate, dict):
        lines.append(f"  quality gate: {'passed' if gate.get('passed') else 'REFUSED'}: {gate.get('reason', '')}")
    if s.get("deploy", "published", default=True) is False:
        lines.append("  not published: the adapter was not served; the previous one (if any) keeps serving")
    endpoint = s.get("deploy", "openai_base_url", default="")
    if endpoint:
        lines.append(f"  served at: {endpoint} (model {s.get('deploy', 'adapter_name', default='')})")
    if served_answer is not None:
        question, answer = served_answer
        lines += [f"  asked the tuned model: {question}", f"  it answered: {answer}"]
    return "\n".join(lines)


def _loss_line(summary: RunSummary) -> str:
    curve = summary.get("training", "loss_curve", default=[]) or []
    if not curve:
        return _figure(summary.get("training", "final_loss"))
    return f"{_figure(curve[0][1])} -> {_figure(curve[-1][1])}"
