"""build_report: answers of both systems in, report/ out (metrics.json, pairs.csv, similarity_hist.png,
report.md, report.html). Called by the BuildReport RPC, which the pipeline's evaluate step and `doc2slm
evaluate` go through (the CLI runs the servicer in-process without a server)."""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from doc2slm_common import storage

from doc2slm_scoring.report.metrics import build_metrics
from doc2slm_scoring.report.pairs_csv import pairs_csv
from doc2slm_scoring.report.plots import similarity_histogram_png
from doc2slm_scoring.report.records import group_by_set, parse_answer_records
from doc2slm_scoring.report.render_html import render_html
from doc2slm_scoring.report.render_markdown import render_markdown
from doc2slm_scoring.report.scored import EmbedFn, MemoEmbed, mismatched_floor, score_records
from doc2slm_scoring.similarity import Thresholds

METRICS_FILE = "metrics.json"
PAIRS_FILE = "pairs.csv"
HISTOGRAM_FILE = "similarity_hist.png"
MARKDOWN_FILE = "report.md"
HTML_FILE = "report.html"

DEFAULT_SET = "eval_user"


@dataclass(frozen=True)
class ReportResult:
    report_uri: str  # report.html
    metrics: dict[str, Any]
    files: dict[str, str]  # file name -> URI written


def build_report(
    answers: Iterable[Mapping[str, Any]],
    out_uri: str,
    embed: EmbedFn,
    *,
    embedding_model: str,
    thresholds: Thresholds | None = None,
    bootstrap_samples: int = 2000,
    seed: int = 0,
    cases_per_set: int = 5,
    default_set: str = DEFAULT_SET,
    max_records: int = 100_000,
) -> ReportResult:
    """Score every answer against its reference and write the report under `out_uri`.

    `answers` are answers.jsonl records {set, question, reference, base_answer, tuned_answer, doc_id,
    chunk_id}; records without `set` belong to `default_set`. `embed(texts)` returns one vector per
    text (an in-process encoder or an EmbeddingService client); `embedding_model` names it in the report.
    """
    thresholds = thresholds or Thresholds()
    records = parse_answer_records(answers, default_set=default_set, max_records=max_records)
    # All sets in one embedding call: repeated texts (a reference asked twice) are embedded once, and the
    # floor reuses those vectors.
    memo = MemoEmbed(embed)
    scored = score_records(records, memo, thresholds)
    by_set_records = group_by_set(records)
    floors = {name: mismatched_floor(rs, memo) for name, rs in by_set_records.items()}
    scored_by_record = {id(item.record): item for item in scored}
    scored_by_set = {name: [scored_by_record[id(r)] for r in rs] for name, rs in by_set_records.items()}

    metrics = build_metrics(scored_by_set, embedding_model=embedding_model, thresholds=thresholds,
                            bootstrap_samples=bootstrap_samples, seed=seed, floors=floors)
    histogram = similarity_histogram_png(scored_by_set, thresholds)
    contents: dict[str, bytes] = {
        METRICS_FILE: (json.dumps(metrics, indent=2) + "\n").encode(),
        PAIRS_FILE: pairs_csv(scored_by_set).encode(),
        HISTOGRAM_FILE: histogram,
        MARKDOWN_FILE: render_markdown(metrics, scored_by_set, cases_per_set, HISTOGRAM_FILE).encode(),
        HTML_FILE: render_html(metrics, scored_by_set, cases_per_set, histogram).encode(),
    }
    prefix = storage.to_uri(out_uri)
    files = {name: storage.write_bytes(storage.join(prefix, name), data) for name, data in contents.items()}
    return ReportResult(report_uri=files[HTML_FILE], metrics=metrics, files=files)


def load_metrics(report_uri_prefix: str) -> dict[str, Any]:
    """metrics.json of a written report (for the pipeline's summary and KFP metrics)."""
    loaded: dict[str, Any] = json.loads(storage.read_text(storage.join(report_uri_prefix, METRICS_FILE)))
    return loaded
