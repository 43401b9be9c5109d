"""EmbeddingService on a real loopback server: readiness, vectors, streaming, limits, survival."""

from __future__ import annotations

from collections.abc import Iterator

import grpc
import numpy as np
import pytest
from doc2slm.v1 import embedding_pb2, embedding_pb2_grpc
from doc2slm_common.client import open_channel, stream, unary, wait_for_serving
from doc2slm_common.config import ConfigError
from doc2slm_common.contracts import EMBEDDING
from doc2slm_common.server import RunningServer, ServerSettings, start_server
from doc2slm_embedding.encoder import SentenceEncoder
from doc2slm_embedding.service import binding_for, build_binding
from doc2slm_embedding.settings import EmbeddingSettings
from grpc_health.v1 import health_pb2, health_pb2_grpc

LIMITS = EmbeddingSettings(max_texts_per_request=4, max_text_chars=200, embedding_batch_size=4)


@pytest.fixture(scope="module")
def unloaded_encoder() -> SentenceEncoder:
    return SentenceEncoder(LIMITS)


@pytest.fixture(scope="module")
def server(unloaded_encoder: SentenceEncoder) -> Iterator[RunningServer]:
    running = start_server([binding_for(unloaded_encoder)], ServerSettings(port=0))
    yield running
    running.stop(0)


@pytest.fixture(scope="module")
def stub(server: RunningServer) -> Iterator[embedding_pb2_grpc.EmbeddingServiceStub]:
    with open_channel(f"127.0.0.1:{server.port}") as channel:
        yield embedding_pb2_grpc.EmbeddingServiceStub(channel)


@pytest.fixture(scope="module")
def ready_stub(
    server: RunningServer, unloaded_encoder: SentenceEncoder, stub: embedding_pb2_grpc.EmbeddingServiceStub
) -> embedding_pb2_grpc.EmbeddingServiceStub:
    if not unloaded_encoder.ready:
        unloaded_encoder.load()
    wait_for_serving(f"127.0.0.1:{server.port}", EMBEDDING.full_name, timeout_s=30)
    return stub


def health_status(port: int, service: str) -> int:
    with open_channel(f"127.0.0.1:{port}") as channel:
        reply = health_pb2_grpc.HealthStub(channel).Check(health_pb2.HealthCheckRequest(service=service), timeout=5)
    return int(reply.status)


def code_of(call, request) -> grpc.StatusCode:  # type: ignore[no-untyped-def]
    with pytest.raises(grpc.RpcError) as caught:
        unary(call, request, deadline_s=30, retries=0)
    return caught.value.code()


def test_not_serving_until_the_model_has_loaded_then_serving(
    server: RunningServer, unloaded_encoder: SentenceEncoder, stub: embedding_pb2_grpc.EmbeddingServiceStub
) -> None:
    # The fixture's encoder has not been loaded yet: the port is open but the service is not ready.
    assert not unloaded_encoder.ready
    for name in (EMBEDDING.full_name, ""):
        assert health_status(server.port, name) == health_pb2.HealthCheckResponse.NOT_SERVING
    assert code_of(stub.Embed, embedding_pb2.EmbedRequest(texts=["early"])) == grpc.StatusCode.UNAVAILABLE
    assert code_of(stub.GetModelInfo, embedding_pb2.GetModelInfoRequest()) == grpc.StatusCode.UNAVAILABLE
    unloaded_encoder.load()
    wait_for_serving(f"127.0.0.1:{server.port}", EMBEDDING.full_name, timeout_s=30)
    assert health_status(server.port, "") == health_pb2.HealthCheckResponse.SERVING


def test_embed_returns_model_dimension_and_the_encoders_vectors(
    ready_stub: embedding_pb2_grpc.EmbeddingServiceStub, encoder: SentenceEncoder
) -> None:
    texts = ["The pump must be serviced every six months.", "Service the pump twice a year."]
    reply = unary(ready_stub.Embed, embedding_pb2.EmbedRequest(request_id="t1", texts=texts))
    assert reply.model_name == "sentence-transformers/all-MiniLM-L6-v2"
    assert reply.dimension == 384
    vectors = np.array([v.values for v in reply.vectors], dtype=np.float32)
    np.testing.assert_allclose(vectors, encoder.embed(texts), atol=1e-5)
    np.testing.assert_allclose(np.linalg.norm(vectors, axis=1), 1.0, atol=1e-5)


def test_stream_answers_each_batch_in_order(ready_stub: embedding_pb2_grpc.EmbeddingServiceStub) -> None:
    batches = [["alpha text"], ["beta text", "gamma text"], ["delta text", "epsilon", "zeta", "eta"]]
    replies = list(stream(ready_stub.EmbedStream,
                          lambda: iter(embedding_pb2.EmbedRequest(texts=b) for b in batches)))
    assert [len(r.vectors) for r in replies] == [1, 2, 4]
    single = unary(ready_stub.Embed, embedding_pb2.EmbedRequest(texts=["beta text"]))
    np.testing.assert_allclose(replies[1].vectors[0].values, single.vectors[0].values, atol=1e-5)


def test_model_info_reports_limits(ready_stub: embedding_pb2_grpc.EmbeddingServiceStub) -> None:
    info = unary(ready_stub.GetModelInfo, embedding_pb2.GetModelInfoRequest())
    assert (info.dimension, info.max_texts, info.max_text_chars) == (384, 4, 200)


@pytest.mark.parametrize(
    ("texts", "expected"),
    [
        (["a", "b", "c", "d", "e"], grpc.StatusCode.RESOURCE_EXHAUSTED),
        (["x" * 201], grpc.StatusCode.INVALID_ARGUMENT),
        ([], grpc.StatusCode.INVALID_ARGUMENT),
        (["fine", ""], grpc.StatusCode.INVALID_ARGUMENT),
    ],
)
def test_bad_requests_get_their_code_and_the_service_keeps_serving(
    ready_stub: embedding_pb2_grpc.EmbeddingServiceStub, texts: list[str], expected: grpc.StatusCode
) -> None:
    assert code_of(ready_stub.Embed, embedding_pb2.EmbedRequest(texts=texts)) == expected
    reply = unary(ready_stub.Embed, embedding_pb2.EmbedRequest(texts=["still serving"]))
    assert len(reply.vectors) == 1


def test_a_bad_request_in_a_stream_ends_that_stream_only(
    ready_stub: embedding_pb2_grpc.EmbeddingServiceStub,
) -> None:
    requests = [embedding_pb2.EmbedRequest(texts=["ok"]), embedding_pb2.EmbedRequest(texts=["y" * 500])]
    received = []
    with pytest.raises(grpc.RpcError) as caught:
        for reply in stream(ready_stub.EmbedStream, lambda: iter(requests), retries=0):
            received.append(reply)
    assert caught.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert len(received) == 1
    assert len(unary(ready_stub.Embed, embedding_pb2.EmbedRequest(texts=["after"])).vectors) == 1


def test_a_model_setting_that_names_nothing_stops_at_start(tmp_path) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(ConfigError, match="embedding_model"):
        build_binding(EmbeddingSettings(embedding_model=str(tmp_path)))
