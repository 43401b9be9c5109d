"""Imported by the extraction forkserver alone (its preload, see forkserver.py): it ends without tearing
down its modules.

The forkserver ends when the process that started it does. Its interpreter's teardown (pypdf, grpc and
the rest it imported) then took 30-40 ms during which it still held the starter's stdout and stderr, so
that whoever read them (`doc2slm extract ... | tee`, a benchmark) waited that long after the command was
done. It has nothing to flush or release: its children are the workers, which end on their own.
"""

from __future__ import annotations

import atexit
import os

atexit.register(os._exit, 0)
