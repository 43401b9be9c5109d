"""kfp.local's output to a log file instead of the screen, and the failed step's last lines when one fails.

kfp.local prints every task's executor input, streamed output and outputs to sys.stdout (about 580 lines for
one local run), which buries the few lines a user reads. A local run sends all of it to one file and keeps
the lines of the task that runs now, so a failure can show that step's last lines and a status name.
"""

from __future__ import annotations

import collections
import contextlib
import io
import re
from collections.abc import Iterator
from pathlib import Path

from doc2slm_common import errors

ANSI = re.compile(r"\x1b\[[0-9;]*m")
TASK_START = re.compile(r"Executing task '([^']+)'")
FAILED_TASK = re.compile(r"Inner task failed: '([^']+)'")
# The last line of a step's traceback names the exception: `doc2slm_common.errors.NotFound: no PDF in ...`.
EXCEPTION_LINE = re.compile(r"^(?:[\w.]+\.)?(\w+): (.+)$")
STATUS_LINE = re.compile(r"status = StatusCode\.([A-Z_]+)")
KFP_FOOTER = re.compile(r"finished with status|^-{20,}$")
TAIL_LINES = 60
SHOWN_LINES = 15


class StepFailed(Exception):
    """A pipeline step failed: its name, its last lines, the status its error maps to and the log's path."""

    def __init__(self, task: str, lines: list[str], log_path: Path) -> None:
        self.task, self.lines, self.log_path = task, lines, log_path
        self.status, self.reason = step_status(lines)
        super().__init__(f"{self.status}: step {task} failed: {self.reason}; see {log_path}")


def _domain_codes() -> dict[str, str]:
    codes: dict[str, str] = {}
    pending: list[type[errors.DomainError]] = [errors.DomainError]
    while pending:
        cls = pending.pop()
        codes[cls.__name__] = cls.code.name
        pending.extend(cls.__subclasses__())
    return codes


def step_status(lines: list[str]) -> tuple[str, str]:
    """(status name, reason) from a failed step's last lines: a doc2slm domain error or a gRPC status says
    which; anything else escaping a step is a bug (INTERNAL)."""
    codes = _domain_codes()
    for line in reversed(lines):
        found = EXCEPTION_LINE.match(line.strip())
        if found and found.group(1) in codes:
            return codes[found.group(1)], found.group(2)
    for line in reversed(lines):
        status = STATUS_LINE.search(line)
        if status:
            return status.group(1), line.strip()
    last = next((line.strip() for line in reversed(lines) if EXCEPTION_LINE.match(line.strip())), "")
    return "INTERNAL", last or "no error line in its output"


class TaskLog(io.TextIOBase):
    """A text stream that writes everything to `path` (colour codes removed) and keeps the current task's
    last lines."""

    def __init__(self, path: Path, keep: int = TAIL_LINES) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        self.path = path
        self.task = ""
        self.tail: collections.deque[str] = collections.deque(maxlen=keep)
        self._file = path.open("a", encoding="utf-8")
        self._partial = ""

    def writable(self) -> bool:
        return True

    def write(self, text: str) -> int:
        clean = ANSI.sub("", text)
        self._file.write(clean)
        *lines, self._partial = (self._partial + clean).split("\n")
        for line in lines:
            started = TASK_START.search(line)
            if started:
                self.task = started.group(1)
                self.tail.clear()
            elif line.strip():
                self.tail.append(line.strip())
        return len(text)

    def flush(self) -> None:
        if not self._file.closed:
            self._file.flush()

    def close(self) -> None:
        # TextIOBase.close calls flush: the base first, while the file is still open.
        super().close()
        self._file.close()

    def failure(self, error: BaseException) -> StepFailed:
        named = FAILED_TASK.search(ANSI.sub("", str(error)))
        return StepFailed(named.group(1) if named else self.task or "?", last_lines(list(self.tail)), self.path)


def last_lines(lines: list[str], keep: int = SHOWN_LINES) -> list[str]:
    """What to show of a failed step: from its last traceback on (not the executor JSON before it), without
    kfp's own footer and the caret lines under code."""
    starts = [i for i, line in enumerate(lines) if line.startswith("Traceback")]
    body = lines[starts[-1]:] if starts else lines
    body = [line for line in body if not KFP_FOOTER.search(line) and set(line) - set("^~ ")]
    return body[-keep:]


@contextlib.contextmanager
def kfp_output_to(path: Path) -> Iterator[TaskLog]:
    """sys.stdout goes to `path` inside the block (kfp.local's logger and the tasks' streamed output both
    write there); a RuntimeError from kfp.local becomes StepFailed with the failed step's last lines."""
    with TaskLog(path) as log, contextlib.redirect_stdout(log):  # type: ignore[type-var]
        try:
            yield log
        except RuntimeError as error:
            raise log.failure(error) from error
