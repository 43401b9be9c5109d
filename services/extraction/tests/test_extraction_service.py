"""The real gRPC server on loopback: streamed bytes, URIs, batches, status codes, health after bad files."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import grpc
import pytest
from doc2slm.v1 import extraction_pb2, extraction_pb2_grpc
from doc2slm_common import client
from doc2slm_common.contracts import EXTRACTION
from doc2slm_common.extraction_events import MAX_EVENT_TEXT_BYTES, chunks_of
from doc2slm_common.server import RunningServer, ServerSettings, start_server
from doc2slm_extraction.documents import Chunk, DocumentOutcome
from doc2slm_extraction.service import build_binding, outcome_events
from doc2slm_extraction.settings import ExtractionSettings
from doc2slm_extraction.testing_pdfs import EXPECTED_STATUS
from grpc_health.v1 import health_pb2, health_pb2_grpc


@pytest.fixture(scope="module")
def server(test_settings: ExtractionSettings) -> Iterator[RunningServer]:
    running = start_server([build_binding(test_settings)], ServerSettings(port=0))
    yield running
    running.stop(grace=1)


@pytest.fixture(scope="module")
def channel(server: RunningServer) -> Iterator[grpc.Channel]:
    with client.open_channel(f"127.0.0.1:{server.port}") as opened:
        yield opened


def _document_requests(data: bytes, name: str, piece: int = 1000, **header: object) -> Iterator[object]:
    yield extraction_pb2.ExtractDocumentRequest(
        header=extraction_pb2.DocumentHeader(source_name=name, **header))  # type: ignore[arg-type]
    for start in range(0, len(data), piece):
        yield extraction_pb2.ExtractDocumentRequest(data=data[start : start + piece])


def _extract(channel: grpc.Channel, requests: Iterator[object]) -> list[extraction_pb2.ExtractionEvent]:
    stub = extraction_pb2_grpc.ExtractionServiceStub(channel)
    return list(client.stream(stub.ExtractDocument, lambda: requests, deadline_s=60))


def _serving(channel: grpc.Channel) -> bool:
    health = health_pb2_grpc.HealthStub(channel)
    reply = health.Check(health_pb2.HealthCheckRequest(service=EXTRACTION.full_name), timeout=5)
    return bool(reply.status == health_pb2.HealthCheckResponse.SERVING)


def test_streamed_bytes_give_chunks_then_one_result(channel: grpc.Channel, pdfs: dict[str, bytes]) -> None:
    events = _extract(channel, _document_requests(pdfs["multipage.pdf"], "manual.pdf"))
    chunks = [e.chunk for e in events if e.WhichOneof("event") == "chunk"]
    assert [e.WhichOneof("event") for e in events] == ["chunk"] * len(chunks) + ["result"]
    result = events[-1].result
    assert result.pages == 6 and result.chunks == len(chunks) > 3 and not result.HasField("failure")
    assert result.chars_kept < result.chars_raw
    assert {c.source for c in chunks} == {"manual.pdf"} and chunks[-1].page_end == 6


def test_uri_in_header_and_options(channel: grpc.Channel, pdf_dir: Path) -> None:
    options = extraction_pb2.ChunkingOptions(max_tokens=64, overlap_tokens=8, backend="pypdfium2")
    uri = (pdf_dir / "multipage.pdf").as_uri()
    events = _extract(channel, iter([extraction_pb2.ExtractDocumentRequest(
        header=extraction_pb2.DocumentHeader(uri=uri, options=options))]))
    chunks = [e.chunk for e in events if e.WhichOneof("event") == "chunk"]
    assert len(chunks) > 10 and all(c.n_tokens <= 64 for c in chunks) and chunks[0].source == uri


@pytest.mark.parametrize("name", sorted(EXPECTED_STATUS))
def test_broken_documents_get_their_status_and_the_server_stays_serving(
    channel: grpc.Channel, pdfs: dict[str, bytes], name: str
) -> None:
    with pytest.raises(grpc.RpcError) as caught:
        _extract(channel, _document_requests(pdfs[name], name))
    assert caught.value.code().name == EXPECTED_STATUS[name], caught.value.details()
    assert _serving(channel)


def test_protocol_errors_are_invalid_argument(channel: grpc.Channel, pdf_dir: Path) -> None:
    data_first = iter([extraction_pb2.ExtractDocumentRequest(data=b"%PDF")])
    header_with_uri_and_data = _document_requests(b"%PDF-1.7", "x.pdf", uri=(pdf_dir / "x.pdf").as_uri())
    bad_option = _document_requests(b"%PDF", "x.pdf", options=extraction_pb2.ChunkingOptions(max_tokens=5))
    for requests in (data_first, header_with_uri_and_data, bad_option):
        with pytest.raises(grpc.RpcError) as caught:
            _extract(channel, requests)
        assert caught.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    missing = iter([extraction_pb2.ExtractDocumentRequest(
        header=extraction_pb2.DocumentHeader(uri=(pdf_dir / "absent.pdf").as_uri()))])
    with pytest.raises(grpc.RpcError) as caught:
        _extract(channel, missing)
    assert caught.value.code() == grpc.StatusCode.NOT_FOUND


def test_batch_with_bad_files_returns_every_good_chunk(channel: grpc.Channel, pdf_dir: Path) -> None:
    stub = extraction_pb2_grpc.ExtractionServiceStub(channel)
    request = extraction_pb2.ExtractBatchRequest(uris=[pdf_dir.as_uri() + "/", (pdf_dir / "nope.pdf").as_uri()])
    events = list(client.stream(stub.ExtractBatch, request, deadline_s=120))
    results = {e.result.source.rsplit("/", 1)[-1]: e.result for e in events if e.WhichOneof("event") == "result"}
    chunks = [e.chunk for e in events if e.WhichOneof("event") == "chunk"]
    assert set(results) == {p.name for p in pdf_dir.glob("*.pdf")} | {"nope.pdf"}
    failed = {name: r.failure.code for name, r in results.items() if r.HasField("failure")}
    assert failed == {**EXPECTED_STATUS, "nope.pdf": "NOT_FOUND"}
    for name, result in results.items():
        if name not in failed:
            assert result.chunks == sum(1 for c in chunks if c.source == result.source)
    assert results["image_only.pdf"].chunks == 0 and results["image_only.pdf"].warnings
    assert _serving(channel)


def test_chunks_per_event_groups_the_same_chunks_in_order(channel: grpc.Channel, pdf_dir: Path) -> None:
    uri = (pdf_dir / "multipage.pdf").as_uri()

    def events(per_event: int) -> list[extraction_pb2.ExtractionEvent]:
        options = extraction_pb2.ChunkingOptions(max_tokens=64, chunks_per_event=per_event)
        return _extract(channel, iter([extraction_pb2.ExtractDocumentRequest(
            header=extraction_pb2.DocumentHeader(uri=uri, options=options))]))

    single, grouped = events(0), events(4)
    one_by_one = [chunk for event in single for chunk in chunks_of(event)]
    assert [e.WhichOneof("event") for e in single] == ["chunk"] * len(one_by_one) + ["result"]
    assert len(one_by_one) > 10
    kinds = [e.WhichOneof("event") for e in grouped]
    assert kinds == ["chunks"] * -(-len(one_by_one) // 4) + ["result"]
    assert [len(e.chunks.chunks) for e in grouped[:-1]][:-1] == [4] * (len(grouped) - 2)
    assert [chunk for event in grouped for chunk in chunks_of(event)] == one_by_one
    assert grouped[-1].result.chunks == single[-1].result.chunks == len(one_by_one)


def test_chunks_per_event_out_of_range_is_invalid_argument(channel: grpc.Channel, pdfs: dict[str, bytes]) -> None:
    with pytest.raises(grpc.RpcError) as raised:
        _extract(channel, _document_requests(pdfs["multipage.pdf"], "m.pdf",
                                             options=extraction_pb2.ChunkingOptions(chunks_per_event=5000)))
    assert raised.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert "chunks_per_event" in (raised.value.details() or "")
    assert _serving(channel)


def test_a_chunks_event_stays_under_its_text_limit() -> None:
    text = "é" * (MAX_EVENT_TEXT_BYTES // 6 + 1)  # 2 UTF-8 bytes each: three such chunks pass the limit
    chunks = [Chunk("d" * 64, f"c{index}", "big.pdf", 1, 1, text, 1, 0, len(text)) for index in range(5)]
    outcome = DocumentOutcome(source="big.pdf", doc_id="d" * 64, pages=1, chunks=chunks)
    events = list(outcome_events(outcome, 64))
    assert [len(e.chunks.chunks) for e in events[:-1]] == [2, 2, 1] and events[-1].result.chunks == 5
