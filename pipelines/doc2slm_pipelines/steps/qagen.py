"""Generate-QA and split steps: chunks.jsonl -> qa.jsonl -> train / eval sets, through QAGenService.

Generation streams pairs as chunks finish; a chunk that fails is counted and the run goes on. The
teacher cache lives under the work prefix, so a re-run on the same corpus makes no teacher call.

These functions are the one client layer of QAGenService: the pipeline's components and the `doc2slm
qagen` / `doc2slm split` commands call them, so a request means the same whoever sends it, and the CLI's
in-process run hands its events to `collect_pairs` to write the same records.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import asdict, dataclass, field
from typing import Any

from doc2slm.v1 import common_pb2, qagen_pb2, qagen_pb2_grpc
from doc2slm_common import client, storage
from doc2slm_common.errors import InvalidInput

from doc2slm_pipelines.steps.records import (
    GENERATION_CARD,
    QA_FILE,
    SPLIT_CARD,
    SPLIT_DIR,
    as_prefix,
    write_card,
)

log = logging.getLogger("doc2slm.pipeline.qagen")

GENERATE_DEADLINE_S = 6 * 3600.0
SPLIT_DEADLINE_S = 300.0
TEACHER_CACHE_DIR = "teacher_cache"

GENERATION_MODES = {
    "": qagen_pb2.GENERATION_MODE_UNSPECIFIED,
    "question_answer": qagen_pb2.GENERATION_MODE_QUESTION_ANSWER,
    "answer_first": qagen_pb2.GENERATION_MODE_ANSWER_FIRST,
}


@dataclass
class GenerationOutcome:
    qa_uri: str
    card_uri: str
    pairs: int
    chunks_total: int
    chunks_with_pair: int
    chunks_failed: int
    teacher_calls: int
    chunks_cached: int
    stopped_by_budget: bool
    dropped: dict[str, int] = field(default_factory=dict)


@dataclass
class SplitOutcome:
    train_uri: str
    eval_heldout_questions_uri: str
    eval_heldout_docs_uri: str
    eval_seen_uri: str
    eval_validation_uri: str
    card_uri: str
    counts: dict[str, int]


def pair_record(pair: common_pb2.QAPair) -> dict[str, Any]:
    """qa.jsonl line: the proto's field names, plus `pages` as DESIGN.md spells the record."""
    return {
        "question": pair.question, "answer": pair.answer, "chunk_id": pair.chunk_id, "doc_id": pair.doc_id,
        "page_start": pair.page_start, "page_end": pair.page_end, "pages": [pair.page_start, pair.page_end],
        "teacher": pair.teacher, "prompt_version": pair.prompt_version,
        "paraphrase_question": pair.paraphrase_question, "pair_id": pair.pair_id, "source": pair.source,
    }


EventHook = Callable[[qagen_pb2.GenerationEvent], None]


def generation_options(*, teacher_base_url: str = "", teacher_model: str = "", pairs_per_chunk: int = 0,
                       mode: str = "", max_concurrency: int = 0, max_requests: int = 0,
                       paraphrase_share: float = -1.0, questions_per_answer: int = 0,
                       max_tokens: int = 0) -> qagen_pb2.GenerationOptions:
    """Options message; empty values ("", 0, a negative share) leave the server's configuration in charge."""
    if mode not in GENERATION_MODES:
        raise InvalidInput(f"generation mode {mode!r} is not one of {sorted(m for m in GENERATION_MODES if m)}")
    if min(pairs_per_chunk, max_concurrency, max_requests, questions_per_answer, max_tokens) < 0:
        raise InvalidInput("pairs_per_chunk, questions_per_answer, max_concurrency, max_requests and max_tokens "
                           "must be >= 0")
    options = qagen_pb2.GenerationOptions(
        teacher_base_url=teacher_base_url, teacher_model=teacher_model, pairs_per_chunk=pairs_per_chunk,
        mode=GENERATION_MODES[mode], max_concurrency=max_concurrency, max_requests=max_requests,
        questions_per_answer=questions_per_answer, max_tokens=max_tokens)
    # A negative share means "server default": the field stays unset (it is `optional`, so 0 is a value).
    if paraphrase_share >= 0:
        options.paraphrase_share = paraphrase_share
    return options


def generate_pairs(chunks_uri: str, work_uri: str, qagen_address: str, options: qagen_pb2.GenerationOptions,
                   deadline_s: float = GENERATE_DEADLINE_S, *, chunks: Sequence[common_pb2.Chunk] = (),
                   qa_uri: str = "", cache_uri: str | None = None,
                   on_event: EventHook | None = None) -> GenerationOutcome:
    """Stream GeneratePairs over chunks.jsonl and write `<work_uri>/qa.jsonl` and its card.

    `chunks` go inline instead of `chunks_uri` (a server that cannot read the caller's files); `qa_uri`
    writes the pairs elsewhere; `cache_uri` None keeps the teacher cache under the work prefix, "" leaves
    it to the server's setting; `on_event` sees every event as it arrives (progress, failures).
    """
    prefix = storage.to_uri(work_uri)
    if cache_uri is None:
        cache_uri = storage.join(prefix, TEACHER_CACHE_DIR) + "/"
    request = qagen_pb2.GeneratePairsRequest(request_id="pipeline-qagen", chunks_uri="" if chunks else chunks_uri,
                                             chunks=chunks, options=options, cache_uri=cache_uri)
    with client.open_channel(qagen_address) as channel:
        stub = qagen_pb2_grpc.QAGenServiceStub(channel)
        return collect_pairs(client.stream(stub.GeneratePairs, request, deadline_s=deadline_s), work_uri,
                             qa_uri=qa_uri, on_event=on_event)


def collect_pairs(events: Iterable[qagen_pb2.GenerationEvent], work_uri: str, *, qa_uri: str = "",
                  on_event: EventHook | None = None) -> GenerationOutcome:
    """Write qa.jsonl (default `<work_uri>/qa.jsonl`) and `<work_uri>/generation_card.json` from a
    GeneratePairs event stream; refuses a stream without a usable pair."""
    pairs: list[dict[str, Any]] = []
    failures: list[dict[str, str]] = []
    summary = qagen_pb2.GenerationSummary()
    for event in events:
        if on_event is not None:
            on_event(event)
        kind = event.WhichOneof("event")
        if kind == "pair":
            pairs.append(pair_record(event.pair))
        elif kind == "failure":
            failures.append({"item_id": event.failure.item_id, "code": event.failure.code,
                             "message": event.failure.message})
        elif kind == "summary":
            summary = event.summary
    if not pairs:
        raise InvalidInput(f"the teacher produced no usable pair from {summary.chunks_total} chunks "
                           f"(failed: {summary.chunks_failed}, dropped: {dict(summary.dropped)})")
    prefix = storage.to_uri(work_uri)
    written = storage.write_jsonl(storage.to_uri(qa_uri) if qa_uri else storage.join(prefix, QA_FILE), pairs)
    outcome = GenerationOutcome(
        qa_uri=written, card_uri=storage.join(prefix, GENERATION_CARD), pairs=len(pairs),
        chunks_total=summary.chunks_total, chunks_with_pair=summary.chunks_with_pair,
        chunks_failed=summary.chunks_failed, teacher_calls=summary.teacher_calls,
        chunks_cached=summary.chunks_cached, stopped_by_budget=summary.stopped_by_budget,
        dropped=dict(summary.dropped))
    write_card(outcome.card_uri, {**asdict(outcome), "failures": failures[:100],
                                  "completion_tokens": summary.completion_tokens})
    log.info("generated %d pairs from %d chunks", outcome.pairs, outcome.chunks_total)
    return outcome


def split_dataset(qa_uri: str, work_uri: str, qagen_address: str, *, seed: int = 0,
                  heldout_docs_share: float = -1.0, seen_share: float = -1.0, validation_share: float = -1.0,
                  deadline_s: float = SPLIT_DEADLINE_S, out_uri: str = "") -> SplitOutcome:
    """SplitDataset into `out_uri` (default `<work_uri>/split/`), card at `<work_uri>/split_card.json`;
    refuses a split that leaves nothing to train on. Seed 0 and negative shares: the server's setting."""
    prefix = storage.to_uri(work_uri)
    target = as_prefix(out_uri) if out_uri else storage.join(prefix, SPLIT_DIR) + "/"
    request = qagen_pb2.SplitDatasetRequest(request_id="pipeline-split", qa_uri=qa_uri, out_uri=target, seed=seed)
    # Negative: the server's value (the fields stay unset); 0 is a real choice (no eval_seen, no held docs).
    if heldout_docs_share >= 0:
        request.heldout_docs_share = heldout_docs_share
    if seen_share >= 0:
        request.seen_share = seen_share
    if validation_share >= 0:
        request.validation_share = validation_share
    with client.open_channel(qagen_address) as channel:
        stub = qagen_pb2_grpc.QAGenServiceStub(channel)
        reply = client.unary(stub.SplitDataset, request, deadline_s=deadline_s)
    counts = require_training_pairs({name: int(value) for name, value in reply.counts.items()})
    outcome = SplitOutcome(train_uri=reply.train_uri,
                           eval_heldout_questions_uri=reply.eval_heldout_questions_uri,
                           eval_heldout_docs_uri=reply.eval_heldout_docs_uri, eval_seen_uri=reply.eval_seen_uri,
                           eval_validation_uri=reply.eval_validation_uri,
                           card_uri=storage.join(prefix, SPLIT_CARD), counts=counts)
    write_card(outcome.card_uri, {**asdict(outcome), "service_card_uri": reply.card_uri})
    return outcome


def require_training_pairs(counts: Mapping[str, int]) -> dict[str, int]:
    """The split's counts, refused when nothing is left to train on (every later step would fail)."""
    if counts.get("train", 1) == 0:
        raise InvalidInput(f"the split left no training pair: {dict(counts)}")
    return dict(counts)
