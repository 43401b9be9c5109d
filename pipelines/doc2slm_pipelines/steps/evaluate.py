"""Evaluate step: base and tuned answers to every held-out question, scored into report/.

The main measure is eval_heldout_questions (trained facts asked in new words); held-out documents and
seen questions sit beside it, and every figure compares against the untuned base model. Embeddings
come from EmbeddingService; the report is doc2slm_scoring's builder, the same one its service runs.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any

from doc2slm_common import storage
from doc2slm_common.errors import InvalidInput

from doc2slm_pipelines.steps.records import ANSWERS_FILE, REPORT_DIR

log = logging.getLogger("doc2slm.pipeline.evaluate")

# Set names as the report shows them, in the order the summary reads them.
EVAL_SETS = ("eval_heldout_questions", "eval_heldout_docs", "eval_seen")


@dataclass
class EvaluationOutcome:
    report_uri: str
    report_prefix: str
    answers_uri: str
    metrics: dict[str, Any]
    questions: int


def eval_records(set_uris: dict[str, str], max_questions: int) -> list[dict[str, Any]]:
    """The questions to answer: each set's pairs in file order, capped at `max_questions` in all, taken
    round-robin over the sets so a small cap still measures every set."""
    pools: dict[str, list[dict[str, Any]]] = {}
    for name in EVAL_SETS:
        uri = set_uris.get(name, "")
        if not uri or not storage.exists(uri):
            continue
        rows = [r for r in storage.read_jsonl(uri) if isinstance(r.get("question"), str)
                and isinstance(r.get("answer"), str) and r["question"].strip() and r["answer"].strip()]
        if rows:
            pools[name] = rows
    if not pools:
        raise InvalidInput("no evaluation question: every eval set is empty (the corpus gave too few pairs)")
    chosen: list[dict[str, Any]] = []
    depth = 0
    limit = max_questions if max_questions > 0 else sum(len(rows) for rows in pools.values())
    while len(chosen) < limit and any(depth < len(rows) for rows in pools.values()):
        for name, rows in pools.items():
            if depth < len(rows) and len(chosen) < limit:
                row = rows[depth]
                chosen.append({"set": name, "question": row["question"], "reference": row["answer"],
                               "doc_id": row.get("doc_id", ""), "chunk_id": row.get("chunk_id", "")})
        depth += 1
    return chosen


def evaluate_adapter(set_uris: dict[str, str], adapter_uri: str, work_uri: str, embedding_address: str, *,
                     base_model: str, max_questions: int, max_new_tokens: int,
                     bootstrap_samples: int = 1000, seed: int = 0) -> EvaluationOutcome:
    """Answer with both systems, write answers.jsonl, build the report; returns where it is."""
    from doc2slm_scoring.embedding_client import EmbeddingClient
    from doc2slm_scoring.report.build import build_report

    from doc2slm_pipelines.answering import answer_base_and_tuned

    records = eval_records(set_uris, max_questions)
    log.info("answering %d questions with the base and the tuned model", len(records))
    answered = answer_base_and_tuned(records, base_model=base_model, adapter_uri=adapter_uri,
                                     max_new_tokens=max_new_tokens)
    prefix = storage.to_uri(work_uri)
    answers_uri = storage.write_jsonl(storage.join(prefix, ANSWERS_FILE), answered)
    report_prefix = storage.join(prefix, REPORT_DIR)
    embedding = EmbeddingClient(embedding_address)
    try:
        result = build_report(answered, report_prefix, embedding.embed, embedding_model=embedding.model_name,
                              bootstrap_samples=bootstrap_samples, seed=seed)
    finally:
        embedding.close()
    return EvaluationOutcome(report_uri=result.report_uri, report_prefix=report_prefix, answers_uri=answers_uri,
                             metrics=result.metrics, questions=len(answered))
