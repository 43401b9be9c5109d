"""What extraction produces: chunks with provenance and one outcome per document, plus their ids."""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from doc2slm_common.errors import DomainError
from doc2slm_common.extraction_events import chunk_record

from doc2slm_extraction.chunking import Span
from doc2slm_extraction.cleaning import CleanedDocument


@dataclass(frozen=True)
class Chunk:
    doc_id: str
    chunk_id: str
    source: str
    page_start: int
    page_end: int
    text: str
    n_tokens: int
    char_start: int
    char_end: int

    def to_record(self) -> dict[str, Any]:
        """The chunks.jsonl record, the same one the clients of the service write (extraction_events)."""
        return chunk_record(self)

    def proto_fields(self) -> dict[str, Any]:
        """The fields of the proto message doc2slm.v1.Chunk, as keyword arguments."""
        # Spelled out: dataclasses.asdict deep-copies and cost a tenth of the service's time on 2 cores.
        return {
            "doc_id": self.doc_id, "chunk_id": self.chunk_id, "source": self.source,
            "page_start": self.page_start, "page_end": self.page_end, "text": self.text,
            "n_tokens": self.n_tokens, "char_start": self.char_start, "char_end": self.char_end,
        }


@dataclass(frozen=True)
class ChunkingOptions:
    max_tokens: int
    overlap_tokens: int
    min_tokens: int
    backend: str


@dataclass(frozen=True)
class FinishSpec:
    """What a worker needs to turn a document's pages into chunks."""

    doc_id: str
    source: str
    options: ChunkingOptions
    max_chunks: int


@dataclass(frozen=True)
class FinishedDocument:
    chunks: list[Chunk]
    chars_kept: int
    empty_pages: list[int]  # 1-based numbers of pages without text
    # Characters left out by reason: running_lines (headers, footers, page numbers) and non_content.REASONS.
    non_content: dict[str, int] = field(default_factory=dict)


@dataclass
class DocumentOutcome:
    source: str
    doc_id: str = ""
    pages: int = 0
    chunks: list[Chunk] = field(default_factory=list)
    chars_raw: int = 0
    chars_kept: int = 0
    warnings: list[str] = field(default_factory=list)
    failure: DomainError | None = None
    seconds: float = 0.0
    # Pages whose text did not read as words (text_quality): fixed by another reader, or not.
    pages_recovered: int = 0
    pages_unrecoverable: int = 0
    non_content: dict[str, int] = field(default_factory=dict)  # as FinishedDocument.non_content


@dataclass(frozen=True)
class DocumentSource:
    """A document to extract: its name and how to get its bytes (read only when a worker is ready)."""

    name: str
    load: Callable[[], bytes]
    password: str = ""


def document_id(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def chunk_id(doc_id: str, span: Span, text: str) -> str:
    # The span alone would collide across backends or option changes that alter the cleaned text; with
    # the text in the hash an id always names exactly one piece of text of one document.
    digest = hashlib.sha256(f"{doc_id}:{span.char_start}:{span.char_end}:".encode())
    digest.update(text.encode("utf-8"))
    return digest.hexdigest()[:32]


def build_chunks(doc_id: str, source: str, document: CleanedDocument, spans: list[Span]) -> list[Chunk]:
    chunks = []
    for span in spans:
        text = document.text[span.char_start : span.char_end]
        chunks.append(Chunk(
            doc_id=doc_id,
            chunk_id=chunk_id(doc_id, span, text),
            source=source,
            page_start=document.page_at(span.char_start),
            page_end=document.page_at(span.char_end - 1),
            text=text,
            n_tokens=span.n_tokens,
            char_start=span.char_start,
            char_end=span.char_end,
        ))
    return chunks


def _shown(pages: list[int]) -> str:
    return ", ".join(str(page) for page in pages[:10]) + (", ..." if len(pages) > 10 else "")


def recovery_warnings(recovered: dict[int, str], unrecoverable: list[int], total_pages: int) -> list[str]:
    """Readable warnings about pages whose words ran together (or were unreadable), fixed or not."""
    warnings = []
    by_reader: dict[str, list[int]] = {}
    for page, reader in sorted(recovered.items()):
        by_reader.setdefault(reader, []).append(page)
    for reader, pages in by_reader.items():
        warnings.append(f"{len(pages)} of {total_pages} pages did not read as words (run together or unmapped "
                        f"characters) and were extracted again with {reader}: {_shown(pages)}")
    if unrecoverable:
        warnings.append(f"{len(unrecoverable)} of {total_pages} pages do not read as words with any reader "
                        f"(run together or unmapped characters); their text is kept as it is: "
                        f"{_shown(unrecoverable)}")
    return warnings


def empty_page_warning(empty_pages: list[int], total_pages: int) -> str | None:
    """One readable warning about pages without a text layer (scans), or None."""
    if not empty_pages:
        return None
    if len(empty_pages) == total_pages:
        return (f"no extractable text on any of the {total_pages} pages (scanned images?): no chunks; "
                "run OCR on it first")
    return (f"{len(empty_pages)} of {total_pages} pages have no extractable text (empty or scanned): "
            f"{_shown(empty_pages)}")
