"""Extract step: every PDF under the corpus URI becomes chunks.jsonl, through ExtractionService.

A document that fails is recorded with its status and the run goes on with the others; only a corpus
that yields no chunk at all stops the pipeline, since nothing after it could do useful work.
"""

from __future__ import annotations

import logging
from dataclasses import asdict, dataclass, field
from typing import Any

from doc2slm.v1 import common_pb2, extraction_pb2, extraction_pb2_grpc
from doc2slm_common import client, storage
from doc2slm_common.errors import InvalidInput
from doc2slm_common.extraction_events import CHUNKS_PER_EVENT, chunks_of

from doc2slm_pipelines.steps.records import CHUNKS_FILE, EXTRACTION_CARD, as_prefix, write_card
from doc2slm_pipelines.steps.sampling import sample_chunks

log = logging.getLogger("doc2slm.pipeline.extract")

# A whole corpus streams through one call; a large one takes minutes, not the default 60 s.
EXTRACT_DEADLINE_S = 3600.0


@dataclass
class ExtractionOutcome:
    chunks_uri: str
    card_uri: str
    documents: int
    documents_failed: int
    chunks: int
    chunks_extracted: int
    failures: list[dict[str, str]] = field(default_factory=list)


def chunk_record(chunk: common_pb2.Chunk) -> dict[str, Any]:
    """chunks.jsonl line: the proto's field names, plus `pages` as DESIGN.md spells the record."""
    return {
        "doc_id": chunk.doc_id, "chunk_id": chunk.chunk_id, "source": chunk.source,
        "page_start": chunk.page_start, "page_end": chunk.page_end,
        "pages": [chunk.page_start, chunk.page_end], "text": chunk.text, "n_tokens": chunk.n_tokens,
        "char_start": chunk.char_start, "char_end": chunk.char_end,
    }


def corpus_uris(docs_uri: str) -> list[str]:
    """One PDF stays a file URI; anything else is a prefix the service lists for *.pdf."""
    uri = storage.to_uri(docs_uri)
    return [uri] if uri.lower().endswith(".pdf") else [as_prefix(uri)]


def extract_corpus(docs_uri: str, work_uri: str, extraction_address: str, *, max_tokens: int = 0,
                   overlap_tokens: int = 0, backend: str = "", max_chunks: int = 0, sample_seed: int = 0,
                   deadline_s: float = EXTRACT_DEADLINE_S) -> ExtractionOutcome:
    """Call ExtractBatch on the corpus and write `<work_uri>/chunks.jsonl` and its card."""
    if max_tokens < 0 or overlap_tokens < 0 or max_chunks < 0:
        raise InvalidInput("max_tokens, overlap_tokens and max_chunks must be >= 0")
    request = extraction_pb2.ExtractBatchRequest(
        request_id="pipeline-extract", uris=corpus_uris(docs_uri),
        options=extraction_pb2.ChunkingOptions(max_tokens=max_tokens, overlap_tokens=overlap_tokens,
                                               backend=backend, chunks_per_event=CHUNKS_PER_EVENT))
    chunks: list[dict[str, Any]] = []
    documents: list[dict[str, Any]] = []
    failures: list[dict[str, str]] = []
    with client.open_channel(extraction_address) as channel:
        stub = extraction_pb2_grpc.ExtractionServiceStub(channel)
        for event in client.stream(stub.ExtractBatch, request, deadline_s=deadline_s):
            if not event.HasField("result"):
                chunks.extend(chunk_record(chunk) for chunk in chunks_of(event))
                continue
            result = event.result
            if result.HasField("failure"):
                failure = {"item_id": result.failure.item_id or result.source, "code": result.failure.code,
                           "message": result.failure.message}
                failures.append(failure)
                log.warning("document failed: %s: %s %s", failure["item_id"], failure["code"], failure["message"])
            documents.append({"doc_id": result.doc_id, "source": result.source, "pages": result.pages,
                              "chunks": result.chunks, "warnings": list(result.warnings),
                              "failed": result.HasField("failure"),
                              "pages_recovered": result.pages_recovered,
                              "pages_unrecoverable": result.pages_unrecoverable,
                              "non_content_chars": dict(sorted(result.non_content_chars.items()))})
    if not chunks:
        reasons = "; ".join(f"{f['item_id']}: {f['code']} {f['message']}" for f in failures) or "no PDF found"
        raise InvalidInput(f"no text could be extracted from {docs_uri} ({reasons})")
    kept = sample_chunks(chunks, max_chunks, sample_seed)
    prefix = storage.to_uri(work_uri)
    chunks_uri = storage.write_jsonl(storage.join(prefix, CHUNKS_FILE), kept)
    outcome = ExtractionOutcome(chunks_uri=chunks_uri, card_uri=storage.join(prefix, EXTRACTION_CARD),
                                documents=len(documents), documents_failed=len(failures), chunks=len(kept),
                                chunks_extracted=len(chunks), failures=failures)
    write_card(outcome.card_uri, {**asdict(outcome), "docs_uri": docs_uri, "per_document": documents,
                                  "max_chunks": max_chunks, "sample_seed": sample_seed})
    log.info("extracted %d chunks from %d documents", outcome.chunks, outcome.documents)
    return outcome
