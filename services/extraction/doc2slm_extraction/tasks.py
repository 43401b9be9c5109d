"""The work a worker process does for one message: extract a page range, or finish a whole document.

Cleaning and chunking run in the workers too, not in the service process: on 2 cores the service's own
thread would otherwise be the bottleneck behind a fast backend (pdfium), and one pathological text
(millions of tiny sentences) is bounded by the same time and memory limits as parsing.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import TypeAlias

from doc2slm_extraction.backends import PageRangeRequest, PageRangeResult, extract_page_range
from doc2slm_extraction.chunking import chunk_text
from doc2slm_extraction.cleaning import assemble_document
from doc2slm_extraction.documents import FinishedDocument, FinishSpec, build_chunks


@dataclass(frozen=True)
class AssembleRequest:
    """Pages of a document extracted in several ranges, to be cleaned and chunked as one text."""

    pages: list[str]
    spec: FinishSpec


Task: TypeAlias = PageRangeRequest | AssembleRequest
TaskResult: TypeAlias = PageRangeResult | FinishedDocument


def finish_document(pages: list[str], spec: FinishSpec) -> FinishedDocument:
    document = assemble_document(pages)
    options = spec.options
    spans = chunk_text(document.text, options.max_tokens, options.overlap_tokens, options.min_tokens,
                       spec.max_chunks)
    non_content = dict(document.chars_non_content)
    if document.chars_removed_running:
        non_content["running_lines"] = document.chars_removed_running
    return FinishedDocument(
        chunks=build_chunks(spec.doc_id, spec.source, document, spans),
        chars_kept=len(document.text),
        empty_pages=[number for number, text in enumerate(pages, start=1) if not text.strip()],
        non_content=dict(sorted(non_content.items())),
    )


def run_task(task: Task) -> TaskResult:
    if isinstance(task, AssembleRequest):
        return finish_document(task.pages, task.spec)
    result = extract_page_range(task)
    if task.finish is not None and task.first_page == 0 and len(result.pages) == result.total_pages:
        return replace(result, pages=[], finished=finish_document(result.pages, task.finish))
    return result
