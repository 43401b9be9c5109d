"""SIGKILL QAGenService in the middle of a GeneratePairs run, restart it, and run the same request again.

The teacher cache (file://, one fsynced line per chunk) makes the re-run resume: no chunk whose pairs
had already been streamed before the kill is sent to the teacher again, and the re-run's pairs equal a
clean run's (content-hash pair ids: none lost, none duplicated). The teacher is the qagen tests'
OpenAI-compatible server, with a delay per reply so the kill lands mid-run.
"""

from __future__ import annotations

import threading
import time
from pathlib import Path
from typing import Any

import grpc
from doc2slm.v1 import common_pb2, qagen_pb2, qagen_pb2_grpc
from doc2slm_common import client
from doc2slm_common.contracts import QAGEN

from tests.reliability.processes import ServiceProcess
from tests.reliability.profile import Profile
from tests.reliability.qagen_inputs import chunk_dicts, compare_pairs
from tests.reliability.results import ScenarioResult

REPLY_LATENCY_S = 0.15


def request(chunks: list[dict[str, Any]], cache: Path) -> qagen_pb2.GeneratePairsRequest:
    return qagen_pb2.GeneratePairsRequest(
        request_id="reliability", cache_uri=cache.as_uri(),
        chunks=[common_pb2.Chunk(doc_id=str(c["doc_id"]), chunk_id=str(c["chunk_id"]), text=str(c["text"]),
                                 source=str(c["source"]), page_start=1, page_end=1) for c in chunks])


def stream_pairs(address: str, message: qagen_pb2.GeneratePairsRequest, on_pair: Any = None) -> tuple[list[Any], str]:
    """(pairs received, final status) of one GeneratePairs call."""
    pairs: list[Any] = []
    with client.open_channel(address) as channel:
        stub = qagen_pb2_grpc.QAGenServiceStub(channel)
        try:
            for event in client.stream(stub.GeneratePairs, message, deadline_s=600.0, retries=0):
                if event.HasField("pair"):
                    pairs.append(event.pair)
                    if on_pair is not None:
                        on_pair(len(pairs))
        except grpc.RpcError as error:
            return pairs, error.code().name
    return pairs, "OK"


def run(profile: Profile, workdir: Path) -> ScenarioResult:
    from tests.support.fault_teacher import FaultSchedule, FaultTeacher

    started = time.monotonic()
    chunks = chunk_dicts(max(8, profile.teacher_chunks))
    texts = {str(c["chunk_id"]): str(c["text"]) for c in chunks}
    with FaultTeacher(FaultSchedule(latency_s=REPLY_LATENCY_S)) as teacher:
        env = {"DOC2SLM_TEACHER_BASE_URL": teacher.base_url, "DOC2SLM_TEACHER_MODEL": "fault-teacher",
               "DOC2SLM_MAX_CONCURRENCY": "2", "DOC2SLM_CACHE_URI": (workdir / "unused-cache").as_uri()}
        service = ServiceProcess(QAGEN, workdir / "logs", env)
        service.start()
        try:
            reference, _ = stream_pairs(service.address, request(chunks, workdir / "clean-cache"))
            half = max(1, len(reference) // 2)
            killed = threading.Event()

            def kill_at_half(received: int) -> None:
                if received == half and not killed.is_set():
                    killed.set()
                    service.kill()

            before, status = stream_pairs(service.address, request(chunks, workdir / "cache"), kill_at_half)
            finished = {p.chunk_id for p in before}
            calls_at_kill = {cid: teacher.calls_for_chunk(text) for cid, text in texts.items()}
            service.start()
            after, rerun_status = stream_pairs(service.address, request(chunks, workdir / "cache"))
            repeated = sum(teacher.calls_for_chunk(texts[cid]) - calls_at_kill[cid] for cid in finished)
        finally:
            service.kill()
    comparison = compare_pairs((p.pair_id for p in reference), (p.pair_id for p in after))
    behaviour = (f"killed after {len(before)} of {len(reference)} pairs ({len(finished)} chunks done; the caller "
                 f"got {status}); the re-run made {repeated} teacher calls for those chunks and returned "
                 f"{len(after)} pairs ({rerun_status}), the same as a clean run")
    ok = killed.is_set() and status == "UNAVAILABLE" and repeated == 0 and rerun_status == "OK" \
        and comparison.extra == 0
    return ScenarioResult(fault="SIGKILL QAGenService mid-run, then re-run with the same cache", injected=1,
                          behaviour=behaviour, lost=comparison.lost, duplicated=comparison.duplicated, ok=ok,
                          seconds=time.monotonic() - started,
                          details={"pairs_before_kill": len(before), "chunks_done_before_kill": len(finished),
                                   "repeated_teacher_calls": repeated, "pairs_clean": len(reference),
                                   "pairs_rerun": len(after)})
