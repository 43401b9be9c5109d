"""The extraction library: PDF bytes to chunks, in parallel across documents and across pages.

Parsing happens only in worker processes (see worker_pool); this process cleans, chunks and hashes.
Used in-process by the CLI and the pipeline, and by the gRPC servicer.
"""

from __future__ import annotations

import collections
import itertools
import logging
import threading
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
from doc2slm_extraction.worker_pool import Lease, WorkerPool

log = logging.getLogger(__name__)
MIN_PAGES_PER_TASK = 8
# A helper has to open the document again (pypdf: the time of a few pages), so it joins only when at least
# this many pages are left.
MIN_PAGES_TO_HELP = 2 * MIN_PAGES_PER_TASK


@dataclass(frozen=True)
class _Extracted:
    total_pages: int
    ranges: list[PageRangeResult]  # raw characters and recovered pages of each range
    finished: FinishedDocument


class Extractor:
    """Owns the worker pool; thread-safe, so one instance serves every request of the service."""

    def __init__(self, settings: ExtractionSettings, *, start_in_background: bool = False) -> None:
        """start_in_background: return before the workers are up (WorkerPool's in_background). The workers
        preload the settings' backend only; a request for the other one imports it in a worker on first use
        (pypdfium2 0.07 s, pypdf 0.15 s of CPU), which every start of a command-line run would pay otherwise."""
        self.settings = settings
        self.pool = WorkerPool(settings.worker_count, settings.doc_memory_mb, settings.max_tasks_per_worker,
                               preload=(settings.backend,), in_background=start_in_background)
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

    def _run(self, lease: Lease, task: Task, deadline: float) -> TaskResult:
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            raise TimeLimitExceeded(f"extraction took longer than {self.settings.doc_timeout_s:g} s")
        return lease.run(task, remaining)

    def _extract_pages(self, data: bytes, password: str, spec: FinishSpec, ticket: int | None) -> _Extracted:
        """Pages, raw characters and the finished document. One worker takes the document and keeps it open:
        its first range tells the page count (and a short document is cleaned and chunked in the same task),
        then it goes on range by range. A worker that is free while no other document waits for one joins in
        (see _PageCursor), so that a large document, or the last one of a batch, keeps every core busy."""
        deadline = time.monotonic() + self.settings.doc_timeout_s

        def request(first: int, stop: int, finish: FinishSpec | None = None) -> PageRangeRequest:
            return PageRangeRequest(data, spec.options.backend, password, first, stop, self.settings.max_pages,
                                    finish, cache_key=spec.doc_id)

        with self.pool.lease(ticket) as lease:
            # While other documents wait for workers the first range is a whole task's worth (a short document
            # is done in one task); otherwise a short one, so that a free worker can join in soon.
            step = self.settings.pages_per_task
            first_stop = step if self.pool.waited_for() else min(step, MIN_PAGES_PER_TASK)
            first = self._run(lease, request(0, first_stop, spec), deadline)
            assert isinstance(first, PageRangeResult)
            if first.finished is not None:
                return _Extracted(first.total_pages, [first], first.finished)
            cursor = _PageCursor(len(first.pages), first.total_pages, step, self.pool.size)
            extracted = [first]
            helpers: list[Future[list[PageRangeResult]]] = []

            def run_ranges(worker: Lease, helping: bool) -> list[PageRangeResult]:
                done = []
                while not (helping and self.pool.waited_for()) and (pages := cursor.take()) is not None:
                    if not helping and self.pool.spare() and cursor.left() >= MIN_PAGES_TO_HELP:
                        extra = self.pool.try_lease()
                        if extra is not None:
                            helpers.append(self._task_threads.submit(help_with, extra))
                    result = self._run(worker, request(*pages), deadline)
                    assert isinstance(result, PageRangeResult)
                    done.append(result)
                return done

            def help_with(extra: Lease) -> list[PageRangeResult]:
                with extra:
                    return run_ranges(extra, helping=True)

            try:
                extracted += run_ranges(lease, helping=False)
                for helper in helpers:
                    extracted += helper.result()
            finally:
                cursor.stop()  # a failure ends the document: helpers stop after their current range
            extracted.sort(key=lambda result: result.first_page)
            pages = [text for result in extracted for text in result.pages]
            finished = self._run(lease, AssembleRequest(pages, spec), deadline)
        assert isinstance(finished, FinishedDocument)
        return _Extracted(first.total_pages, extracted, finished)

    def extract(self, data: bytes, source: str, options: ChunkingOptions, password: str = "",
                ticket: int | None = None) -> DocumentOutcome:
        """Chunks of one document; raises the typed error of a bad document. ticket: its place in the queue
        for workers (WorkerPool.ticket), taken now when not given."""
        started = time.monotonic()
        self.check_size(len(data))
        doc_id = document_id(data)
        spec = FinishSpec(doc_id, source, options, self.settings.max_chunks_per_doc)
        extracted = self._extract_pages(data, password, spec, ticket)
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

    def _extract_source(self, source: DocumentSource, options: ChunkingOptions, ticket: int) -> DocumentOutcome:
        started = time.monotonic()
        try:
            return self.extract(source.load(), source.name, options, source.password, ticket)
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
        """Outcomes in input order, documents extracted in parallel; a bad document fails alone. The first
        documents start at the call, not at the first next(): a caller's own start-up overlaps them."""
        window = 2 * self.pool.size  # documents in flight: enough to keep workers busy, bounded memory
        # As many documents active as in flight: while one waits for a worker, it is ready the moment one
        # is free.
        documents = ThreadPoolExecutor(window, thread_name_prefix="extract-doc")
        remaining = iter(sources)
        # Tickets taken here, in input order: documents get workers in that order, whichever reads its file first.
        pending = collections.deque(documents.submit(self._extract_source, source, options, self.pool.ticket())
                                    for source in itertools.islice(remaining, window))
        return self._in_order(documents, pending, remaining, options)

    def _in_order(self, documents: ThreadPoolExecutor, pending: collections.deque[Future[DocumentOutcome]],
                  remaining: Iterator[DocumentSource], options: ChunkingOptions) -> Iterator[DocumentOutcome]:
        window = len(pending)
        try:
            while pending:
                yield pending.popleft().result()
                for source in itertools.islice(remaining, window - len(pending)):
                    pending.append(documents.submit(self._extract_source, source, options, self.pool.ticket()))
        finally:
            for future in pending:
                future.cancel()
            documents.shutdown(wait=True)

    def close(self) -> None:
        self._task_threads.shutdown(wait=False, cancel_futures=True)
        self.pool.close()

    def __enter__(self) -> Extractor:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


class _PageCursor:
    """The pages of a document not yet given to a worker, handed out as ranges (guided self-scheduling): at
    most pages_per_task, and no more than a 2*workers-th share of what is left, so that workers sharing the
    document near its end finish together; at least MIN_PAGES_PER_TASK while that many are left."""

    def __init__(self, start: int, total: int, pages_per_task: int, workers: int) -> None:
        self._next, self._total = start, total
        self._most, self._workers = pages_per_task, workers
        self._lock = threading.Lock()

    def left(self) -> int:
        return self._total - self._next

    def take(self) -> tuple[int, int] | None:
        with self._lock:
            left = self._total - self._next
            if left <= 0:
                return None
            size = min(self._most, max(MIN_PAGES_PER_TASK, -(-left // (2 * self._workers))), left)
            first, self._next = self._next, self._next + size
            return first, self._next

    def stop(self) -> None:
        with self._lock:
            self._next = self._total
