"""A short atheris run over the extraction path, and the replay of every saved finding."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.reliability import fuzz
from tests.reliability.profile import FAST


def test_short_fuzz_run_makes_no_finding(tmp_path: Path) -> None:
    pytest.importorskip("atheris")
    findings = tmp_path / "findings"
    result = fuzz.run(FAST, tmp_path, findings)
    assert result.injected > 0, result.details
    assert fuzz.finding_files(findings) == [], (
        f"new findings (copy them into {fuzz.REGRESSIONS} and fix the cause): {result.behaviour}")
