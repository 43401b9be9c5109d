"""SIGKILL ExtractionService in the middle of the pipeline's extract step (one ExtractBatch stream).

The step (doc2slm_pipelines.steps.extract.extract_corpus, what the KFP component runs) gets UNAVAILABLE
and fails without writing chunks.jsonl; KFP retries the step (set_retry in pipeline.py), here by calling
the same function again once the service is back. The retried step's chunks are compared, by their
content-hash ids, with a clean run of the same corpus: none lost, none duplicated.
"""

from __future__ import annotations

import threading
import time
from collections import Counter
from pathlib import Path

import grpc
from doc2slm_common import storage
from doc2slm_common.contracts import EXTRACTION

from tests.reliability.extraction_calls import manual_pdf
from tests.reliability.processes import ServiceProcess
from tests.reliability.profile import Profile
from tests.reliability.results import ScenarioResult

DOCUMENTS = 4
PAGES = 16


def write_corpus(directory: Path) -> Path:
    directory.mkdir(parents=True, exist_ok=True)
    for index in range(DOCUMENTS):
        (directory / f"manual-{index}.pdf").write_bytes(manual_pdf(PAGES, seed=index + 1))
    return directory


def chunk_ids(chunks_uri: str) -> list[str]:
    return [record["chunk_id"] for record in storage.read_jsonl(chunks_uri)]


def _step_with_kill(service: ServiceProcess, corpus: Path, work: Path, kill_after_s: float) -> str:
    """Run the step, SIGKILL the service after `kill_after_s`; returns how the step ended."""
    from doc2slm_pipelines.steps.extract import extract_corpus

    ended: list[str] = []

    def step() -> None:
        try:
            extract_corpus(str(corpus), str(work), service.address)
            ended.append("OK")
        except grpc.RpcError as error:
            ended.append(error.code().name)

    runner = threading.Thread(target=step)
    runner.start()
    time.sleep(kill_after_s)
    service.kill()
    runner.join(timeout=300)
    return ended[0] if ended else "HUNG"


def run(profile: Profile, workdir: Path) -> ScenarioResult:
    from doc2slm_pipelines.steps.extract import extract_corpus

    started = time.monotonic()
    corpus = write_corpus(workdir / "corpus")
    service = ServiceProcess(EXTRACTION, workdir / "logs", {"DOC2SLM_WORKERS": "1"})
    service.start()
    notes: list[str] = []
    lost = duplicated = killed_mid_step = 0
    ok = True
    try:
        clean_started = time.monotonic()
        reference = chunk_ids(extract_corpus(str(corpus), str(workdir / "clean"), service.address).chunks_uri)
        clean_seconds = time.monotonic() - clean_started
        for round_number in range(profile.stream_kills):
            work = workdir / f"killed-{round_number}"
            # Kill somewhere in the middle of the stream: a different point each round; when the step beat
            # the kill (a fast moment on a shared machine), again sooner.
            delay = clean_seconds * (0.3 + 0.4 * round_number / max(1, profile.stream_kills))
            ended = _step_with_kill(service, corpus, work, delay)
            for _ in range(3):
                if ended != "OK":
                    break
                service.start()
                delay /= 3
                ended = _step_with_kill(service, corpus, workdir / f"killed-{round_number}-sooner", delay)
            if ended == "UNAVAILABLE":
                killed_mid_step += 1
            elif ended != "OK":
                ok = False
                notes.append(f"round {round_number}: the step ended with {ended}")
            if ended != "OK" and (work / "chunks.jsonl").exists():
                ok = False
                notes.append(f"round {round_number}: a failed step left chunks.jsonl behind")
            service.start()
            got = chunk_ids(extract_corpus(str(corpus), str(work), service.address).chunks_uri)  # the retry
            counts = Counter(got)
            lost += len(set(reference) - set(got))
            duplicated += sum(n - 1 for n in counts.values() if n > 1)
            if set(got) - set(reference):
                ok = False
                notes.append(f"round {round_number}: {len(set(got) - set(reference))} chunks not in the clean run")
    finally:
        service.kill()
    behaviour = (f"the step failed with UNAVAILABLE in {killed_mid_step} of {profile.stream_kills} kills and "
                 f"wrote nothing; the retried step wrote all {len(reference)} chunks of {DOCUMENTS} PDFs "
                 "(ids compared with a clean run)")
    if notes:
        behaviour += "; " + "; ".join(notes)
    return ScenarioResult(fault="SIGKILL ExtractionService mid-stream (pipeline extract step)",
                          injected=profile.stream_kills, behaviour=behaviour, lost=lost, duplicated=duplicated,
                          ok=ok and killed_mid_step > 0, seconds=time.monotonic() - started,
                          details={"reference_chunks": len(reference), "killed_mid_step": killed_mid_step,
                                   "clean_seconds": round(clean_seconds, 2)})
