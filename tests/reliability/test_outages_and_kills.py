"""Fast versions of the outage, drain and kill scenarios (each fault injected once) for `make test`."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.reliability import kill_stream, sigterm_drain, storage_outage
from tests.reliability.profile import FAST


def test_s3_killed_during_upload_fails_clearly_and_the_retry_leaves_the_object_whole(tmp_path: Path) -> None:
    result = storage_outage.run(FAST, tmp_path)
    assert result.problems() == [], result.behaviour
    assert result.details["interrupted"] == FAST.storage_outages, result.behaviour


def test_sigterm_drains_in_flight_calls_and_refuses_new_ones(tmp_path: Path) -> None:
    result = sigterm_drain.run(FAST, tmp_path)
    assert result.problems() == [], result.behaviour
    assert result.details["statuses"] == ["OK"] * FAST.sigterm_calls_in_flight
    assert result.details["late_call"] == "UNAVAILABLE"
    assert result.details["not_serving_after_s"] < sigterm_drain.DRAIN_SECONDS


def test_sigkill_mid_stream_then_step_retry_loses_and_duplicates_nothing(tmp_path: Path) -> None:
    pytest.importorskip("doc2slm_pipelines.steps.extract")
    result = kill_stream.run(FAST, tmp_path)
    assert result.problems() == [], result.behaviour
    assert result.details["reference_chunks"] > 0


@pytest.mark.slow  # three torch processes: ~1.5 min on 2 cores; pipelines/tests has the one-kill version
def test_sigkilled_finetune_resumes_at_its_last_checkpoint_and_trains_each_step_once(tmp_path: Path) -> None:
    from tests.reliability import kill_finetune

    result = kill_finetune.run(FAST, tmp_path)
    assert result.problems() == [], result.behaviour
