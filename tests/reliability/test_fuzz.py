"""A short atheris run over the extraction path, and the replay of every saved finding."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.reliability import fuzz
from tests.reliability.processes import quiet_env
from tests.reliability.profile import FAST


def test_short_fuzz_run_makes_no_finding(tmp_path: Path) -> None:
    pytest.importorskip("atheris")
    findings = tmp_path / "findings"
    result = fuzz.run(FAST, tmp_path, findings)
    assert result.injected > 0, result.details
    assert fuzz.finding_files(findings) == [], (
        f"new findings (copy them into {fuzz.REGRESSIONS} and fix the cause): {result.behaviour}")


# Run from a parent whose peak RSS is over the fuzzer's limit, as pytest's is after the model tests on CI
# (2026-11-27: Linux carries ru_maxrss across execve, so every replay there looked out of memory).
_FROM_A_BIG_PARENT = """
import json, sys
from pathlib import Path
from tests.reliability import fuzz
from tests.reliability.processes import quiet_env
from tests.reliability.fuzz_extraction import FUZZER_RSS_LIMIT_MB
ballast = b"x" * ((FUZZER_RSS_LIMIT_MB + 256) * 1024 * 1024)
del ballast
confirmed, notes = fuzz.confirm_memory_reports([Path(p) for p in sys.argv[1:]])
print(json.dumps({"confirmed": [p.name for p in confirmed], "notes": notes}))
"""


def test_a_harness_memory_report_counts_only_when_the_service_path_reproduces_it(tmp_path: Path) -> None:
    import json
    import shutil
    import subprocess
    import sys

    kept = next(fuzz.REGRESSIONS.glob("oom-*.pdf"))
    report = tmp_path / "oom-replayed"
    shutil.copy(kept, report)
    exception = tmp_path / "exception-kept"
    exception.write_bytes(b"%PDF-1.4 not a finding to re-judge")
    replay = subprocess.run([sys.executable, "-c", _FROM_A_BIG_PARENT, str(report), str(exception)],
                            cwd=fuzz.REPO_ROOT, env=quiet_env({"PYTHONPATH": str(fuzz.REPO_ROOT)}),
                            capture_output=True, text=True, timeout=300)
    assert replay.returncode == 0, replay.stderr[-2000:]
    result = json.loads(replay.stdout.splitlines()[-1])
    assert result["confirmed"] == [exception.name], result
    assert len(result["notes"]) == 1 and "not reproduced through the service path" in result["notes"][0]
    assert (tmp_path / "unconfirmed-oom-replayed").exists() and not report.exists()
    assert fuzz.finding_files(tmp_path) == [exception]
