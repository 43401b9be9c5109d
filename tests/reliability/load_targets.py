"""What the load scenario sends to each service: one normal request, and every 8th one over a limit the
service is started with, so both the work path and the refusal path run under load."""

from __future__ import annotations

import itertools
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import grpc
from doc2slm.v1 import (
    embedding_pb2,
    embedding_pb2_grpc,
    extraction_pb2,
    extraction_pb2_grpc,
    scoring_pb2,
    scoring_pb2_grpc,
)
from doc2slm_common.contracts import EMBEDDING, EXTRACTION, SCORING, ServiceContract

from tests.reliability.extraction_calls import manual_pdf
from tests.reliability.loadgen import Call, grpc_status

OVER_LIMIT_EVERY = 8
# Past this many calls in progress the server answers RESOURCE_EXHAUSTED (ServerSettings.max_concurrent_rpcs);
# below the load's concurrency on purpose.
MAX_CONCURRENT_RPCS = 12
CALL_DEADLINE_S = 30.0


@dataclass(frozen=True)
class LoadTarget:
    name: str
    contract: ServiceContract
    env: dict[str, str]
    build_call: Callable[[grpc.aio.Channel, Path], Call]
    start_timeout_s: float = 120.0
    # Statuses that are a correct answer under overload or to an over-limit request.
    allowed: frozenset[str] = field(default_factory=lambda: frozenset({"OK", "RESOURCE_EXHAUSTED", "UNAVAILABLE"}))


def _alternating(normal: Callable[[], Call], over_limit: Callable[[], Call]) -> Call:
    counter = itertools.count()

    async def call() -> str:
        chosen = over_limit if next(counter) % OVER_LIMIT_EVERY == OVER_LIMIT_EVERY - 1 else normal
        return await chosen()()

    return call


def _extraction_call(channel: grpc.aio.Channel, workdir: Path) -> Call:
    # ExtractBatch (server-streaming) rather than ExtractDocument: grpc.aio reports a client-streaming call
    # that the server ends early (the concurrency cap, a size limit) as INTERNAL "Internal error from Core"
    # instead of the server's status (grpc/grpc#36066); the sync client, measured, reports it right.
    stub = extraction_pb2_grpc.ExtractionServiceStub(channel)
    small, too_big = workdir / "load-small.pdf", workdir / "load-too-big.pdf"
    small.write_bytes(manual_pdf(2))
    too_big.write_bytes(b"%PDF-1.7\n" + b"0" * (200 * 1024))  # past DOC2SLM_MAX_FILE_BYTES below

    def send(path: Path) -> Call:
        request = extraction_pb2.ExtractBatchRequest(uris=[path.as_uri()])
        return lambda: _batch_status(stub.ExtractBatch(request, timeout=CALL_DEADLINE_S))

    return _alternating(lambda: send(small), lambda: send(too_big))


async def _batch_status(call: Any) -> str:
    """The call's status, or the document's failure code when the call itself succeeded."""
    failure = ""
    try:
        async for event in call:
            if event.HasField("result") and event.result.HasField("failure"):
                failure = event.result.failure.code
    except grpc.aio.AioRpcError as error:
        return str(error.code().name)
    return failure or "OK"


def _embedding_call(channel: grpc.aio.Channel, workdir: Path) -> Call:
    stub = embedding_pb2_grpc.EmbeddingServiceStub(channel)
    texts = ["How do I reset the pump controller?", "Hold the reset key for five seconds."]

    def send(count: int) -> Call:
        request = embedding_pb2.EmbedRequest(texts=(texts * count)[:count])
        return lambda: grpc_status(stub.Embed(request, timeout=CALL_DEADLINE_S))

    return _alternating(lambda: send(2), lambda: send(64))


def _scoring_call(channel: grpc.aio.Channel, workdir: Path) -> Call:
    stub = scoring_pb2_grpc.ScoringServiceStub(channel)

    def send(pairs: int) -> Call:
        vectors = [embedding_pb2.Vector(values=[1.0, 0.5 + i % 3, 0.25]) for i in range(pairs)]
        request = scoring_pb2.ScorePairsRequest(candidates=vectors, references=vectors[::-1],
                                                bootstrap_samples=200, seed=1)
        return lambda: grpc_status(stub.ScorePairs(request, timeout=CALL_DEADLINE_S))

    return _alternating(lambda: send(32), lambda: send(200))


def _limits(**service: str) -> dict[str, str]:
    return {"DOC2SLM_MAX_CONCURRENT_RPCS": str(MAX_CONCURRENT_RPCS), **service}


TARGETS: dict[str, LoadTarget] = {
    "extraction": LoadTarget("extraction", EXTRACTION, _limits(DOC2SLM_WORKERS="1", DOC2SLM_MAX_FILE_BYTES="65536"),
                             _extraction_call),
    "embedding": LoadTarget("embedding", EMBEDDING, _limits(DOC2SLM_MAX_TEXTS_PER_REQUEST="16"), _embedding_call,
                            start_timeout_s=240.0),
    "scoring": LoadTarget("scoring", SCORING, _limits(DOC2SLM_MAX_PAIRS_PER_REQUEST="100"), _scoring_call),
}
