"""QA generation under teacher faults and under a SIGKILL of its service (fast sizes)."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.reliability.profile import FAST

pytest.importorskip("doc2slm_qagen.service")
pytest.importorskip("tests.support.fault_teacher")


def test_teacher_faults_at_a_high_rate_give_the_pairs_of_a_clean_run(tmp_path: Path) -> None:
    from tests.reliability import teacher_faults

    result = teacher_faults.run(FAST, tmp_path)
    assert result.problems() == [], result.behaviour
    assert result.injected > 0 and result.details["pairs_clean"] > 0


def test_sigkilled_generation_resumes_without_asking_the_teacher_again(tmp_path: Path) -> None:
    from tests.reliability import kill_qagen

    result = kill_qagen.run(FAST, tmp_path)
    assert result.problems() == [], result.behaviour
    assert result.details["chunks_done_before_kill"] > 0
    assert result.details["repeated_teacher_calls"] == 0
