"""The onnx export cache stays within its bound: least recently used exports go first, recent ones stay."""

from __future__ import annotations

import os
import time
from pathlib import Path

import pytest
from doc2slm_common.errors import InvalidInput
from doc2slm_serving.export_cache import EXPORT_CACHE_ENV, evict_exports, mark_used, max_bytes_from_env

MARKER = "doc2slm_export.json"
MB = 2**20


def export(root: Path, name: str, megabytes: int, used_hours_ago: float, *, finished: bool = True) -> Path:
    directory = root / name
    directory.mkdir(parents=True)
    (directory / "model.onnx.data").write_bytes(b"\0" * (megabytes * MB))
    if finished:
        marker = directory / MARKER
        marker.write_text("{}")
        when = time.time() - used_hours_ago * 3600
        os.utime(marker, (when, when))
    return directory


def test_the_least_recently_used_exports_go_until_the_rest_fit(tmp_path: Path) -> None:
    oldest = export(tmp_path, "a-adapter1", 3, used_hours_ago=30)
    older = export(tmp_path, "a-adapter2", 3, used_hours_ago=20)
    base = export(tmp_path, "a-base", 3, used_hours_ago=2)
    removed = evict_exports(tmp_path, MARKER, 5 * MB)
    assert removed == [oldest, older] and not oldest.exists() and not older.exists() and base.is_dir()


def test_recently_used_half_written_and_temporary_exports_stay(tmp_path: Path) -> None:
    recent = [export(tmp_path, f"recent{i}", 2, used_hours_ago=0.1) for i in range(3)]
    unfinished = export(tmp_path, "unfinished", 2, used_hours_ago=0, finished=False)
    temporary = export(tmp_path, ".tmp-building", 2, used_hours_ago=50)
    assert evict_exports(tmp_path, MARKER, 1 * MB) == []
    assert all(path.is_dir() for path in [*recent, unfinished, temporary])


def test_no_bound_keeps_everything(tmp_path: Path) -> None:
    old = export(tmp_path, "old", 2, used_hours_ago=100)
    assert evict_exports(tmp_path, MARKER, 0) == [] and old.is_dir()


def test_a_use_makes_an_export_recent(tmp_path: Path) -> None:
    first = export(tmp_path, "first", 2, used_hours_ago=10)
    second = export(tmp_path, "second", 2, used_hours_ago=5)
    mark_used(first / MARKER)  # now the most recent: the other one goes
    assert evict_exports(tmp_path, MARKER, 3 * MB) == [second] and first.is_dir()


def test_the_bound_comes_from_the_environment_and_a_bad_value_is_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(EXPORT_CACHE_ENV, "512")
    assert max_bytes_from_env() == 512 * MB
    monkeypatch.setenv(EXPORT_CACHE_ENV, "0")
    assert max_bytes_from_env() == 0
    for bad in ("-1", "lots", "1.5"):
        monkeypatch.setenv(EXPORT_CACHE_ENV, bad)
        with pytest.raises(InvalidInput, match=EXPORT_CACHE_ENV):
            max_bytes_from_env()

