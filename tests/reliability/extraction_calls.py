"""Calls to the real ExtractionService used by several scenarios, sync and asyncio, plus test documents."""

from __future__ import annotations

import functools
from collections.abc import Iterator
from dataclasses import dataclass, field

import grpc
from doc2slm.v1 import extraction_pb2, extraction_pb2_grpc
from doc2slm_common import client
from doc2slm_common.extraction_events import chunks_of

PART_BYTES = 64 * 1024


@functools.lru_cache(maxsize=8)
def manual_pdf(pages: int, seed: int = 1) -> bytes:
    """A real multi-page PDF (fpdf2), built once per size: building dominates small extractions."""
    from doc2slm_extraction.testing_pdfs import multipage_pdf

    return multipage_pdf(pages=pages, seed=seed)


def document_requests(data: bytes, name: str) -> Iterator[extraction_pb2.ExtractDocumentRequest]:
    yield extraction_pb2.ExtractDocumentRequest(header=extraction_pb2.DocumentHeader(source_name=name))
    for start in range(0, len(data), PART_BYTES):
        yield extraction_pb2.ExtractDocumentRequest(data=data[start:start + PART_BYTES])


@dataclass
class ExtractedDocument:
    chunk_ids: list[str] = field(default_factory=list)
    results: int = 0
    failure_code: str = ""
    status: str = "OK"


def extract_document(address: str, data: bytes, name: str, deadline_s: float = 60.0,
                     retries: int = 0) -> ExtractedDocument:
    """One ExtractDocument call; a failed call is reported in `status`, not raised."""
    outcome = ExtractedDocument()
    with client.open_channel(address) as channel:
        stub = extraction_pb2_grpc.ExtractionServiceStub(channel)
        try:
            for event in client.stream(stub.ExtractDocument, lambda: document_requests(data, name),
                                       deadline_s=deadline_s, retries=retries):
                if not event.HasField("result"):
                    outcome.chunk_ids.extend(chunk.chunk_id for chunk in chunks_of(event))
                else:
                    outcome.results += 1
                    outcome.failure_code = event.result.failure.code if event.result.HasField("failure") else ""
        except grpc.RpcError as error:
            outcome.status = error.code().name
    return outcome
