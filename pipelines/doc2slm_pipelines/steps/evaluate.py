"""Evaluate step: base and tuned answers to every held-out question, scored into report/ by ScoringService.

The main measure is eval_heldout_questions (trained facts asked in new words); held-out documents and
seen questions sit beside it, and every figure compares against the untuned base model. The step writes
answers.jsonl and asks ScoringService to BuildReport from it (the service embeds through its own
EmbeddingService), so the thresholds and resample count a deployment configured on that service apply.

These functions are the one client layer of BuildReport: the pipeline's component and `doc2slm evaluate`
build the request with `report_request` and read the reply with `report_outcome`, so a report means the
same whoever asked for it.
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass
from typing import Any

from doc2slm.v1 import scoring_pb2, scoring_pb2_grpc
from doc2slm_common import client, storage
from doc2slm_common.errors import InvalidInput

from doc2slm_pipelines.steps.records import ANSWERS_FILE, REPORT_DIR

log = logging.getLogger("doc2slm.pipeline.evaluate")

# Set names as the report shows them, in the order the summary reads them.
EVAL_SETS = ("eval_heldout_questions", "eval_heldout_docs", "eval_seen")
# The service embeds every answer and reference before it writes a file: thousands of answers on a CPU
# pod take minutes, far past the client's 60 s default.
REPORT_DEADLINE_S = 1800.0


@dataclass
class ReportOutcome:
    report_uri: str  # report.html
    report_prefix: str  # metrics.json, pairs.csv, report.md ... lie under it
    metrics: dict[str, Any]


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


def report_request(answers_uri: str, out_uri: str, *, acceptable: float | None = None,
                   borderline: float | None = None, bootstrap_samples: int = 0,
                   seed: int = 0) -> scoring_pb2.BuildReportRequest:
    """BuildReport of `answers_uri` into `out_uri`. Thresholds None and 0 resamples leave the scoring
    service's settings in charge (the request's thresholds field stays unset)."""
    if (acceptable is None) != (borderline is None):
        raise InvalidInput("give both thresholds (acceptable and borderline) or neither")
    if bootstrap_samples < 0:
        raise InvalidInput(f"bootstrap_samples must be >= 0 (0: the scoring service's setting), "
                           f"got {bootstrap_samples}")
    request = scoring_pb2.BuildReportRequest(request_id="pipeline-evaluate", answers_uri=storage.to_uri(answers_uri),
                                             out_uri=storage.to_uri(out_uri), bootstrap_samples=bootstrap_samples,
                                             seed=seed)
    if acceptable is not None and borderline is not None:
        request.thresholds.CopyFrom(scoring_pb2.Thresholds(acceptable=acceptable, borderline=borderline))
    return request


def report_outcome(reply: scoring_pb2.BuildReportResponse, out_uri: str) -> ReportOutcome:
    """Where the report went and its metrics, from a BuildReport reply (a server's or the in-process one)."""
    return ReportOutcome(report_uri=reply.report_uri, report_prefix=storage.to_uri(out_uri),
                         metrics=json.loads(reply.metrics_json))


def request_report(request: scoring_pb2.BuildReportRequest, scoring_address: str,
                   deadline_s: float = REPORT_DEADLINE_S) -> ReportOutcome:
    """Call BuildReport on the ScoringService at `scoring_address` (it reads the answers and writes the
    report at the request's URIs itself)."""
    with client.open_channel(scoring_address) as channel:
        stub = scoring_pb2_grpc.ScoringServiceStub(channel)
        reply = client.unary(stub.BuildReport, request, deadline_s=deadline_s)
    return report_outcome(reply, request.out_uri)


def evaluate_adapter(set_uris: dict[str, str], adapter_uri: str, work_uri: str, scoring_address: str, *,
                     base_model: str, max_questions: int, max_new_tokens: int,
                     bootstrap_samples: int = 0, seed: int = 0) -> EvaluationOutcome:
    """Answer with both systems, write answers.jsonl, have ScoringService build the report; returns where
    it is. 0 resamples: the scoring service's setting."""
    from doc2slm_pipelines.answering import answer_base_and_tuned

    records = eval_records(set_uris, max_questions)
    log.info("answering %d questions with the base and the tuned model", len(records))
    answered = answer_base_and_tuned(records, base_model=base_model, adapter_uri=adapter_uri,
                                     max_new_tokens=max_new_tokens)
    prefix = storage.to_uri(work_uri)
    answers_uri = storage.write_jsonl(storage.join(prefix, ANSWERS_FILE), answered)
    request = report_request(answers_uri, storage.join(prefix, REPORT_DIR), bootstrap_samples=bootstrap_samples,
                             seed=seed)
    report = request_report(request, scoring_address)
    return EvaluationOutcome(report_uri=report.report_uri, report_prefix=report.report_prefix,
                             answers_uri=answers_uri, metrics=report.metrics, questions=len(answered))
