"""A bounded queue and one worker thread that turns concurrent requests into batched `generate` calls.

Why batches: on a CPU a 135M model is memory-bound, so decoding 4 rows costs little more than 1.
Why one worker: two `generate` calls in parallel only fight for the same cores; the event loop never
waits for it (it is fed through the queue). Why bounded: past `max_queue` waiting requests a new one
is refused at once (the server answers 429 with Retry-After) instead of growing memory and latency.
"""

from __future__ import annotations

import collections
import logging
import threading
import time
from collections.abc import Callable
from typing import Any

from doc2slm_serving.rows import GenerationRequest

log = logging.getLogger(__name__)


class EngineBusy(RuntimeError):
    """The queue is full: retry after a moment (HTTP 429, gRPC RESOURCE_EXHAUSTED)."""


class EngineClosed(RuntimeError):
    """The engine is stopping or not loaded yet (HTTP 503, gRPC UNAVAILABLE)."""


class Batcher:
    """Collects requests for `batch_wait_s`, then runs up to `max_batch_size` of them together."""

    def __init__(self, run_batch: Callable[[list[GenerationRequest]], None], *, max_batch_size: int,
                 max_queue: int, batch_wait_s: float) -> None:
        self._run_batch = run_batch
        self.max_batch_size = max_batch_size
        self.max_queue = max_queue
        self.batch_wait_s = batch_wait_s
        self._pending: collections.deque[GenerationRequest] = collections.deque()
        self._condition = threading.Condition()
        self._closed = True
        self._thread: threading.Thread | None = None
        self.running = 0
        self.batches_run = 0
        self.rejected = 0

    @property
    def queue_depth(self) -> int:
        return len(self._pending)

    def start(self) -> None:
        with self._condition:
            if self._thread is not None:
                return
            self._closed = False
            self._thread = threading.Thread(target=self._work, name="doc2slm-generate", daemon=True)
            self._thread.start()

    def submit(self, request: GenerationRequest) -> None:
        with self._condition:
            if self._closed:
                raise EngineClosed("the model server is not accepting requests (starting or stopping)")
            if len(self._pending) >= self.max_queue:
                self.rejected += 1
                raise EngineBusy(f"{len(self._pending)} requests are already waiting (queue limit "
                                 f"{self.max_queue}); retry shortly")
            self._pending.append(request)
            self._condition.notify()

    def close(self, timeout_s: float = 30.0) -> None:
        """Refuse new requests, fail the waiting ones, let the running batch finish."""
        with self._condition:
            self._closed = True
            waiting = list(self._pending)
            self._pending.clear()
            self._condition.notify_all()
        for request in waiting:
            request.sink.on_error(EngineClosed("the model server is stopping"))
        if self._thread is not None:
            self._thread.join(timeout_s)
            self._thread = None

    def _take_batch(self) -> list[GenerationRequest] | None:
        with self._condition:
            while not self._pending and not self._closed:
                self._condition.wait()
            if self._closed:
                return None
            # Requests that arrive together (a client fanning out) should share one batch.
            deadline = time.monotonic() + self.batch_wait_s
            while len(self._pending) < self.max_batch_size and not self._closed:
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    break
                self._condition.wait(remaining)
            batch = self._pop(self.max_batch_size)
            self.running = len(batch)
            return batch

    def take_joiners(self, room: int) -> list[GenerationRequest]:
        """Continuous batching: up to `room` waiting requests, at once, for an engine whose running batch
        has free rows (called from inside `run_batch`, between decoding steps; never waits)."""
        if room <= 0 or not self._pending:  # unlocked peek: a request missed now joins at the next step
            return []
        with self._condition:
            joiners = [] if self._closed else self._pop(room)
            self.running += len(joiners)
            return joiners

    def _pop(self, limit: int) -> list[GenerationRequest]:
        """Up to `limit` waiting requests, oldest first; cancelled ones are finished, not returned."""
        taken: list[GenerationRequest] = []
        while self._pending and len(taken) < limit:
            request = self._pending.popleft()
            if request.cancelled.is_set():
                request.sink.on_finish("cancelled", len(request.prompt_ids), 0)
            else:
                taken.append(request)
        return taken

    def _work(self) -> None:
        while True:
            batch = self._take_batch()
            if batch is None:
                return
            if not batch:
                continue
            try:
                self._run_batch(batch)
            except BaseException as error:  # one bad batch must not kill the worker
                log.exception("generation failed for a batch of %d", len(batch))
                for request in batch:
                    _fail(request, error)
            finally:
                self.running = 0
                self.batches_run += 1


def _fail(request: GenerationRequest, error: BaseException) -> None:
    try:
        request.sink.on_error(error)
    except Exception:  # a broken sink is the client's loss, not the worker's
        log.exception("error sink failed")


def describe(batcher: Batcher) -> dict[str, Any]:
    return {"queue_depth": batcher.queue_depth, "running": batcher.running,
            "batches_run": batcher.batches_run, "rejected": batcher.rejected}
