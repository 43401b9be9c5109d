"""SIGTERM with calls in flight: health turns NOT_SERVING first, in-flight calls finish whole, and calls
that arrive after the drain window are refused (UNAVAILABLE), then the process exits cleanly."""

from __future__ import annotations

import signal
import threading
import time
from pathlib import Path

import grpc
from doc2slm_common import client
from doc2slm_common.contracts import EXTRACTION
from grpc_health.v1 import health_pb2, health_pb2_grpc

from tests.reliability.extraction_calls import ExtractedDocument, extract_document, manual_pdf
from tests.reliability.processes import running_service
from tests.reliability.profile import Profile
from tests.reliability.results import ScenarioResult

DRAIN_SECONDS = 1.5
GRACE_SECONDS = 60.0
DOC_PAGES = 60
LATE_CALL_AFTER_DRAIN_S = 1.0


def health_status(address: str) -> str:
    with client.open_channel(address) as channel:
        try:
            reply = health_pb2_grpc.HealthStub(channel).Check(
                health_pb2.HealthCheckRequest(service=EXTRACTION.full_name), timeout=1.0)
            return str(health_pb2.HealthCheckResponse.ServingStatus.Name(reply.status))
        except grpc.RpcError as error:
            return error.code().name


def run(profile: Profile, workdir: Path) -> ScenarioResult:
    started = time.monotonic()
    data = manual_pdf(DOC_PAGES)
    env = {"DOC2SLM_DRAIN_SECONDS": str(DRAIN_SECONDS), "DOC2SLM_GRACE_SECONDS": str(GRACE_SECONDS),
           "DOC2SLM_WORKERS": "1"}
    notes: list[str] = []
    with running_service(EXTRACTION, workdir / "logs", env) as service:
        reference = extract_document(service.address, data, "reference.pdf")
        expected = len(reference.chunk_ids)
        outcomes: list[ExtractedDocument] = [ExtractedDocument() for _ in range(profile.sigterm_calls_in_flight)]

        def call(index: int) -> None:
            outcomes[index] = extract_document(service.address, data, f"in-flight-{index}.pdf")

        threads = [threading.Thread(target=call, args=(i,)) for i in range(len(outcomes))]
        for thread in threads:
            thread.start()
        time.sleep(0.3)  # every call has been accepted; one worker means most are still waiting
        finished_before = sum(1 for o in outcomes if o.results)
        service.signal(signal.SIGTERM)
        signalled = time.monotonic()
        first_health, seen_after = "SERVING", 0.0
        while time.monotonic() - signalled < DRAIN_SECONDS and first_health == "SERVING":
            first_health = health_status(service.address)
            seen_after = time.monotonic() - signalled
        time.sleep(max(0.0, DRAIN_SECONDS + LATE_CALL_AFTER_DRAIN_S - (time.monotonic() - signalled)))
        late = extract_document(service.address, manual_pdf(2), "late.pdf", deadline_s=10.0)
        for thread in threads:
            thread.join(timeout=GRACE_SECONDS + 30)
        exit_code = service.wait(GRACE_SECONDS + 30)
    completed = [o for o in outcomes if o.status == "OK" and o.results == 1]
    lost = sum(expected - len(o.chunk_ids) for o in outcomes if o.status == "OK") + \
        expected * (len(outcomes) - len(completed))
    duplicated = sum(len(o.chunk_ids) - len(set(o.chunk_ids)) for o in outcomes)
    if finished_before:
        notes.append(f"{finished_before} calls had finished before the signal")
    ok = first_health == "NOT_SERVING" and late.status == "UNAVAILABLE" and exit_code == 0 \
        and len(completed) == len(outcomes)
    behaviour = (f"health {first_health} {seen_after:.2f} s after SIGTERM (drain {DRAIN_SECONDS:g} s); "
                 f"{len(completed)}/{len(outcomes)} in-flight calls completed with all {expected} chunks each; "
                 f"a call {DRAIN_SECONDS + LATE_CALL_AFTER_DRAIN_S:g} s after SIGTERM got "
                 f"{late.status}; exit code {exit_code}")
    if notes:
        behaviour += "; " + "; ".join(notes)
    return ScenarioResult(fault="SIGTERM to ExtractionService with calls in flight", injected=1,
                          behaviour=behaviour, lost=lost, duplicated=duplicated, ok=ok,
                          seconds=time.monotonic() - started,
                          details={"in_flight": len(outcomes), "statuses": [o.status for o in outcomes],
                                   "late_call": late.status, "exit_code": exit_code,
                                   "not_serving_after_s": round(seen_after, 3)})
