"""The gRPC servicer: decode the request, call the extraction library, stream events back."""

from __future__ import annotations

import logging
import time
from collections.abc import Iterable, Iterator
from typing import Any

from doc2slm.v1 import common_pb2, extraction_pb2, extraction_pb2_grpc
from doc2slm_common import storage
from doc2slm_common.contracts import EXTRACTION
from doc2slm_common.errors import DomainError, InvalidInput
from doc2slm_common.extraction_events import MAX_CHUNKS_PER_EVENT, MAX_EVENT_TEXT_BYTES
from doc2slm_common.server import ServiceBinding

from doc2slm_extraction.documents import ChunkingOptions, DocumentOutcome, DocumentSource
from doc2slm_extraction.extractor import Extractor
from doc2slm_extraction.settings import ExtractionSettings

log = logging.getLogger(__name__)


def _chunk_events(outcome: DocumentOutcome, per_event: int) -> Iterator[extraction_pb2.ExtractionEvent]:
    if per_event <= 1:
        for chunk in outcome.chunks:
            yield extraction_pb2.ExtractionEvent(chunk=chunk.proto_fields())
        return
    batch: list[dict[str, Any]] = []
    text_bytes = 0
    for chunk in outcome.chunks:
        size = len(chunk.text.encode())
        if batch and (len(batch) >= per_event or text_bytes + size > MAX_EVENT_TEXT_BYTES):
            yield extraction_pb2.ExtractionEvent(chunks=extraction_pb2.ChunkBatch(chunks=batch))
            batch, text_bytes = [], 0
        batch.append(chunk.proto_fields())
        text_bytes += size
    if batch:
        yield extraction_pb2.ExtractionEvent(chunks=extraction_pb2.ChunkBatch(chunks=batch))


def outcome_events(outcome: DocumentOutcome, chunks_per_event: int = 1) -> Iterator[extraction_pb2.ExtractionEvent]:
    """The chunks of one document (one per event, or up to chunks_per_event), then its result."""
    yield from _chunk_events(outcome, chunks_per_event)
    failure = None
    if outcome.failure is not None:
        failure = common_pb2.ItemFailure(
            item_id=outcome.source, code=outcome.failure.code_name, message=outcome.failure.message
        )
    yield extraction_pb2.ExtractionEvent(result=extraction_pb2.DocumentResult(
        doc_id=outcome.doc_id, source=outcome.source, pages=outcome.pages, chunks=len(outcome.chunks),
        chars_raw=outcome.chars_raw, chars_kept=outcome.chars_kept, warnings=outcome.warnings,
        failure=failure, seconds=outcome.seconds, pages_recovered=outcome.pages_recovered,
        pages_unrecoverable=outcome.pages_unrecoverable, non_content_chars=outcome.non_content,
    ))


class ExtractionServicer(extraction_pb2_grpc.ExtractionServiceServicer):
    def __init__(self, extractor: Extractor) -> None:
        self.extractor = extractor

    def _options(self, options: extraction_pb2.ChunkingOptions) -> ChunkingOptions:
        if not 0 <= options.chunks_per_event <= MAX_CHUNKS_PER_EVENT:
            raise InvalidInput(f"chunks_per_event {options.chunks_per_event} is outside 0..{MAX_CHUNKS_PER_EVENT}")
        return self.extractor.options(options.max_tokens, options.overlap_tokens, options.backend)

    def _receive(self, requests: Iterator[extraction_pb2.ExtractDocumentRequest]) -> tuple[Any, bytes]:
        first = next(requests, None)
        if first is None or first.WhichOneof("part") != "header":
            raise InvalidInput("the first message of ExtractDocument must be a header")
        header = first.header
        parts: list[bytes] = []
        size = 0
        for request in requests:
            if request.WhichOneof("part") != "data":
                raise InvalidInput("only data messages may follow the header")
            size += len(request.data)
            self.extractor.check_size(size)  # stop reading as soon as the limit is passed
            parts.append(request.data)
        if header.uri:
            if parts:
                raise InvalidInput("give the document either as header.uri or as data messages, not both")
            # The size limit is checked before a byte is read (a 10 GB object never reaches memory).
            return header, storage.read_bytes(header.uri, max_bytes=self.extractor.settings.max_file_bytes)
        return header, b"".join(parts)

    def ExtractDocument(
        self, request_iterator: Iterator[extraction_pb2.ExtractDocumentRequest], context: Any
    ) -> Iterator[extraction_pb2.ExtractionEvent]:
        header, data = self._receive(request_iterator)
        options = self._options(header.options)
        source = header.source_name or header.uri or "document.pdf"
        outcome = self.extractor.extract(data, source, options, header.password)
        log.info("extracted", extra={"source": source, "pages": outcome.pages, "chunks": len(outcome.chunks),
                                     "request_id": header.request_id, "seconds": round(outcome.seconds, 3)})
        yield from outcome_events(outcome, header.options.chunks_per_event)

    def ExtractBatch(
        self, request: extraction_pb2.ExtractBatchRequest, context: Any
    ) -> Iterator[extraction_pb2.ExtractionEvent]:
        if not request.uris:
            raise InvalidInput("ExtractBatch needs at least one URI")
        options = self._options(request.options)
        started = time.monotonic()
        count = 0
        for outcome in self.extractor.extract_many(self._sources(request.uris), options):
            count += 1
            yield from outcome_events(outcome, request.options.chunks_per_event)
        log.info("batch done", extra={"documents": count, "request_id": request.request_id,
                                      "seconds": round(time.monotonic() - started, 3)})

    def _sources(self, uris: Iterable[str]) -> Iterator[DocumentSource]:
        for uri in uris:
            if not uri.endswith("/"):
                yield DocumentSource(uri, _reader(uri, self.extractor.settings.max_file_bytes))
                continue
            try:
                listed = storage.list_uris(uri, ".pdf")
            except DomainError as error:
                yield DocumentSource(uri, _raiser(error))
                continue
            limit = self.extractor.settings.max_file_bytes
            yield from (DocumentSource(item, _reader(item, limit)) for item in listed)


def _reader(uri: str, max_bytes: int) -> Any:
    return lambda: storage.read_bytes(uri, max_bytes=max_bytes)


def _raiser(error: DomainError) -> Any:
    def load() -> bytes:
        raise error

    return load


def build_binding(settings: ExtractionSettings) -> ServiceBinding:
    extractor = Extractor(settings)
    return ServiceBinding(
        contract=EXTRACTION,
        add_to_server=extraction_pb2_grpc.add_ExtractionServiceServicer_to_server,
        servicer=ExtractionServicer(extractor),
        on_stop=extractor.close,
    )
