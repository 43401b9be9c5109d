"""The client helper: deadlines always set, only UNAVAILABLE retried, replicas balanced round-robin."""

from __future__ import annotations

import threading
import time
from typing import Any

import grpc
import pytest
from doc2slm.v1 import extraction_pb2, extraction_pb2_grpc
from doc2slm_common import client, contracts, errors
from doc2slm_common.server import ServerSettings, ServiceBinding, start_server

from tests.support.s3_server import free_port


class Recording(extraction_pb2_grpc.ExtractionServiceServicer):
    def __init__(self, fail_with: Exception | None = None) -> None:
        self.calls = 0
        self.remaining: list[float | None] = []
        self.fail_with = fail_with

    def ExtractBatch(self, request: Any, context: Any) -> Any:
        self.calls += 1
        self.remaining.append(context.time_remaining())
        if self.fail_with:
            raise self.fail_with
        yield extraction_pb2.ExtractionEvent(result=extraction_pb2.DocumentResult(source=str(self.calls)))


def serve(servicer: Any, port: int = 0) -> Any:
    binding = ServiceBinding(contracts.EXTRACTION, extraction_pb2_grpc.add_ExtractionServiceServicer_to_server,
                             servicer)
    return start_server([binding], ServerSettings(port=port))


def call(address: str, retries: int) -> list[Any]:
    with client.open_channel(address) as channel:
        stub = extraction_pb2_grpc.ExtractionServiceStub(channel)
        return list(client.stream(stub.ExtractBatch, extraction_pb2.ExtractBatchRequest(uris=["x"]),
                                  deadline_s=20, retries=retries))


def test_every_call_carries_a_deadline() -> None:
    servicer = Recording()
    running = serve(servicer)
    try:
        call(f"127.0.0.1:{running.port}", retries=0)
        # gRPC core may round the grpc-timeout header up when it encodes it (CI saw 20.099 s), so the server
        # can see a little more than the 20 s asked; what matters is a bound near it, never none.
        assert servicer.remaining[0] is not None and 19 < servicer.remaining[0] <= 20.2
    finally:
        running.stop(0)


def test_unavailable_is_retried_until_the_server_comes_up() -> None:
    port = free_port()
    servicer = Recording()
    holder: list[Any] = []
    threading.Timer(0.8, lambda: holder.append(serve(servicer, port))).start()
    started = time.monotonic()
    try:
        assert call(f"127.0.0.1:{port}", retries=6)[0].result.source == "1"
        assert time.monotonic() - started >= 0.7
    finally:
        time.sleep(0.1)
        for running in holder:
            running.stop(0)


def test_unavailable_gives_up_after_the_retries() -> None:
    with pytest.raises(grpc.RpcError) as caught:
        call(f"127.0.0.1:{free_port()}", retries=1)
    assert caught.value.code() == grpc.StatusCode.UNAVAILABLE


def test_other_codes_are_not_retried() -> None:
    servicer = Recording(fail_with=errors.InvalidInput("bad"))
    running = serve(servicer)
    try:
        with pytest.raises(grpc.RpcError) as caught:
            call(f"127.0.0.1:{running.port}", retries=5)
        assert caught.value.code() == grpc.StatusCode.INVALID_ARGUMENT
        assert servicer.calls == 1
        assert client.describe_error(caught.value) == "INVALID_ARGUMENT: bad"
    finally:
        running.stop(0)


def test_round_robin_spreads_calls_over_replicas() -> None:
    replicas = [Recording(), Recording()]
    servers = [serve(r) for r in replicas]
    try:
        target = "ipv4:" + ",".join(f"127.0.0.1:{s.port}" for s in servers)
        with client.open_channel(target) as channel:
            stub = extraction_pb2_grpc.ExtractionServiceStub(channel)
            for _ in range(10):
                list(client.stream(stub.ExtractBatch, extraction_pb2.ExtractBatchRequest(uris=["x"]),
                                   deadline_s=10))
        assert sum(r.calls for r in replicas) == 10 and min(r.calls for r in replicas) >= 3
    finally:
        for s in servers:
            s.stop(0)


def test_plain_addresses_resolve_through_dns() -> None:
    assert client.channel_target("extraction.doc2slm.svc:50051") == "dns:///extraction.doc2slm.svc:50051"
    assert client.channel_target("ipv4:1.2.3.4:5") == "ipv4:1.2.3.4:5"
