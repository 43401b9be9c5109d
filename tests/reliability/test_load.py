"""Short load runs against services in their own processes (the full 32 x 60 s run is make reliability)."""

from __future__ import annotations

import asyncio
from collections import Counter
from pathlib import Path

import pytest

from tests.reliability import load
from tests.reliability.loadgen import LoadResult, run_load
from tests.reliability.profile import FAST


def test_load_result_percentiles_by_nearest_rank() -> None:
    result = LoadResult(by_status=Counter(), wall_s=2.0)
    for value in range(1, 101):
        result.record("OK", value / 1000)
    result.record("RESOURCE_EXHAUSTED", 0.0005)
    assert result.percentile(0.50, "OK") == pytest.approx(0.050)
    assert result.percentile(0.99, "OK") == pytest.approx(0.099)
    assert result.percentile(0.0, None) == pytest.approx(0.0005)
    summary = result.summary()
    assert summary["requests"] == 101 and summary["ok_per_s"] == 50.0
    assert summary["by_status"] == {"OK": 100, "RESOURCE_EXHAUSTED": 1}


def test_refused_callers_back_off_instead_of_spinning() -> None:
    async def refused() -> str:
        return "429"

    async def accepted() -> str:
        await asyncio.sleep(0.001)
        return "OK"

    slow = asyncio.run(run_load(refused, concurrency=2, duration_s=0.3, refusal_backoff_s=0.1))
    fast = asyncio.run(run_load(accepted, concurrency=2, duration_s=0.3, refusal_backoff_s=0.1))
    assert 4 <= slow.requests <= 10, slow.summary()
    assert fast.requests > 50, fast.summary()
    assert set(slow.by_status) == {"429"} and set(fast.by_status) == {"OK"}


@pytest.mark.parametrize("service", ["extraction", "scoring"])
def test_service_under_load_answers_only_mapped_statuses_and_keeps_its_memory(tmp_path: Path, service: str) -> None:
    figures = load.load_service(load.TARGETS[service], FAST, tmp_path)
    assert figures["unexpected"] == {}, figures
    assert figures["alive"], figures
    assert figures["by_status"].get("OK", 0) > 0, figures
    assert figures["by_status"].get("RESOURCE_EXHAUSTED", 0) > 0, "the over-limit requests were not refused"
    assert figures["memory_growth"] < load.MAX_MEMORY_GROWTH, figures


@pytest.mark.slow
def test_embedding_under_load(tmp_path: Path) -> None:
    figures = load.load_service(load.TARGETS["embedding"], FAST, tmp_path)
    assert figures["ok"], figures


@pytest.mark.slow
def test_serving_under_load_answers_200_or_429(tmp_path: Path) -> None:
    pytest.importorskip("doc2slm_serving.server")
    from tests.reliability.serving_load import load_serving

    figures = load_serving(FAST, tmp_path)
    assert figures["ok"], figures
    assert figures["by_status"].get("429", 0) > 0, "the short queue never overflowed"
