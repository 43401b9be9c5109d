"""QAGenService: decode the request, run the library, encode events. No generation logic lives here."""

from __future__ import annotations

import logging
from collections import Counter
from collections.abc import Iterator
from typing import Any

from doc2slm.v1 import common_pb2, qagen_pb2, qagen_pb2_grpc
from doc2slm_common.contracts import QAGEN
from doc2slm_common.errors import InvalidInput, LimitExceeded
from doc2slm_common.server import ServiceBinding

from doc2slm_qagen import factory
from doc2slm_qagen.access import check_request_options
from doc2slm_qagen.chunkwork import ChunkFailure
from doc2slm_qagen.dataset import read_chunks
from doc2slm_qagen.generate import Event, RunSummary
from doc2slm_qagen.records import ChunkRecord, PairRecord
from doc2slm_qagen.settings import QAGenSettings
from doc2slm_qagen.split import split_dataset

log = logging.getLogger("doc2slm.qagen.service")

_MODES = {qagen_pb2.GENERATION_MODE_QUESTION_ANSWER: "qa", qagen_pb2.GENERATION_MODE_ANSWER_FIRST: "answer_first"}


def chunk_from_proto(chunk: common_pb2.Chunk) -> ChunkRecord:
    return ChunkRecord(doc_id=chunk.doc_id, chunk_id=chunk.chunk_id, text=chunk.text, source=chunk.source,
                       page_start=chunk.page_start, page_end=chunk.page_end)


def pair_to_proto(pair: PairRecord) -> common_pb2.QAPair:
    return common_pb2.QAPair(**pair.to_dict())


def event_to_proto(event: Event) -> qagen_pb2.GenerationEvent:
    if isinstance(event, PairRecord):
        return qagen_pb2.GenerationEvent(pair=pair_to_proto(event))
    if isinstance(event, ChunkFailure):
        return qagen_pb2.GenerationEvent(failure=common_pb2.ItemFailure(
            item_id=event.item_id, code=event.code, message=event.message))
    summary: RunSummary = event
    return qagen_pb2.GenerationEvent(summary=qagen_pb2.GenerationSummary(
        chunks_total=summary.chunks_total, chunks_with_pair=summary.chunks_with_pair,
        pairs_kept=summary.pairs_kept, teacher_calls=summary.teacher_calls,
        chunks_cached=summary.chunks_cached, chunks_failed=summary.chunks_failed,
        dropped=dict(summary.dropped), stopped_by_budget=summary.stopped_by_budget,
        completion_tokens=summary.completion_tokens))


_MODE_VALUES = {name: value for value, name in _MODES.items()}


def options_to_proto(options: dict[str, Any]) -> qagen_pb2.GenerationOptions:
    """Client side: the CLI's options (None: not given) as request fields."""
    return qagen_pb2.GenerationOptions(
        teacher_base_url=options.get("teacher_base_url") or "", teacher_model=options.get("teacher_model") or "",
        mode=_MODE_VALUES.get(options.get("mode") or "", qagen_pb2.GENERATION_MODE_UNSPECIFIED),
        pairs_per_chunk=options.get("pairs_per_chunk") or 0, max_concurrency=options.get("max_concurrency") or 0,
        max_requests=options.get("max_requests") or 0, max_tokens=options.get("max_tokens") or 0,
        questions_per_answer=options.get("questions_per_answer") or 0,
        paraphrase_share=options.get("paraphrase_share"))  # None leaves the optional field unset


def record_from_event(event: qagen_pb2.GenerationEvent) -> Event:
    """Client side: a stream event back as the library's record types."""
    kind = event.WhichOneof("event")
    if kind == "pair":
        return PairRecord.from_dict({f: getattr(event.pair, f) for f in PairRecord.__dataclass_fields__})
    if kind == "failure":
        return ChunkFailure(event.failure.item_id, event.failure.code, event.failure.message)
    s = event.summary
    return RunSummary(chunks_total=s.chunks_total, chunks_with_pair=s.chunks_with_pair, pairs_kept=s.pairs_kept,
                      teacher_calls=s.teacher_calls, chunks_cached=s.chunks_cached, chunks_failed=s.chunks_failed,
                      dropped=Counter(dict(s.dropped)), stopped_by_budget=s.stopped_by_budget,
                      completion_tokens=s.completion_tokens)


def options_from_proto(options: qagen_pb2.GenerationOptions) -> dict[str, Any]:
    """Request options as settings overrides; an unset (zero) field keeps the server's value."""
    paraphrase_share = _optional_share(options, "paraphrase_share")
    return {
        "teacher_base_url": options.teacher_base_url or None, "teacher_model": options.teacher_model or None,
        "mode": _MODES.get(options.mode), "pairs_per_chunk": options.pairs_per_chunk or None,
        "max_concurrency": options.max_concurrency or None, "max_requests": options.max_requests or None,
        "max_tokens": options.max_tokens or None, "paraphrase_share": paraphrase_share,
        "questions_per_answer": options.questions_per_answer or None,
    }


def _optional_share(message: Any, name: str) -> float | None:
    """An `optional double` field: None when unset (the server's value), else its value, 0 included; the
    settings check its range (factory.with_options: INVALID_ARGUMENT naming the field)."""
    return float(getattr(message, name)) if message.HasField(name) else None


class QAGenServicer(qagen_pb2_grpc.QAGenServiceServicer):
    def __init__(self, settings: QAGenSettings) -> None:
        self.settings = settings

    def _chunks(self, request: qagen_pb2.GeneratePairsRequest) -> list[ChunkRecord]:
        if request.chunks and request.chunks_uri:
            raise InvalidInput("give chunks inline or chunks_uri, not both")
        if request.chunks_uri:
            chunks = read_chunks(request.chunks_uri)
        else:
            chunks = [chunk_from_proto(c) for c in request.chunks]
        if not chunks:
            raise InvalidInput("no chunks in the request")
        if len(chunks) > self.settings.max_chunks_per_request:
            raise LimitExceeded(f"{len(chunks)} chunks in one call; the limit is "
                                f"{self.settings.max_chunks_per_request} (max_chunks_per_request)")
        return chunks

    def GeneratePairs(self, request: qagen_pb2.GeneratePairsRequest, context: Any
                      ) -> Iterator[qagen_pb2.GenerationEvent]:
        overrides = options_from_proto(request.options)
        check_request_options(self.settings, overrides)
        run = factory.open_run(self.settings, cache_uri=request.cache_uri or None, **overrides)
        try:
            chunks = self._chunks(request)
            for event in run.generator.run(chunks):
                yield event_to_proto(event)
        finally:
            run.close()

    def SplitDataset(self, request: qagen_pb2.SplitDatasetRequest, context: Any
                     ) -> qagen_pb2.SplitDatasetResponse:
        config = factory.split_config(self.settings, seed=request.seed or None,
                                      heldout_docs_share=_optional_share(request, "heldout_docs_share"),
                                      seen_share=_optional_share(request, "seen_share"),
                                      validation_share=_optional_share(request, "validation_share"))
        uris, counts = split_dataset(request.qa_uri, request.out_uri, config)
        return qagen_pb2.SplitDatasetResponse(
            train_uri=uris["train"], eval_heldout_questions_uri=uris["eval_heldout_questions"],
            eval_heldout_docs_uri=uris["eval_heldout_docs"], eval_seen_uri=uris["eval_seen"],
            eval_validation_uri=uris["eval_validation"], card_uri=uris["card"], counts=counts)


def build_binding(settings: QAGenSettings) -> ServiceBinding:
    return ServiceBinding(contract=QAGEN, add_to_server=qagen_pb2_grpc.add_QAGenServiceServicer_to_server,
                          servicer=QAGenServicer(settings))
