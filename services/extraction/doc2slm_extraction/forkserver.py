"""The forkserver the extraction workers come from, and how to start it early.

Workers come from a forkserver, so they never inherit the gRPC server's threads. It imports the task code
and the PDF backends once, in its own process, so each new worker starts in milliseconds. This module
imports nothing else, so that a command line run can start the forkserver before its own imports (grpc,
pydantic: a quarter of a second of CPU) and both proceed at once on two cores.
"""

from __future__ import annotations

import contextlib
import multiprocessing
import multiprocessing.forkserver
import sys
from collections.abc import Iterator
from multiprocessing.context import BaseContext
from typing import Any

TASK_MODULE = "doc2slm_extraction.tasks"
EXIT_MODULE = "doc2slm_extraction.forkserver_exit"  # the forkserver's own: it ends without teardown
BACKEND_MODULES = ("pypdf", "pypdfium2")


def forkserver_context(backends: tuple[str, ...] = BACKEND_MODULES) -> BaseContext:
    """The forkserver context, preloading the task code and the backends named (a backend not named is
    imported by a worker when a task needs it). The preload of the forkserver's first start holds."""
    context = multiprocessing.get_context("forkserver")
    context.set_forkserver_preload([TASK_MODULE, *backends, EXIT_MODULE])
    return context


def start_forkserver(backends: tuple[str, ...] = BACKEND_MODULES) -> None:
    """Start the forkserver now and return at once; it imports in its own process meanwhile."""
    forkserver_context(backends)
    with main_module_hidden():
        multiprocessing.forkserver.ensure_running()


@contextlib.contextmanager
def main_module_hidden() -> Iterator[None]:
    """Start processes without the parent's __main__: multiprocessing would make the forkserver run the
    parent's script again (the doc2slm CLI, a notebook, or stdin, which fails), and workers need nothing
    from it."""
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
