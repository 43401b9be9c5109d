"""Keeps the onnx export cache (DOC2SLM_CACHE_DIR/onnx) within a size: least recently used exports go first.

Why: every adapter is merged into the base and exported as a model of its own (onnx_export.py), ~520 MB at
float32 and ~260 MB at int8 for SmolLM2-135M, and each `doc2slm run` trains a new adapter; without a bound
the cache grows by half a gigabyte a run. A use stamps the export's marker file, so "least recently used"
is the marker's modification time. An export used within the last `min_idle_s` is never removed, even
over the bound: another process (the answering step, a server) may have just been handed its path and
not opened it yet. An open onnxruntime session keeps working after its files are unlinked (Linux).
"""

from __future__ import annotations

import logging
import os
import shutil
import time
from pathlib import Path

from doc2slm_common.errors import InvalidInput

log = logging.getLogger(__name__)
# Room for the base at float32 and int8 and a handful of adapters' exports.
DEFAULT_MAX_MB = 4096
EXPORT_CACHE_ENV = "DOC2SLM_ONNX_EXPORT_CACHE_MB"
MIN_IDLE_S = 3600.0


def max_bytes_from_env() -> int:
    """DOC2SLM_ONNX_EXPORT_CACHE_MB (0: no bound), DEFAULT_MAX_MB when unset."""
    raw = os.environ.get(EXPORT_CACHE_ENV, "").strip()
    if not raw:
        return DEFAULT_MAX_MB * 2**20
    try:
        megabytes = int(raw)
    except ValueError:
        megabytes = -1
    if megabytes < 0:
        raise InvalidInput(f"{EXPORT_CACHE_ENV} must be a whole number of MB >= 0 (0: no bound), got {raw!r}")
    return megabytes * 2**20


def mark_used(marker: Path) -> None:
    """Stamp an export as used now (its marker's modification time)."""
    try:
        os.utime(marker)
    except OSError:  # a read-only cache still serves; it just cannot be ordered by use
        log.debug("could not stamp %s as used", marker)


def _size(directory: Path) -> int:
    return sum(path.stat().st_size for path in directory.rglob("*") if path.is_file())


def evict_exports(root: Path, marker_name: str, max_bytes: int, *, min_idle_s: float = MIN_IDLE_S,
                  now: float | None = None) -> list[Path]:
    """Remove the least recently used complete exports under `root` until the rest fit in `max_bytes`
    (0: no bound); returns what was removed. Exports used within `min_idle_s` stay."""
    if max_bytes <= 0 or not root.is_dir():
        return []
    now = time.time() if now is None else now
    exports: list[tuple[float, int, Path]] = []
    for directory in root.iterdir():
        marker = directory / marker_name
        if directory.name.startswith(".") or not marker.is_file():
            continue  # temporary or half-written: remove_stale_temp_dirs' business
        try:
            exports.append((marker.stat().st_mtime, _size(directory), directory))
        except FileNotFoundError:  # another process removed it meanwhile
            continue
    total = sum(size for _, size, _ in exports)
    removed: list[Path] = []
    for used, size, directory in sorted(exports):
        if total <= max_bytes:
            break
        if now - used < min_idle_s:
            continue
        # The marker goes first: a reader that finds no marker exports again instead of opening half a model.
        (directory / marker_name).unlink(missing_ok=True)
        shutil.rmtree(directory, ignore_errors=True)
        total -= size
        removed.append(directory)
        log.info("removed the onnx export %s (%.0f MB, unused for %.0f h) to keep the cache under %d MB",
                 directory.name, size / 2**20, (now - used) / 3600, max_bytes // 2**20)
    return removed
