"""Stop everything a command started when it is told to stop: SIGTERM (a parent's timeout, `kill`), SIGINT
(Ctrl-C) or SIGHUP (the terminal closed).

Python's default SIGTERM ends the process at once, so no `finally` or context manager runs and the
services and the local teacher it started keep listening: the next run then finds their ports taken.
Here the signal becomes an exception that unwinds those blocks. Before raising, the handler sends SIGTERM
to every process below this one: kfp.local waits on its step process without a timeout, and a step
may be starting the predictor, which only the deploy card would name once the step has finished.
"""

from __future__ import annotations

import contextlib
import signal
import threading
from collections.abc import Iterator
from types import FrameType
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # imported when a signal comes: 35 ms of every command's start (doc2slm extract's too)
    import psutil

SIGNALS = (signal.SIGTERM, signal.SIGINT, signal.SIGHUP)
KILL_AFTER_S = 10.0


class Stopped(BaseException):
    """The command was told to stop by a signal (a BaseException, so no `except Exception` swallows it)."""

    status = "CANCELLED"

    def __init__(self, signum: int) -> None:
        self.signum = signum
        self.signal_name = signal.Signals(signum).name
        super().__init__(f"stopped by {self.signal_name}")

    @property
    def exit_code(self) -> int:
        return 128 + self.signum  # what a shell reports for a process ended by that signal


def terminate_descendants() -> list[psutil.Process]:
    """SIGTERM every process below this one; returns them (to wait for, or kill later)."""
    import psutil

    try:
        below = psutil.Process().children(recursive=True)
    except psutil.Error:
        return []
    for process in below:
        with contextlib.suppress(psutil.Error):
            process.terminate()
    return below


def kill_survivors(processes: list[psutil.Process], timeout_s: float = KILL_AFTER_S) -> None:
    """SIGKILL whatever of `processes` has not exited within `timeout_s`."""
    import psutil

    _gone, alive = psutil.wait_procs(processes, timeout=timeout_s)
    for process in alive:
        with contextlib.suppress(psutil.Error):
            process.kill()
    psutil.wait_procs(alive, timeout=timeout_s)


@contextlib.contextmanager
def stop_on_signals() -> Iterator[None]:
    """Inside the block SIGTERM, SIGINT and SIGHUP raise Stopped (once: a second signal during the clean-up
    is ignored so the clean-up finishes); on leaving after a signal, whatever survived it is killed."""
    terminated: list[psutil.Process] = []

    def handler(signum: int, _frame: FrameType | None) -> None:
        for sig in SIGNALS:
            signal.signal(sig, signal.SIG_IGN)
        terminated.extend(terminate_descendants())
        # kfp.local waits for its step process without a timeout: one that ignores SIGTERM must not hold
        # the clean-up forever.
        threading.Thread(target=kill_survivors, args=(list(terminated), KILL_AFTER_S + 5.0),
                         name="doc2slm-kill-survivors", daemon=True).start()
        raise Stopped(signum)

    previous = {sig: signal.signal(sig, handler) for sig in SIGNALS}
    try:
        yield
    finally:
        if terminated:
            kill_survivors(terminated)
        for sig, old in previous.items():
            signal.signal(sig, old)
