"""Worker processes with a memory limit each and a time limit per task; a dead or stuck worker is replaced.

concurrent.futures and multiprocessing.Pool cannot kill one task that runs too long, and a worker killed
by the kernel breaks the whole ProcessPoolExecutor. Here every worker has its own pipe: the calling thread
sends one task, waits with a timeout, and on timeout or death kills that worker and starts a fresh one.
Workers come from a forkserver, so they never inherit the gRPC server's threads.
"""

from __future__ import annotations

import contextlib
import heapq
import itertools
import logging
import multiprocessing
import queue
import resource
import signal
import threading
import time
from multiprocessing.connection import Connection
from typing import Any

from doc2slm_common.errors import (
    DomainError,
    EncryptedDocument,
    InvalidInput,
    LimitExceeded,
    TimeLimitExceeded,
)

from doc2slm_extraction.forkserver import BACKEND_MODULES, forkserver_context, main_module_hidden
from doc2slm_extraction.tasks import Task, TaskResult, run_task

log = logging.getLogger(__name__)
_ERRORS: dict[str, type[DomainError]] = {
    cls.__name__: cls for cls in (InvalidInput, EncryptedDocument, LimitExceeded, TimeLimitExceeded)
}
# Signals with which a PDF library dies when an allocation fails under the address-space limit.
_OUT_OF_MEMORY_SIGNALS = {signal.SIGABRT, signal.SIGTRAP, signal.SIGKILL, signal.SIGBUS}
PING = "ping"
STARTUP_TIMEOUT_S = 120.0


def _worker_main(conn: Connection, memory_limit_bytes: int) -> None:
    resource.setrlimit(resource.RLIMIT_AS, (memory_limit_bytes, memory_limit_bytes))
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C reaches the parent, which closes the pool
    while True:
        try:
            request = conn.recv()
        except (EOFError, OSError):
            return
        if request is None:
            return
        if request == PING:
            conn.send(("ok", None))
            continue
        try:
            reply: tuple[Any, ...] = ("ok", run_task(request))
        except DomainError as error:
            reply = ("error", type(error).__name__, error.message)
        except MemoryError:
            reply = ("error", "LimitExceeded", "document needs more memory than the worker limit")
        except Exception as error:  # a bug in doc2slm, not in the document: reported as INTERNAL
            logging.getLogger(__name__).exception("extraction task failed")
            reply = ("bug", f"{type(error).__name__}: {error}")
        try:
            conn.send(reply)
        except MemoryError:
            conn.send(("error", "LimitExceeded", "text of the document exceeds the worker memory limit"))


class _Worker:
    def __init__(self, context: multiprocessing.context.BaseContext, memory_limit_bytes: int) -> None:
        self.conn, child_conn = context.Pipe()
        self.process = context.Process(  # type: ignore[attr-defined]
            target=_worker_main, args=(child_conn, memory_limit_bytes), daemon=True
        )
        with main_module_hidden():
            self.process.start()
        child_conn.close()
        self.tasks_done = 0

    def kill(self) -> None:
        if self.process.is_alive():
            self.process.kill()
        self.process.join(timeout=5)
        self.conn.close()

    def stop(self) -> None:
        with contextlib.suppress(OSError):
            self.conn.send(None)
        self.process.join(timeout=2)
        self.kill()


class WorkerPool:
    """A fixed number of extraction workers shared by all threads of the service."""

    def __init__(self, size: int, memory_limit_mb: int, max_tasks_per_worker: int = 200, *,
                 preload: tuple[str, ...] = BACKEND_MODULES, in_background: bool = False) -> None:
        """Start `size` workers and wait until every one answers, so that the first documents do not pay for
        the forkserver's start (imports of grpc, pypdf and pdfium: seconds on a busy machine). With
        in_background the start runs in a thread and the first task waits for it: a command line run gets on
        with its own imports and reading meanwhile (the service waits, so that it is ready when it says so)."""
        self._context = forkserver_context(preload)
        self._memory_limit_bytes = memory_limit_mb * 1024 * 1024
        self._max_tasks = max_tasks_per_worker
        self._idle: queue.SimpleQueue[_Worker] = queue.SimpleQueue()
        self._lock = threading.Lock()
        self._closed = False
        self._queue: list[int] = []  # tickets of the callers waiting in lease(), a heap
        self._queue_changed = threading.Condition()
        self._tickets = itertools.count()
        self.size = size
        self.replaced = 0
        self._start_error: RuntimeError | None = None
        self._started = threading.Event()
        if in_background:
            threading.Thread(target=self._start, name="extract-pool-start", daemon=True).start()
        else:
            self._start()
            self.wait_started()

    def _start(self) -> None:
        workers: list[_Worker] = []
        try:
            workers.extend(self._new_worker() for _ in range(self.size))
            for worker in workers:
                worker.conn.send(PING)
            for worker in workers:
                if not worker.conn.poll(STARTUP_TIMEOUT_S):
                    raise TimeoutError(f"no answer within {STARTUP_TIMEOUT_S:g} s")
                worker.conn.recv()
        except (OSError, EOFError) as error:
            for started in workers:
                started.kill()
            self._start_error = RuntimeError(f"extraction worker processes did not start: {error}")
            self._start_error.__cause__ = error
        else:
            for worker in workers:
                self._put_idle(worker)
        finally:
            self._started.set()

    def wait_started(self) -> None:
        """Return once every worker has answered; raise RuntimeError when they could not start."""
        self._started.wait()
        if self._start_error is not None:
            raise self._start_error

    def _new_worker(self) -> _Worker:
        with self._lock:
            return _Worker(self._context, self._memory_limit_bytes)

    def ticket(self) -> int:
        """A place in the queue for workers, taken now and used by a later lease(ticket)."""
        return next(self._tickets)

    def lease(self, ticket: int | None = None) -> Lease:
        """A free worker held for a run of tasks, waiting for one; callers get workers in the order of their
        tickets (taken at the call when none is given). Release it with Lease.close, or use it as a context
        manager."""
        place = self.ticket() if ticket is None else ticket
        with self._queue_changed:
            heapq.heappush(self._queue, place)
        try:
            self._check_open()
            with self._queue_changed:
                self._queue_changed.wait_for(lambda: self._queue[0] == place and not self._idle.empty())
                worker = self._idle.get_nowait()
        finally:
            with self._queue_changed:
                self._queue.remove(place)
                heapq.heapify(self._queue)
                self._queue_changed.notify_all()
        return self._leased(worker)

    def try_lease(self) -> Lease | None:
        """A free worker held for a run of tasks, or None when none is free now or a caller waits for it."""
        self._check_open()
        with self._queue_changed:
            if self._queue or self._idle.empty():
                return None
            worker = self._idle.get_nowait()
        return self._leased(worker)

    def _put_idle(self, worker: _Worker) -> None:
        with self._queue_changed:
            self._idle.put(worker)
            self._queue_changed.notify_all()

    def _check_open(self) -> None:
        if self._closed:
            raise RuntimeError("worker pool is closed")
        self.wait_started()

    def _leased(self, worker: _Worker) -> Lease:
        while not worker.process.is_alive() and not self._closed:  # died while idle (killed from outside)
            worker = self._replace(worker)
        return Lease(self, worker)

    def spare(self) -> bool:
        """Whether a worker is free that no caller is waiting for: one that may help with a running document."""
        return not self._queue and not self._idle.empty()

    def waited_for(self) -> bool:
        """Whether a caller waits for a worker: a helper gives its worker back."""
        return bool(self._queue)

    def _replace(self, worker: _Worker) -> _Worker:
        """Kill a worker and start another in its place (none once the pool is closed)."""
        worker.kill()
        if self._closed:
            return worker
        self.replaced += 1
        return self._new_worker()

    def _death_error(self, worker: _Worker) -> DomainError:
        worker.process.join(timeout=5)
        code = worker.process.exitcode
        if code is not None and code < 0 and -code in _OUT_OF_MEMORY_SIGNALS:
            return LimitExceeded(
                f"extraction worker died with signal {signal.Signals(-code).name}: the document needs more "
                f"memory than doc_memory_mb allows"
            )
        return InvalidInput(f"the PDF library crashed on this document (worker exit code {code})")

    def _release(self, worker: _Worker) -> None:
        if self._closed:
            worker.kill()
        else:
            self._put_idle(worker if worker.tasks_done < self._max_tasks else self._replace(worker))

    def close(self) -> None:
        """Stop every idle worker; busy ones are stopped when their task returns."""
        self._closed = True
        self._started.wait()
        for _ in range(self.size):
            try:
                self._idle.get_nowait().stop()
            except queue.Empty:
                break

    def __enter__(self) -> WorkerPool:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


class Lease:
    """One worker held for a run of tasks (the page ranges of one document, which it keeps open between them:
    reopening cost pypdf 0.1-0.6 s per manual). A worker that dies or overruns is replaced within the lease."""

    def __init__(self, pool: WorkerPool, worker: _Worker) -> None:
        self._pool = pool
        self._worker = worker

    def run(self, request: Task, timeout_s: float) -> TaskResult:
        """Run one task; raise its typed error, or a limit error."""
        worker = self._worker
        keep = True
        try:
            worker.conn.send(request)
            started = time.monotonic()
            if not worker.conn.poll(timeout_s):
                keep = False
                raise TimeLimitExceeded(
                    "extraction did not finish within the document's time limit (doc_timeout_s); "
                    "its worker was stopped"
                )
            try:
                reply = worker.conn.recv()
            except (EOFError, OSError):
                keep = False
                raise self._pool._death_error(worker) from None
            worker.tasks_done += 1
            log.debug("task done", extra={"seconds": round(time.monotonic() - started, 3)})
            if reply[0] == "ok":
                result: TaskResult = reply[1]
                return result
            if reply[0] == "bug":
                raise RuntimeError(reply[1])
            keep = reply[1] != "LimitExceeded"  # after a failed allocation the heap is suspect
            raise _ERRORS.get(reply[1], InvalidInput)(reply[2])
        except (BrokenPipeError, ConnectionResetError):
            keep = False
            raise self._pool._death_error(worker) from None
        finally:
            if not keep:
                self._worker = self._pool._replace(worker)

    def close(self) -> None:
        self._pool._release(self._worker)

    def __enter__(self) -> Lease:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
