"""Extract step: every PDF under the corpus URI becomes chunks.jsonl, through ExtractionService.

A document that fails is recorded with its status and the run goes on with the others; only a corpus
that yields no chunk at all stops the pipeline, since nothing after it could do useful work.

These functions are the one client layer of ExtractionService: the pipeline's component calls
`extract_corpus` (ExtractBatch over URIs the service reads), `doc2slm extract --server` calls
`extract_uploaded` (ExtractDocument with the bytes, since a server need not see the caller's files); both
read the streams with `documents_of`, so a chunks.jsonl line is the same record (extraction_events.chunk_record)
whichever path made it, the CLI's in-process run included.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass, field
from typing import Any

import grpc
from doc2slm.v1 import extraction_pb2, extraction_pb2_grpc
from doc2slm_common import client, storage
from doc2slm_common.errors import DomainError, InvalidInput
from doc2slm_common.extraction_events import CHUNKS_PER_EVENT, chunk_record, chunks_of

from doc2slm_pipelines.steps.records import CHUNKS_FILE, EXTRACTION_CARD, as_prefix, write_card
from doc2slm_pipelines.steps.sampling import sample_chunks

log = logging.getLogger("doc2slm.pipeline.extract")

# A whole corpus streams through one call; a large one takes minutes, not the default 60 s.
EXTRACT_DEADLINE_S = 3600.0
# One document through ExtractDocument (the CLI's --deadline default).
DOCUMENT_DEADLINE_S = 600.0
UPLOAD_PIECE_BYTES = 1024 * 1024
# Documents uploaded at once: enough to keep a server's workers busy while the next one is read and sent.
UPLOADS_IN_FLIGHT = 4


@dataclass
class ExtractionOutcome:
    chunks_uri: str
    card_uri: str
    documents: int
    documents_failed: int
    chunks: int
    chunks_extracted: int
    failures: list[dict[str, str]] = field(default_factory=list)


@dataclass
class DocumentChunks:
    """One document's chunks.jsonl records and what its result said, whichever path extracted it."""

    source: str
    records: list[dict[str, Any]] = field(default_factory=list)
    doc_id: str = ""
    pages: int = 0
    warnings: list[str] = field(default_factory=list)
    failure: tuple[str, str] | None = None  # (status name, one-line reason)
    pages_recovered: int = 0
    pages_unrecoverable: int = 0
    non_content: dict[str, int] = field(default_factory=dict)  # characters left out, by reason


def chunking_options(max_tokens: int = 0, overlap_tokens: int = 0, backend: str = "") -> extraction_pb2.ChunkingOptions:
    """The request's options; 0 and "" leave a knob to the service's setting."""
    if max_tokens < 0 or overlap_tokens < 0:
        raise InvalidInput("max_tokens and overlap_tokens must be >= 0")
    return extraction_pb2.ChunkingOptions(max_tokens=max_tokens, overlap_tokens=overlap_tokens, backend=backend,
                                          chunks_per_event=CHUNKS_PER_EVENT)


def documents_of(events: Iterable[extraction_pb2.ExtractionEvent]) -> Iterator[DocumentChunks]:
    """A stream's documents in order: each one's chunks, completed by its result event."""
    records: list[dict[str, Any]] = []
    for event in events:
        if not event.HasField("result"):
            records.extend(chunk_record(chunk) for chunk in chunks_of(event))
            continue
        result = event.result
        failure = (result.failure.code, result.failure.message) if result.HasField("failure") else None
        yield DocumentChunks(
            source=result.source, records=records, doc_id=result.doc_id, pages=result.pages,
            warnings=list(result.warnings), failure=failure, pages_recovered=result.pages_recovered,
            pages_unrecoverable=result.pages_unrecoverable,
            non_content=dict(sorted(result.non_content_chars.items())))
        records = []


def extract_batch(address: str, uris: list[str], options: extraction_pb2.ChunkingOptions, *,
                  deadline_s: float = EXTRACT_DEADLINE_S, request_id: str = "") -> Iterator[DocumentChunks]:
    """ExtractBatch: the service reads the URIs (files, or prefixes/ it lists for *.pdf) itself."""
    request = extraction_pb2.ExtractBatchRequest(request_id=request_id, uris=uris, options=options)
    with client.open_channel(address) as channel:
        stub = extraction_pb2_grpc.ExtractionServiceStub(channel)
        yield from documents_of(client.stream(stub.ExtractBatch, request, deadline_s=deadline_s))


def upload_requests(source: str, data: bytes, options: extraction_pb2.ChunkingOptions,
                    password: str = "") -> Iterator[extraction_pb2.ExtractDocumentRequest]:
    """ExtractDocument's request stream for one document: its header, then its bytes in pieces."""
    yield extraction_pb2.ExtractDocumentRequest(header=extraction_pb2.DocumentHeader(
        source_name=source, password=password, options=options))
    for start in range(0, len(data), UPLOAD_PIECE_BYTES):
        yield extraction_pb2.ExtractDocumentRequest(data=data[start : start + UPLOAD_PIECE_BYTES])


def extract_uploaded(address: str, sources: list[tuple[str, Callable[[], bytes]]],
                     options: extraction_pb2.ChunkingOptions, *, password: str = "",
                     deadline_s: float = DOCUMENT_DEADLINE_S) -> Iterator[DocumentChunks]:
    """ExtractDocument for each (name, read bytes) in order, UPLOADS_IN_FLIGHT at a time. A document that
    cannot be read or fails on the server comes back with its failure; the others go on."""

    def extract_one(stub: Any, source: str, load: Callable[[], bytes]) -> DocumentChunks:
        try:
            data = load()
        except DomainError as error:
            return DocumentChunks(source, failure=(error.code_name, error.message))
        try:
            events = client.stream(stub.ExtractDocument, lambda: upload_requests(source, data, options, password),
                                   deadline_s=deadline_s)
            documents = list(documents_of(events))  # one: its chunks, then the result that ends the stream
            return documents[0] if documents else DocumentChunks(
                source, failure=("INTERNAL", "the server sent no result for this document"))
        except grpc.RpcError as error:
            code = error.code()
            return DocumentChunks(source, failure=(code.name if code else "UNKNOWN",
                                                   (error.details() or "").replace("\n", " ")))

    with client.open_channel(address) as channel, ThreadPoolExecutor(UPLOADS_IN_FLIGHT) as pool:
        stub = extraction_pb2_grpc.ExtractionServiceStub(channel)
        yield from pool.map(lambda item: extract_one(stub, *item), sources)


def corpus_uris(docs_uri: str) -> list[str]:
    """One PDF stays a file URI; anything else is a prefix the service lists for *.pdf."""
    uri = storage.to_uri(docs_uri)
    return [uri] if uri.lower().endswith(".pdf") else [as_prefix(uri)]


def extract_corpus(docs_uri: str, work_uri: str, extraction_address: str, *, max_tokens: int = 0,
                   overlap_tokens: int = 0, backend: str = "", max_chunks: int = 0, sample_seed: int = 0,
                   deadline_s: float = EXTRACT_DEADLINE_S) -> ExtractionOutcome:
    """Call ExtractBatch on the corpus and write `<work_uri>/chunks.jsonl` and its card."""
    if max_chunks < 0:
        raise InvalidInput("max_chunks must be >= 0")
    options = chunking_options(max_tokens, overlap_tokens, backend)
    chunks: list[dict[str, Any]] = []
    documents: list[dict[str, Any]] = []
    failures: list[dict[str, str]] = []
    for document in extract_batch(extraction_address, corpus_uris(docs_uri), options, deadline_s=deadline_s,
                                  request_id="pipeline-extract"):
        chunks.extend(document.records)
        if document.failure is not None:
            failure = {"item_id": document.source, "code": document.failure[0], "message": document.failure[1]}
            failures.append(failure)
            log.warning("document failed: %s: %s %s", failure["item_id"], failure["code"], failure["message"])
        documents.append({"doc_id": document.doc_id, "source": document.source, "pages": document.pages,
                          "chunks": len(document.records), "warnings": document.warnings,
                          "failed": document.failure is not None, "pages_recovered": document.pages_recovered,
                          "pages_unrecoverable": document.pages_unrecoverable,
                          "non_content_chars": document.non_content})
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
