"""The teacher answering 429, 500, stalls past the client's timeout and dropped connections at high rates:
the same chunks must give exactly the pairs of a clean run (compared by content-hash pair id).

Runs the qagen library as the service does (factory.open_run, the generator with its retries and
concurrency) against the real fault-injecting OpenAI-compatible server of the qagen tests.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

from tests.reliability.profile import Profile
from tests.reliability.qagen_inputs import chunk_dicts, compare_pairs
from tests.reliability.results import ScenarioResult

TEACHER_TIMEOUT_S = 1.0


def generate(base_url: str, chunks: list[dict[str, Any]], cache_dir: Path) -> tuple[list[str], Any]:
    """Every pair id the generator yields, and its summary."""
    from doc2slm_qagen import factory
    from doc2slm_qagen.generate import RunSummary
    from doc2slm_qagen.records import ChunkRecord, PairRecord
    from doc2slm_qagen.settings import QAGenSettings

    settings = QAGenSettings(
        teacher_base_url=base_url, teacher_model="fault-teacher", teacher_timeout_s=TEACHER_TIMEOUT_S,
        teacher_max_retries=20, teacher_backoff_base_s=0.01, teacher_backoff_max_s=0.05, max_concurrency=4,
        cache_uri=cache_dir.as_uri(), unreachable_abort_after=1000)
    run = factory.open_run(settings)
    pair_ids: list[str] = []
    summary: Any = None
    try:
        for event in run.generator.run([ChunkRecord.from_dict(c) for c in chunks]):
            if isinstance(event, PairRecord):
                pair_ids.append(event.pair_id)
            elif isinstance(event, RunSummary):
                summary = event
    finally:
        run.close()
    return pair_ids, summary


def fault_rates(total: float) -> dict[Any, float]:
    from tests.support.fault_teacher import Fault

    return {Fault.RATE_LIMIT: total * 0.35, Fault.SERVER_ERROR: total * 0.35, Fault.STALL: total * 0.1,
            Fault.DISCONNECT: total * 0.2}


def run(profile: Profile, workdir: Path) -> ScenarioResult:
    from tests.support.fault_teacher import FaultSchedule, FaultTeacher

    started = time.monotonic()
    chunks = chunk_dicts(profile.teacher_chunks)
    with FaultTeacher(FaultSchedule()) as clean:
        reference, _ = generate(clean.base_url, chunks, workdir / "clean-cache")
    schedule = FaultSchedule(rates=fault_rates(profile.teacher_fault_rate), seed=5, retry_after_s=0.0,
                             stall_s=TEACHER_TIMEOUT_S + 0.5)
    with FaultTeacher(schedule) as faulty:
        got, summary = generate(faulty.base_url, chunks, workdir / "faulty-cache")
        faults = {k: v for k, v in faulty.faults_sent().items() if k != "good"}
    comparison = compare_pairs(reference, got)
    injected = sum(faults.values())
    failed = summary.chunks_failed if summary is not None else -1
    behaviour = (f"{injected} faults ({', '.join(f'{k} x{v}' for k, v in sorted(faults.items()))}) at a "
                 f"{profile.teacher_fault_rate:.0%} rate over {len(chunks)} chunks; retried with backoff; "
                 f"{len(got)} pairs out vs {len(reference)} in a clean run; {failed} chunks failed")
    ok = bool(reference) and comparison.extra == 0 and failed == 0 and injected > 0
    return ScenarioResult(fault="teacher 429 / 500 / stalls / disconnects", injected=injected, behaviour=behaviour,
                          lost=comparison.lost, duplicated=comparison.duplicated, ok=ok,
                          seconds=time.monotonic() - started,
                          details={"faults": faults, "pairs_clean": len(reference), "pairs_faulty": len(got),
                                   "extra_pairs": comparison.extra})
