"""Chunks in, filtered pairs out: the bounded-concurrency loop over the teacher, with cache and budget.

Chunks are worked on by `max_concurrency` threads; results come back in input order as soon as every
earlier chunk is done, and the near-duplicate check runs in that order too, so the same chunks give the
same pairs whatever the concurrency. One chunk's failure becomes a ChunkFailure event and the run goes on;
only a teacher that refuses every request (bad key, unknown model) or cannot be reached at all for
several chunks in a row ends the run, after what was done has been streamed and cached.
"""

from __future__ import annotations

import logging
import threading
from collections import Counter
from collections.abc import Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import TypeAlias

from doc2slm_common.errors import UpstreamUnavailable

from doc2slm_qagen import chunkwork
from doc2slm_qagen.cache import TeacherCache
from doc2slm_qagen.chunkwork import ChunkFailure, ChunkResult, WorkPlan
from doc2slm_qagen.records import ChunkRecord, PairRecord
from doc2slm_qagen.teacher import TeacherClient
from doc2slm_qagen.textsim import NearDuplicateIndex

log = logging.getLogger("doc2slm.qagen.generate")


@dataclass
class RunSummary:
    chunks_total: int = 0
    chunks_with_pair: int = 0
    pairs_kept: int = 0
    teacher_calls: int = 0
    chunks_cached: int = 0
    chunks_failed: int = 0
    chunks_not_started: int = 0
    dropped: Counter[str] = field(default_factory=Counter)
    stopped_by_budget: bool = False
    completion_tokens: int = 0
    paraphrases: int = 0


Event: TypeAlias = PairRecord | ChunkFailure | RunSummary


class PairGenerator:
    def __init__(self, teacher: TeacherClient, cache: TeacherCache | None, plan: WorkPlan,
                 max_concurrency: int, unreachable_abort_after: int = 3) -> None:
        if max_concurrency < 1:
            raise ValueError("max_concurrency must be >= 1")
        self.teacher = teacher
        self.plan = plan
        self.max_concurrency = max_concurrency
        self._worker = chunkwork.ChunkWorker(teacher, cache, plan)
        self._stop = threading.Event()
        self._lock = threading.Lock()
        self._unreachable_streak = 0
        self._unreachable_abort_after = unreachable_abort_after
        self._fatal: str | None = None

    def _run_one(self, chunk: ChunkRecord) -> ChunkResult:
        if self._stop.is_set():
            return ChunkResult(chunk=chunk, not_started=True)
        result = self._worker.process(chunk)
        with self._lock:
            if result.failure and result.failure.fatal:
                self._fatal = self._fatal or result.failure.message
                self._stop.set()
            elif result.failure and result.failure.unreachable:
                self._unreachable_streak += 1
                if self._unreachable_streak >= self._unreachable_abort_after:
                    self._fatal = self._fatal or (
                        f"teacher at {self.teacher.config.base_url} unreachable for "
                        f"{self._unreachable_streak} chunks in a row: {result.failure.message}")
                    self._stop.set()
            elif not result.not_started:
                self._unreachable_streak = 0
            if result.budget_stopped:
                self._stop.set()
        return result

    def run(self, chunks: Sequence[ChunkRecord]) -> Iterator[Event]:
        """Pairs and failures in chunk order, then one RunSummary; raises UpstreamUnavailable after the
        summary when the teacher refused or could not be reached."""
        summary = RunSummary(chunks_total=len(chunks))
        seen_questions = NearDuplicateIndex(self.plan.near_duplicate_threshold)
        executor = ThreadPoolExecutor(max_workers=self.max_concurrency, thread_name_prefix="qagen")
        try:
            futures = [executor.submit(self._run_one, chunk) for chunk in chunks]
            for future in futures:
                result = future.result()
                summary.dropped.update(result.dropped)
                summary.stopped_by_budget |= result.budget_stopped
                if result.not_started or result.budget_stopped:
                    summary.chunks_not_started += 1
                    continue
                if result.failure is not None:
                    summary.chunks_failed += 1
                    yield result.failure
                    continue
                summary.chunks_cached += int(result.cached)
                kept = 0
                for pair in result.pairs:
                    if not seen_questions.add_if_new(pair.question):
                        summary.dropped["near_duplicate"] += 1
                        continue
                    kept += 1
                    summary.paraphrases += int(bool(pair.paraphrase_question))
                    yield pair
                summary.pairs_kept += kept
                summary.chunks_with_pair += int(kept > 0)
        finally:
            # Reached on normal end and when the consumer goes away (a cancelled stream): stop the workers.
            self._stop.set()
            executor.shutdown(wait=False, cancel_futures=True)
        summary.teacher_calls = self.teacher.budget.requests
        summary.completion_tokens = self.teacher.budget.tokens
        log.info("generation finished", extra={"pairs": summary.pairs_kept, "chunks": summary.chunks_total,
                                               "failed": summary.chunks_failed,
                                               "teacher_calls": summary.teacher_calls})
        yield summary
        if self._fatal:
            raise UpstreamUnavailable(self._fatal)
