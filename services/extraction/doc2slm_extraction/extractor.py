"""The extraction library: PDF bytes to chunks, in parallel across documents and across pages.

Parsing happens only in worker processes (see worker_pool); this process cleans, chunks and hashes.
Used in-process by the CLI and the pipeline, and by the gRPC servicer.
"""

from __future__ import annotations

import collections
import itertools
import logging
import time
from collections.abc import Iterable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass

import grpc
from doc2slm_common.errors import DomainError, InvalidInput, LimitExceeded, TimeLimitExceeded

from doc2slm_extraction.backends import PageRangeRequest, PageRangeResult
from doc2slm_extraction.documents import (
    ChunkingOptions,
    DocumentOutcome,
    DocumentSource,
    FinishedDocument,
    FinishSpec,
    document_id,
    empty_page_warning,
    recovery_warnings,
)
from doc2slm_extraction.settings import BACKENDS, ExtractionSettings
from doc2slm_extraction.tasks import AssembleRequest, Task, TaskResult
from doc2slm_extraction.worker_pool import WorkerPool

log = logging.getLogger(__name__)
MIN_PAGES_PER_TASK = 8  # below this, opening the document again costs more than the parallelism gains


@dataclass(frozen=True)
class _Extracted:
    total_pages: int
    ranges: list[PageRangeResult]  # raw characters and recovered pages of each range
    finished: FinishedDocument


class Extractor:
    """Owns the worker pool; thread-safe, so one instance serves every request of the service."""

    def __init__(self, settings: ExtractionSettings) -> None:
        self.settings = settings
        self.pool = WorkerPool(settings.worker_count, settings.doc_memory_mb, settings.max_tasks_per_worker)
        # Threads only wait on workers; twice the pool keeps every worker busy while results are sent.
        self._task_threads = ThreadPoolExecutor(2 * self.pool.size, thread_name_prefix="extract-task")

    def options(self, max_tokens: int = 0, overlap_tokens: int = 0, backend: str = "") -> ChunkingOptions:
        """Request options over the settings' defaults (0 or "" means default); bad values are InvalidInput."""
        size = max_tokens or self.settings.max_tokens
        overlap = overlap_tokens or self.settings.overlap_tokens
        chosen = backend or self.settings.backend
        if size < 32 or size > 8192:
            raise InvalidInput(f"max_tokens {size} is outside 32..8192")
        if overlap < 0 or overlap >= size:
            raise InvalidInput(f"overlap_tokens {overlap} must be at least 0 and below max_tokens {size}")
        if chosen not in BACKENDS:
            raise InvalidInput(f"backend {chosen!r} is not one of {', '.join(BACKENDS)}")
        return ChunkingOptions(size, overlap, min(self.settings.min_chunk_tokens, size), chosen)

    def check_size(self, size: int) -> None:
        if size > self.settings.max_file_bytes:
            raise LimitExceeded(
                f"document has {size} bytes, more than the limit of {self.settings.max_file_bytes} "
                f"(max_file_bytes)"
            )

    def _run(self, task: Task, deadline: float) -> TaskResult:
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            raise TimeLimitExceeded(f"extraction took longer than {self.settings.doc_timeout_s:g} s")
        return self.pool.run(task, remaining)

    def _ranges(self, total: int) -> list[tuple[int, int]]:
        """Page ranges of at most pages_per_task pages, at least one per worker, none tiny."""
        count = max(-(-total // self.settings.pages_per_task), min(self.pool.size, total // MIN_PAGES_PER_TASK))
        bounds = [round(index * total / count) for index in range(count + 1)]
        return list(itertools.pairwise(bounds))

    def _extract_pages(self, data: bytes, password: str, spec: FinishSpec) -> _Extracted:
        """Pages, raw characters and the finished document: one task for a short document; for a long one
        a task that counts its pages, one per range of pages in parallel, and one that cleans and chunks."""
        deadline = time.monotonic() + self.settings.doc_timeout_s
        step = self.settings.pages_per_task

        def request(first: int, stop: int, finish: FinishSpec | None = None) -> PageRangeRequest:
            return PageRangeRequest(data, spec.options.backend, password, first, stop,
                                    self.settings.max_pages, finish, count_only_above=step if finish else 0,
                                    cache_key=spec.doc_id)

        first = self._run(request(0, step, spec), deadline)
        assert isinstance(first, PageRangeResult)
        if first.finished is not None:
            return _Extracted(first.total_pages, [first], first.finished)
        futures = [self._task_threads.submit(self._run, request(start, stop), deadline)
                   for start, stop in self._ranges(first.total_pages)]
        try:
            ranges = [future.result() for future in futures]
        finally:
            for future in futures:
                future.cancel()
        extracted = [result for result in ranges if isinstance(result, PageRangeResult)]
        pages = [text for result in extracted for text in result.pages]
        finished = self._run(AssembleRequest(pages, spec), deadline)
        assert isinstance(finished, FinishedDocument)
        return _Extracted(first.total_pages, extracted, finished)

    def extract(self, data: bytes, source: str, options: ChunkingOptions, password: str = "") -> DocumentOutcome:
        """Chunks of one document; raises the typed error of a bad document."""
        started = time.monotonic()
        self.check_size(len(data))
        doc_id = document_id(data)
        spec = FinishSpec(doc_id, source, options, self.settings.max_chunks_per_doc)
        extracted = self._extract_pages(data, password, spec)
        pages, finished = extracted.total_pages, extracted.finished
        recovered = {page: by for result in extracted.ranges for page, by in result.recovered.items()}
        unrecoverable = [page for result in extracted.ranges for page in result.unrecoverable]
        outcome = DocumentOutcome(
            source=source, doc_id=doc_id, pages=pages, chunks=finished.chunks,
            chars_raw=sum(result.raw_chars for result in extracted.ranges), chars_kept=finished.chars_kept,
            pages_recovered=len(recovered), pages_unrecoverable=len(unrecoverable),
            non_content=finished.non_content,
        )
        outcome.warnings.extend(recovery_warnings(recovered, unrecoverable, pages))
        warning = empty_page_warning(finished.empty_pages, pages)
        if warning:
            outcome.warnings.append(warning)
        outcome.seconds = time.monotonic() - started
        return outcome

    def _extract_source(self, source: DocumentSource, options: ChunkingOptions) -> DocumentOutcome:
        started = time.monotonic()
        try:
            return self.extract(source.load(), source.name, options, source.password)
        except DomainError as error:
            failure = error
        except Exception as error:  # a bug must not end the batch: this document fails as INTERNAL
            log.exception("extraction failed", extra={"source": source.name})
            failure = DomainError(f"internal error ({type(error).__name__})")
            failure.code = grpc.StatusCode.INTERNAL
        return DocumentOutcome(source=source.name, failure=failure, seconds=time.monotonic() - started)

    def extract_many(
        self, sources: Iterable[DocumentSource], options: ChunkingOptions
    ) -> Iterator[DocumentOutcome]:
        """Outcomes in input order, documents extracted in parallel; a bad document fails alone."""
        window = 2 * self.pool.size  # documents in flight: enough to keep workers busy, bounded memory
        pending: collections.deque[Future[DocumentOutcome]] = collections.deque()
        # As many documents active as in flight: while one waits for its last range or its assembly,
        # another's ranges keep the workers busy.
        with ThreadPoolExecutor(window, thread_name_prefix="extract-doc") as documents:
            try:
                for source in sources:
                    pending.append(documents.submit(self._extract_source, source, options))
                    while len(pending) >= window or (pending and pending[0].done()):
                        yield pending.popleft().result()
                while pending:
                    yield pending.popleft().result()
            finally:
                for future in pending:
                    future.cancel()

    def close(self) -> None:
        self._task_threads.shutdown(wait=False, cancel_futures=True)
        self.pool.close()

    def __enter__(self) -> Extractor:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
