"""Reading ExtractionService's event streams the same way in every client (CLI, pipeline, benchmarks), and
the chunks.jsonl record every path writes.

A stream holds, per document, its chunks and then its result. Chunks come one per `chunk` event, or, when
the request set options.chunks_per_event above 1, several per `chunks` event: one gRPC message costs a
Python client about 80 us of CPU (measured on loopback, 2026-11-28), more than parsing a 1 KB chunk, and a
300-page manual gives about 1,400 chunks.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # the extraction workers import this module: they need no protobuf
    from doc2slm.v1 import common_pb2, extraction_pb2

# What our own clients ask for: messages of about 64 KB for chunks of 256 tokens.
CHUNKS_PER_EVENT = 64
MAX_CHUNKS_PER_EVENT = 1024
# A `chunks` event holds at most this much chunk text (UTF-8 bytes), far below the message size limits.
MAX_EVENT_TEXT_BYTES = 1 << 20


def chunks_of(event: extraction_pb2.ExtractionEvent) -> Sequence[common_pb2.Chunk]:
    """The chunks an event carries, in order: none for a document's result."""
    kind = event.WhichOneof("event")
    if kind == "chunk":
        return [event.chunk]
    if kind == "chunks":
        return event.chunks.chunks
    return []


def chunk_record(chunk: Any) -> dict[str, Any]:
    """The chunks.jsonl record of a chunk, from the proto message doc2slm.v1.Chunk or the extraction
    library's own Chunk (same field names): the proto's fields plus `pages` [first, last] as DESIGN.md
    spells the record. Field order is fixed, so files are byte-for-byte reproducible whichever path wrote them."""
    return {
        "doc_id": chunk.doc_id, "chunk_id": chunk.chunk_id, "source": chunk.source,
        "page_start": chunk.page_start, "page_end": chunk.page_end, "pages": [chunk.page_start, chunk.page_end],
        "text": chunk.text, "n_tokens": chunk.n_tokens, "char_start": chunk.char_start, "char_end": chunk.char_end,
    }
