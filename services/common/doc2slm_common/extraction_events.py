"""Reading ExtractionService's event streams the same way in every client (CLI, pipeline, benchmarks).

A stream holds, per document, its chunks and then its result. Chunks come one per `chunk` event, or, when
the request set options.chunks_per_event above 1, several per `chunks` event: one gRPC message costs a
Python client about 80 us of CPU (measured on loopback, 2026-11-28), more than parsing a 1 KB chunk, and a
300-page manual gives about 1,400 chunks.
"""

from __future__ import annotations

from collections.abc import Sequence

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
