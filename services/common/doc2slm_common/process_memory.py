"""This process's own peak resident memory, as every report of ours measures it.

Not getrusage's ru_maxrss: Linux carries that across execve, so a process started by a big parent (pytest
after the model tests, a pipeline runner holding a model) begins with the parent's peak and reports it as
its own. VmHWM in /proc/self/status belongs to this process's own memory map, from its exec on.
"""

from __future__ import annotations

from pathlib import Path

_STATUS = Path("/proc/self/status")


def own_peak_rss_bytes() -> int:
    """Peak resident set size of this process since it started, in bytes (Linux)."""
    for line in _STATUS.read_text().splitlines():
        if line.startswith("VmHWM:"):
            value, unit = line.split()[1:3]
            if unit != "kB":
                raise RuntimeError(f"unexpected VmHWM unit {unit!r} in {_STATUS}")
            return int(value) * 1024
    raise RuntimeError(f"no VmHWM line in {_STATUS}: not Linux, or /proc is not mounted")
