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


def test_a_harness_memory_report_counts_only_when_the_service_path_reproduces_it(tmp_path: Path) -> None:
    import shutil

    kept = next(fuzz.REGRESSIONS.glob("oom-*.pdf"))
    report = tmp_path / "oom-replayed"
    shutil.copy(kept, report)
    exception = tmp_path / "exception-kept"
    exception.write_bytes(b"%PDF-1.4 not a finding to re-judge")
    confirmed, notes = fuzz.confirm_memory_reports([report, exception])
    assert confirmed == [exception]
    assert len(notes) == 1 and "not reproduced through the service path" in notes[0]
    assert (tmp_path / "unconfirmed-oom-replayed").exists() and not report.exists()
    assert fuzz.finding_files(tmp_path) == [exception]
