"""The shared bootstrap on a real loopback server: health, reflection, status mapping, limits, shutdown."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from typing import Any

import grpc
import pytest
from doc2slm.v1 import (
    embedding_pb2_grpc,
    extraction_pb2,
    extraction_pb2_grpc,
    qagen_pb2_grpc,
    scoring_pb2_grpc,
)
from doc2slm_common import client, contracts, errors
from doc2slm_common.server import RunningServer, ServerSettings, ServiceBinding, start_server
from grpc_health.v1 import health_pb2, health_pb2_grpc
from grpc_reflection.v1alpha import reflection_pb2, reflection_pb2_grpc

PLACEHOLDERS = [
    (contracts.EXTRACTION, extraction_pb2_grpc.add_ExtractionServiceServicer_to_server,
     extraction_pb2_grpc.ExtractionServiceServicer),
    (contracts.QAGEN, qagen_pb2_grpc.add_QAGenServiceServicer_to_server, qagen_pb2_grpc.QAGenServiceServicer),
    (contracts.EMBEDDING, embedding_pb2_grpc.add_EmbeddingServiceServicer_to_server,
     embedding_pb2_grpc.EmbeddingServiceServicer),
    (contracts.SCORING, scoring_pb2_grpc.add_ScoringServiceServicer_to_server,
     scoring_pb2_grpc.ScoringServiceServicer),
]

ERROR_BY_URI = {
    "invalid": errors.InvalidInput("not a PDF"),
    "encrypted": errors.EncryptedDocument("encrypted, no password"),
    "toolarge": errors.LimitExceeded("over 1 byte"),
    "slow": errors.TimeLimitExceeded("over 1 s"),
    "teacher": errors.UpstreamUnavailable("teacher down"),
    "missing": errors.NotFound("no such file"),
    "bug": ZeroDivisionError("a bug"),
}


class ScriptedExtraction(extraction_pb2_grpc.ExtractionServiceServicer):
    """Raises the error its request names, or streams one result; `slow-ok` waits for `release`."""

    def __init__(self) -> None:
        self.release = threading.Event()
        self.entered = threading.Event()

    def ExtractBatch(self, request: Any, context: Any) -> Iterator[Any]:
        name = request.uris[0] if request.uris else ""
        if name == "slow-ok":
            self.entered.set()
            self.release.wait(10)
        elif name in ERROR_BY_URI:
            raise ERROR_BY_URI[name]
        yield extraction_pb2.ExtractionEvent(result=extraction_pb2.DocumentResult(source=name))


def health_status(port: int, service: str) -> int:
    with grpc.insecure_channel(f"127.0.0.1:{port}") as channel:
        reply = health_pb2_grpc.HealthStub(channel).Check(
            health_pb2.HealthCheckRequest(service=service), timeout=5)
        return int(reply.status)


@pytest.fixture
def scripted() -> Iterator[tuple[RunningServer, ScriptedExtraction]]:
    servicer = ScriptedExtraction()
    binding = ServiceBinding(contracts.EXTRACTION, extraction_pb2_grpc.add_ExtractionServiceServicer_to_server,
                             servicer)
    running = start_server([binding], ServerSettings(port=0, max_message_bytes=4096, drain_seconds=0.5))
    yield running, servicer
    servicer.release.set()
    running.stop(0)


def batch(port: int, uri: str) -> list[Any]:
    with client.open_channel(f"127.0.0.1:{port}") as channel:
        stub = extraction_pb2_grpc.ExtractionServiceStub(channel)
        return list(client.stream(stub.ExtractBatch, extraction_pb2.ExtractBatchRequest(uris=[uri]),
                                  deadline_s=10, retries=0))


@pytest.mark.parametrize(("contract", "add", "base"), PLACEHOLDERS, ids=lambda v: getattr(v, "short_name", ""))
def test_each_contract_serves_health_reflection_and_unimplemented(contract: Any, add: Any, base: Any) -> None:
    running = start_server([ServiceBinding(contract, add, base())], ServerSettings(port=0))
    try:
        serving = health_pb2.HealthCheckResponse.SERVING
        assert health_status(running.port, contract.full_name) == serving
        assert health_status(running.port, "") == serving
        with grpc.insecure_channel(f"127.0.0.1:{running.port}") as channel:
            stub = reflection_pb2_grpc.ServerReflectionStub(channel)
            replies = stub.ServerReflectionInfo(iter([reflection_pb2.ServerReflectionRequest(list_services="")]),
                                                timeout=5)
            names = {s.name for reply in replies for s in reply.list_services_response.service}
            assert contract.full_name in names
            unknown = channel.unary_unary(f"/{contract.full_name}/NoSuchMethod")
            with pytest.raises(grpc.RpcError) as caught:
                unknown(b"", timeout=5)
            assert caught.value.code() == grpc.StatusCode.UNIMPLEMENTED
    finally:
        running.stop(0)


def test_domain_errors_arrive_with_their_codes_and_the_server_keeps_serving(scripted: Any) -> None:
    running, _ = scripted
    expected = {name: errors.status_code_for(error) for name, error in ERROR_BY_URI.items()}
    for name, code in expected.items():
        with pytest.raises(grpc.RpcError) as caught:
            batch(running.port, name)
        assert caught.value.code() == code, name
        assert caught.value.code() not in (grpc.StatusCode.UNKNOWN,) or name == "bug"
    assert expected["bug"] == grpc.StatusCode.INTERNAL
    assert batch(running.port, "fine")[0].result.source == "fine"


def test_oversized_request_is_resource_exhausted_and_server_survives(scripted: Any) -> None:
    running, _ = scripted
    with pytest.raises(grpc.RpcError) as caught:
        batch(running.port, "x" * 10_000)
    assert caught.value.code() == grpc.StatusCode.RESOURCE_EXHAUSTED
    assert batch(running.port, "after")[0].result.source == "after"


def test_shutdown_reports_not_serving_then_finishes_in_flight_calls(scripted: Any) -> None:
    running, servicer = scripted
    results: list[Any] = []
    in_flight = threading.Thread(target=lambda: results.extend(batch(running.port, "slow-ok")))
    in_flight.start()
    assert servicer.entered.wait(5)
    stopper = threading.Thread(target=running.stop, args=(5,))
    stopper.start()
    time.sleep(0.2)  # inside the drain window
    assert health_status(running.port, contracts.EXTRACTION.full_name) == health_pb2.HealthCheckResponse.NOT_SERVING
    time.sleep(0.5)  # drain over: new calls are refused while the old one is still running
    with pytest.raises(grpc.RpcError) as caught:
        batch(running.port, "new")
    assert caught.value.code() == grpc.StatusCode.UNAVAILABLE
    servicer.release.set()
    in_flight.join(10)
    stopper.join(10)
    assert results and results[0].result.source == "slow-ok"


def test_readiness_waits_for_the_servicer() -> None:
    ready = threading.Event()
    binding = ServiceBinding(contracts.EMBEDDING, embedding_pb2_grpc.add_EmbeddingServiceServicer_to_server,
                             embedding_pb2_grpc.EmbeddingServiceServicer(), is_ready=ready.is_set)
    running = start_server([binding], ServerSettings(port=0))
    try:
        not_serving = health_pb2.HealthCheckResponse.NOT_SERVING
        assert health_status(running.port, contracts.EMBEDDING.full_name) == not_serving
        assert health_status(running.port, "") == not_serving
        ready.set()
        client.wait_for_serving(f"127.0.0.1:{running.port}", contracts.EMBEDDING.full_name, timeout_s=5)
        client.wait_for_serving(f"127.0.0.1:{running.port}", "", timeout_s=5)
    finally:
        running.stop(0)


def test_port_in_use_names_the_port() -> None:
    from doc2slm_common.config import ConfigError

    first = start_server([], ServerSettings(port=0))
    try:
        with pytest.raises(ConfigError, match=f"port {first.port}"):
            start_server([], ServerSettings(port=first.port))
    finally:
        first.stop(0)
