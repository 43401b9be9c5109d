"""Worker processes with a memory limit each and a time limit per task; a dead or stuck worker is replaced.

concurrent.futures and multiprocessing.Pool cannot kill one task that runs too long, and a worker killed
by the kernel breaks the whole ProcessPoolExecutor. Here every worker has its own pipe: the calling thread
sends one task, waits with a timeout, and on timeout or death kills that worker and starts a fresh one.
Workers come from a forkserver, so they never inherit the gRPC server's threads.
"""

from __future__ import annotations

import contextlib
import logging
import multiprocessing
import queue
import resource
import signal
import sys
import threading
import time
from collections.abc import Iterator
from multiprocessing.connection import Connection
from typing import Any

from doc2slm_common.errors import (
    DomainError,
    EncryptedDocument,
    InvalidInput,
    LimitExceeded,
    TimeLimitExceeded,
)

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


@contextlib.contextmanager
def _main_module_hidden() -> Iterator[None]:
    """Start workers without the parent's __main__: multiprocessing would make each worker run the parent's
    script again (the doc2slm CLI, a notebook, or stdin, which fails), and workers need nothing from it."""
    main = sys.modules.get("__main__")
    saved: dict[str, Any] = {
        key: main.__dict__[key] for key in ("__spec__", "__file__") if main and key in main.__dict__
    }
    if main is not None:
        main.__dict__["__spec__"] = None
        main.__dict__.pop("__file__", None)
    try:
        yield
    finally:
        if main is not None:
            main.__dict__.update(saved)


class _Worker:
    def __init__(self, context: multiprocessing.context.BaseContext, memory_limit_bytes: int) -> None:
        self.conn, child_conn = context.Pipe()
        self.process = context.Process(  # type: ignore[attr-defined]
            target=_worker_main, args=(child_conn, memory_limit_bytes), daemon=True
        )
        with _main_module_hidden():
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

    def __init__(self, size: int, memory_limit_mb: int, max_tasks_per_worker: int = 200) -> None:
        self._context = multiprocessing.get_context("forkserver")
        # Preloading the backends in the forkserver makes each new worker start in milliseconds.
        self._context.set_forkserver_preload(["doc2slm_extraction.tasks", "pypdf", "pypdfium2"])
        self._memory_limit_bytes = memory_limit_mb * 1024 * 1024
        self._max_tasks = max_tasks_per_worker
        self._idle: queue.SimpleQueue[_Worker] = queue.SimpleQueue()
        self._lock = threading.Lock()
        self._closed = False
        self.size = size
        self.replaced = 0
        # Wait until every worker answers, so the first documents do not pay for the forkserver's start
        # (imports of grpc, pypdf and pdfium: seconds on a busy machine).
        workers = [self._new_worker() for _ in range(size)]
        for worker in workers:
            worker.conn.send(PING)
        for worker in workers:
            try:
                if not worker.conn.poll(STARTUP_TIMEOUT_S):
                    raise TimeoutError(f"no answer within {STARTUP_TIMEOUT_S:g} s")
                worker.conn.recv()
            except (OSError, EOFError) as error:
                for started in workers:
                    started.kill()
                raise RuntimeError(f"extraction worker processes did not start: {error}") from error
            self._idle.put(worker)

    def _new_worker(self) -> _Worker:
        with self._lock:
            return _Worker(self._context, self._memory_limit_bytes)

    def run(self, request: Task, timeout_s: float) -> TaskResult:
        """Run one task on a free worker (waiting for one); raise its typed error, or a limit error."""
        if self._closed:
            raise RuntimeError("worker pool is closed")
        worker = self._idle.get()
        while not worker.process.is_alive():  # died while idle (killed from outside): never blame a task
            worker.kill()
            self.replaced += 1
            worker = self._new_worker()
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
                raise self._death_error(worker) from None
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
            raise self._death_error(worker) from None
        finally:
            self._release(worker, keep and worker.tasks_done < self._max_tasks)

    def _death_error(self, worker: _Worker) -> DomainError:
        worker.process.join(timeout=5)
        code = worker.process.exitcode
        if code is not None and code < 0 and -code in _OUT_OF_MEMORY_SIGNALS:
            return LimitExceeded(
                f"extraction worker died with signal {signal.Signals(-code).name}: the document needs more "
                f"memory than doc_memory_mb allows"
            )
        return InvalidInput(f"the PDF library crashed on this document (worker exit code {code})")

    def _release(self, worker: _Worker, keep: bool) -> None:
        if keep and not self._closed:
            self._idle.put(worker)
            return
        worker.kill()
        if not self._closed:
            self.replaced += 1
            self._idle.put(self._new_worker())

    def close(self) -> None:
        """Stop every idle worker; busy ones are stopped when their task returns."""
        self._closed = True
        for _ in range(self.size):
            try:
                self._idle.get_nowait().stop()
            except queue.Empty:
                break

    def __enter__(self) -> WorkerPool:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
