"""`make bench-qagen`: pairs/s against a teacher with a fixed latency, at concurrency 1 and 8 in one run.

The teacher is the tests' OpenAI-compatible server on loopback (tests/support/fault_teacher.py) with no
faults and a fixed reply latency, so the figures measure qagen's own concurrency and overhead, not a
model. It lives beside the tests, not in the shipped package, because that teacher is test code:
`python -m tests.benchmarks.qagen` from the repository root (the Makefile does).
"""

from __future__ import annotations

import argparse
import hashlib
import multiprocessing
import tempfile
import time
from multiprocessing.connection import Connection
from pathlib import Path

from doc2slm_qagen import factory
from doc2slm_qagen.generate import RunSummary
from doc2slm_qagen.records import ChunkRecord
from doc2slm_qagen.settings import QAGenSettings

from tests.support.fault_teacher import FaultSchedule, FaultTeacher

TARGET_RATIO = 6.0
_WORDS = ["pump", "valve", "gearbox", "filter", "sensor", "relay", "boiler", "turbine", "fan", "compressor",
          "motor", "bearing", "seal", "hose", "panel", "fuse", "cable", "switch", "heater", "nozzle"]


def synthetic_chunks(count: int, salt: str) -> list[ChunkRecord]:
    """Distinct manual-like chunks (distinct so no question is dropped as a near-duplicate)."""
    chunks = []
    for i in range(count):
        a, b, c = _WORDS[i % 20], _WORDS[(i // 20) % 20], _WORDS[(i * 7 + 3) % 20]
        text = (f"The {a} unit {salt}{i} must be inspected every {100 + i} hours of operation. "
                f"Only the {b} part number {salt}{i}-B may replace a worn {c} assembly on this line. "
                f"A flashing light on the {c} display {i} means the {a} pressure is below {i + 3} bar.")
        chunks.append(ChunkRecord(doc_id=f"bench-doc-{i % 4}", chunk_id=hashlib.sha256(text.encode()).hexdigest()[:16],
                                  text=text))
    return chunks


def measure(base_url: str, concurrency: int, chunks: list[ChunkRecord], cache_dir: Path) -> tuple[RunSummary, float]:
    settings = QAGenSettings(teacher_base_url=base_url, teacher_model="fault-teacher", mode="qa", pairs_per_chunk=2,
                             max_concurrency=concurrency, paraphrase_share=0.0, cache_uri=cache_dir.as_uri())
    run = factory.open_run(settings)
    started = time.perf_counter()
    try:
        events = list(run.generator.run(chunks))
    finally:
        run.close()
    elapsed = time.perf_counter() - started
    summary = events[-1]
    assert isinstance(summary, RunSummary)
    return summary, elapsed


def _serve_teacher(latency_s: float, conn: Connection) -> None:
    """The teacher in its own process, so that its HTTP handling does not share qagen's interpreter lock."""
    with FaultTeacher(FaultSchedule(latency_s=latency_s)) as teacher:
        conn.send(teacher.base_url)
        conn.recv()  # until the benchmark says stop


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--latency", type=float, default=0.3, help="teacher reply latency in seconds")
    parser.add_argument("--chunks", type=int, default=24, help="chunks per concurrency level (x3 at 8)")
    args = parser.parse_args()
    parent, child = multiprocessing.Pipe()
    server = multiprocessing.Process(target=_serve_teacher, args=(args.latency, child), daemon=True)
    server.start()
    base_url = parent.recv()
    results = {}
    with tempfile.TemporaryDirectory() as tmp:
        for concurrency, count in ((1, args.chunks), (8, args.chunks * 3)):
            chunks = synthetic_chunks(count, salt=f"c{concurrency}")
            summary, elapsed = measure(base_url, concurrency, chunks, Path(tmp) / f"cache{concurrency}")
            if summary.chunks_failed or summary.pairs_kept == 0:
                raise SystemExit(f"benchmark run failed: {summary}")
            rate = summary.pairs_kept / elapsed
            teacher_time = summary.teacher_calls * args.latency / concurrency
            overhead_ms = 1000 * (elapsed - teacher_time) / summary.pairs_kept
            results[concurrency] = rate
            print(f"concurrency {concurrency}: {summary.pairs_kept} pairs from {summary.chunks_total} chunks, "
                  f"{summary.teacher_calls} teacher calls in {elapsed:.2f} s = {rate:.1f} pairs/s; "
                  f"overhead {overhead_ms:.1f} ms/pair beside the teacher's {1000 * args.latency:.0f} ms/call")
    parent.send("stop")
    server.join(timeout=10)
    ratio = results[8] / results[1]
    verdict = "meets" if ratio >= TARGET_RATIO else "BELOW"
    print(f"ratio concurrency 8 / concurrency 1: {ratio:.2f}x ({verdict} the {TARGET_RATIO:.0f}x target)")


if __name__ == "__main__":
    main()
