"""Progress for long commands: numbered phases with elapsed time, so a user sees what is running.

The pipeline's steps stream their own logs (kfp.local prints each task's output); these lines frame
them: what started, what is ready, how long it took.
"""

from __future__ import annotations

import sys
import time
from typing import TextIO


class Phases:
    def __init__(self, total: int, stream: TextIO = sys.stderr) -> None:
        self.total = total
        self.done = 0
        self.stream = stream
        self.start = time.monotonic()

    def elapsed(self) -> str:
        seconds = int(time.monotonic() - self.start)
        return f"{seconds // 60:02d}:{seconds % 60:02d}"

    def step(self, text: str) -> None:
        """A new phase begins."""
        self.done += 1
        self._line(f"[{self.elapsed()}] ({self.done}/{self.total}) {text}")

    def note(self, text: str) -> None:
        """A detail of the current phase."""
        self._line(f"[{self.elapsed()}]       {text}")

    def _line(self, text: str) -> None:
        # Written, not print()ed: kfp.local replaces builtins.print while a task runs (to indent its output),
        # and a progress line from the step watcher's thread must not be indented or redirected with it.
        self.stream.write(text + "\n")
        self.stream.flush()
