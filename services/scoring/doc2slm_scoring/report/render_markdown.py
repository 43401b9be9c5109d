"""report.md: the report as Markdown, next to the histogram PNG it links to."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from doc2slm_scoring.report import summary
from doc2slm_scoring.report.records import set_role
from doc2slm_scoring.report.scored import ScoredRecord, worst_and_best

# Cases quote model output; a runaway generation must not turn the report into a wall of text.
MAX_QUOTE_CHARS = 400


def _cell(text: str) -> str:
    return text.replace("\\", "\\\\").replace("|", "\\|").replace("\n", " ")


def _table(header: Sequence[str], rows: Sequence[Sequence[str]]) -> list[str]:
    lines = ["| " + " | ".join(_cell(h) for h in header) + " |", "|" + "---|" * len(header)]
    lines += ["| " + " | ".join(_cell(c) for c in row) + " |" for row in rows]
    return lines


def _quote(text: str) -> str:
    flat = " ".join(text.split())
    if len(flat) > MAX_QUOTE_CHARS:
        flat = flat[:MAX_QUOTE_CHARS] + " [...]"
    return _cell(flat) if flat else "(empty answer)"


def _case_lines(item: ScoredRecord) -> list[str]:
    record, base, tuned = item.record, item.scores["base"], item.scores["tuned"]
    return [
        f"- **Q:** {_quote(record.question)}",
        f"  - reference: {_quote(record.reference)}",
        f"  - tuned ({tuned.cosine:.3f}, {tuned.bucket}, F1 {tuned.token_f1:.2f}): "
        f"{_quote(record.tuned_answer)}",
        f"  - base ({base.cosine:.3f}, {base.bucket}, F1 {base.token_f1:.2f}): {_quote(record.base_answer)}",
    ]


def render_markdown(
    metrics: Mapping[str, Any],
    scored_by_set: Mapping[str, Sequence[ScoredRecord]],
    cases_per_set: int,
    histogram_name: str,
) -> str:
    lines = ["# doc2slm evaluation report", ""]
    for paragraph in summary.headline_paragraphs(metrics):
        lines += [paragraph, ""]
    facts = summary.facts_paragraph(metrics)
    if facts:
        lines += [facts, ""]
    seen = summary.seen_paragraph(metrics)
    if seen:
        lines += [f"> {seen}", ""]
    lines += ["## How this was measured", ""]
    lines += [f"- {item}" for item in summary.method_items(metrics)]
    lines += ["", "## Tuned vs base, per set", ""]
    lines += _table(summary.COMPARISON_HEADER, summary.comparison_rows(metrics))
    lines += ["", "## Scores per set and system", ""]
    lines += _table(summary.SYSTEM_HEADER, summary.system_rows(metrics))
    lines += ["", "## Distribution", "", f"![cosine histograms per set]({histogram_name})", ""]
    if cases_per_set > 0:
        lines += ["## Worst and best cases (by the tuned model's cosine)", ""]
        for set_name in metrics["set_order"]:
            worst, best = worst_and_best(scored_by_set[set_name], cases_per_set)
            heading = "Worst:" if best else "All questions, lowest tuned cosine first:"
            lines += [f"### {set_name}: {set_role(set_name)}", "", heading, ""]
            for item in worst:
                lines += _case_lines(item)
            if best:
                lines += ["", "Best:", ""]
                for item in best:
                    lines += _case_lines(item)
            lines.append("")
    lines += ["Per-question scores: pairs.csv. All figures: metrics.json.", ""]
    return "\n".join(lines)
