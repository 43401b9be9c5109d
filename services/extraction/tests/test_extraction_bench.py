"""`make bench-extract` on a tiny generated corpus: both backends measured through a real service process, and
`doc2slm extract` end to end, in-process and with --server against that service."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from doc2slm_extraction import bench


def test_the_benchmark_prints_a_ratio_and_text_kept_per_backend(tmp_path: Path,
                                                                 capsys: pytest.CaptureFixture[str]) -> None:
    assert bench.main(["--docs", "1", "--pages", "12", "--repeat", "1", "--corpus", str(tmp_path)]) == 0
    out = capsys.readouterr().out
    assert "baseline plain pypdf extract_text(), 1 thread: 12 pages" in out
    for backend in bench.TARGETS:
        line = next(line for line in out.splitlines() if line.startswith(f"service {backend}"))
        ratio, kept = re.search(r"ratio ([\d.]+)x .* text kept ([\d.]+)%", line).groups()  # type: ignore[union-attr]
        assert float(ratio) > 0
        assert float(kept) >= 90.0, line  # generated headers and footers are known, so this is exact
        for how in ("in-process", "--server"):
            line = next(line for line in out.splitlines() if line.startswith(f"end to end {backend:<9} {how:<10}:"))
            assert float(re.search(r"ratio ([\d.]+)x", line).group(1)) > 0  # type: ignore[union-attr]
    assert "DIFFER" not in out
