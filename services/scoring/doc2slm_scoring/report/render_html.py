"""report.html: one self-contained page (histogram inlined as base64, no external files or scripts)."""

from __future__ import annotations

import base64
from collections.abc import Mapping, Sequence
from html import escape
from typing import Any

from doc2slm_scoring.report import summary
from doc2slm_scoring.report.records import set_role
from doc2slm_scoring.report.scored import ScoredRecord, worst_and_best

MAX_QUOTE_CHARS = 600

_STYLE = """
body { font-family: system-ui, sans-serif; max-width: 1100px; margin: 2em auto; padding: 0 1em;
       color: #222; line-height: 1.45; }
.lead { font-size: 1.05em; background: #f3f7fb; border-left: 4px solid #1f77b4; padding: .6em 1em; }
.seen { background: #fff8e6; border-left: 4px solid #e6a700; padding: .6em 1em; }
table { border-collapse: collapse; margin: .8em 0; font-size: .9em; }
th, td { border: 1px solid #ccc; padding: .3em .5em; text-align: left; vertical-align: top; }
th { background: #f0f0f0; }
img { max-width: 100%; }
.case { border: 1px solid #ddd; border-radius: 4px; padding: .5em .8em; margin: .6em 0; }
.case .q { font-weight: 600; }
.acceptable { color: #1a7f37; } .borderline { color: #9a6700; } .unacceptable { color: #cf222e; }
"""


def _quote(text: str) -> str:
    flat = " ".join(text.split())
    if len(flat) > MAX_QUOTE_CHARS:
        flat = flat[:MAX_QUOTE_CHARS] + " [...]"
    return escape(flat) if flat else "<em>(empty answer)</em>"


def _table(header: Sequence[str], rows: Sequence[Sequence[str]]) -> str:
    head = "".join(f"<th>{escape(h)}</th>" for h in header)
    body = "".join("<tr>" + "".join(f"<td>{escape(c)}</td>" for c in row) + "</tr>" for row in rows)
    return f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"


def _case(item: ScoredRecord) -> str:
    record, parts = item.record, []
    parts.append(f'<div class="q">Q: {_quote(record.question)}</div>')
    parts.append(f"<div>Reference: {_quote(record.reference)}</div>")
    for system in ("tuned", "base"):
        score = item.scores[system]
        parts.append(
            f'<div>{system} (<span class="{score.bucket}">cosine {score.cosine:.3f}, {score.bucket}</span>, '
            f"F1 {score.token_f1:.2f}, ROUGE-L {score.rouge_l:.2f}): {_quote(record.answer_of(system))}</div>"
        )
    return '<div class="case">' + "".join(parts) + "</div>"


def render_html(
    metrics: Mapping[str, Any],
    scored_by_set: Mapping[str, Sequence[ScoredRecord]],
    cases_per_set: int,
    histogram_png: bytes,
) -> str:
    out = ["<!DOCTYPE html>", '<html lang="en"><head><meta charset="utf-8">',
           "<title>doc2slm evaluation report</title>", f"<style>{_STYLE}</style></head><body>",
           "<h1>doc2slm evaluation report</h1>", '<div class="lead">']
    out += [f"<p>{escape(p)}</p>" for p in summary.headline_paragraphs(metrics)]
    out.append("</div>")
    facts = summary.facts_paragraph(metrics)
    if facts:
        out.append(f"<p>{escape(facts)}</p>")
    seen = summary.seen_paragraph(metrics)
    if seen:
        out.append(f'<p class="seen">{escape(seen)}</p>')
    out.append("<h2>How this was measured</h2><ul>")
    out += [f"<li>{escape(item)}</li>" for item in summary.method_items(metrics)]
    out.append("</ul><h2>Tuned vs base, per set</h2>")
    out.append(_table(summary.COMPARISON_HEADER, summary.comparison_rows(metrics)))
    out.append("<h2>Scores per set and system</h2>")
    out.append(_table(summary.SYSTEM_HEADER, summary.system_rows(metrics)))
    encoded = base64.b64encode(histogram_png).decode("ascii")
    out.append("<h2>Distribution</h2>")
    out.append(f'<img alt="cosine histograms per set" src="data:image/png;base64,{encoded}">')
    if cases_per_set > 0:
        out.append("<h2>Worst and best cases (by the tuned model's cosine)</h2>")
        for set_name in metrics["set_order"]:
            worst, best = worst_and_best(scored_by_set[set_name], cases_per_set)
            heading = "Worst" if best else "All questions, lowest tuned cosine first"
            out.append(f"<h3>{escape(set_name)}: {escape(set_role(set_name))}</h3><h4>{heading}</h4>")
            out += [_case(item) for item in worst]
            if best:
                out.append("<h4>Best</h4>")
                out += [_case(item) for item in best]
    out.append("<p>Per-question scores: pairs.csv. All figures: metrics.json.</p></body></html>")
    return "\n".join(out)
