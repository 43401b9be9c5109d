"""QAGenService on a real gRPC server on loopback, called through doc2slm_common.client."""

from __future__ import annotations

import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import grpc
import pytest
from doc2slm.v1 import common_pb2, qagen_pb2, qagen_pb2_grpc
from doc2slm_common import client, storage
from doc2slm_common.server import ServerSettings, start_server
from doc2slm_qagen.prompts import Mode, prompt_version
from doc2slm_qagen.records import ChunkRecord
from doc2slm_qagen.service import build_binding

from tests.support.fault_teacher import FaultTeacher
from tests.support.qagen_testkit import TEXTS, SecondQuestionTeacher, make_chunks, settings_for


@pytest.fixture(scope="module")
def teacher() -> Iterator[FaultTeacher]:
    with SecondQuestionTeacher() as running:
        yield running


@pytest.fixture(scope="module")
def stub(teacher: FaultTeacher, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Any]:
    settings = settings_for(teacher.base_url, tmp_path_factory.mktemp("cache"), paraphrase_share=1.0)
    server = start_server([build_binding(settings)], ServerSettings(port=0))
    channel = client.open_channel(f"127.0.0.1:{server.port}")
    yield qagen_pb2_grpc.QAGenServiceStub(channel)
    channel.close()
    server.stop(0)


def to_proto(chunk: ChunkRecord) -> common_pb2.Chunk:
    return common_pb2.Chunk(doc_id=chunk.doc_id, chunk_id=chunk.chunk_id, text=chunk.text, source=chunk.source,
                            page_start=chunk.page_start, page_end=chunk.page_end)


def generate(stub: Any, request: qagen_pb2.GeneratePairsRequest) -> list[qagen_pb2.GenerationEvent]:
    return list(client.stream(stub.GeneratePairs, request, deadline_s=60))


def test_pairs_stream_back_then_a_summary_and_the_split_works(stub: Any, tmp_path: Path) -> None:
    chunks = make_chunks()
    broken = common_pb2.Chunk(doc_id="d", chunk_id="no-text")
    options = qagen_pb2.GenerationOptions(mode=qagen_pb2.GENERATION_MODE_QUESTION_ANSWER, pairs_per_chunk=2,
                                          max_concurrency=3)
    request = qagen_pb2.GeneratePairsRequest(chunks=[*map(to_proto, chunks), broken], options=options)
    events = generate(stub, request)
    kinds = [e.WhichOneof("event") for e in events]
    assert kinds[-1] == "summary" and kinds.count("summary") == 1
    summary = events[-1].summary
    pairs = [e.pair for e in events if e.HasField("pair")]
    failures = [e.failure for e in events if e.HasField("failure")]
    assert [(f.item_id, f.code) for f in failures] == [("no-text", "INVALID_ARGUMENT")]
    assert summary.chunks_total == len(chunks) + 1 and summary.chunks_with_pair == len(chunks)
    assert summary.pairs_kept == len(pairs) and summary.teacher_calls > 0
    assert all(p.prompt_version == prompt_version(Mode.QUESTION_ANSWER, 2) and p.pair_id for p in pairs)
    assert sum(1 for p in pairs if p.paraphrase_question) > len(pairs) / 2  # paraphrase_share 1.0

    qa_uri = (tmp_path / "qa.jsonl").as_uri()
    fields = ("question", "answer", "chunk_id", "doc_id", "page_start", "page_end", "teacher", "prompt_version",
              "paraphrase_question", "pair_id", "source")
    storage.write_jsonl(qa_uri, [{f: getattr(p, f) for f in fields} for p in pairs])
    reply = client.unary(stub.SplitDataset, qagen_pb2.SplitDatasetRequest(
        qa_uri=qa_uri, out_uri=(tmp_path / "split").as_uri(), seed=3))
    assert reply.counts["train"] + reply.counts["eval_heldout_docs"] == len(pairs)
    assert reply.counts["eval_heldout_questions"] > 0
    assert len(storage.read_jsonl(reply.train_uri)) == reply.counts["train"]
    assert storage.exists(reply.card_uri)


def test_chunks_from_a_uri(stub: Any, tmp_path: Path, teacher: FaultTeacher) -> None:
    chunks = make_chunks()[:2]
    uri = storage.write_jsonl((tmp_path / "chunks.jsonl").as_uri(),
                              [{"doc_id": c.doc_id, "chunk_id": c.chunk_id, "text": c.text, "pages": [2, 3]}
                               for c in chunks])
    events = generate(stub, qagen_pb2.GeneratePairsRequest(chunks_uri=uri))
    pairs = [e.pair for e in events if e.HasField("pair")]
    assert pairs and all((p.page_start, p.page_end) == (2, 3) for p in pairs)


@pytest.mark.parametrize(("request_", "code"), [
    (qagen_pb2.GeneratePairsRequest(), grpc.StatusCode.INVALID_ARGUMENT),
    (qagen_pb2.GeneratePairsRequest(chunks_uri=f"{Path(tempfile.gettempdir()).as_uri()}/none/chunks.jsonl"),
     grpc.StatusCode.NOT_FOUND),
    # Outside the service's URI prefixes (by default: working directory, temporary directory, cache).
    (qagen_pb2.GeneratePairsRequest(chunks_uri="file:///nonexistent/chunks.jsonl"), grpc.StatusCode.PERMISSION_DENIED),
    (qagen_pb2.GeneratePairsRequest(chunks=[common_pb2.Chunk(doc_id="d", chunk_id="c", text="Some text here.")],
                                    options=qagen_pb2.GenerationOptions(pairs_per_chunk=500)),
     grpc.StatusCode.INVALID_ARGUMENT),
    (qagen_pb2.GeneratePairsRequest(chunks=[common_pb2.Chunk(doc_id="d", chunk_id="c", text="Some text here.")],
                                    options=qagen_pb2.GenerationOptions(teacher_base_url="ftp://x")),
     grpc.StatusCode.INVALID_ARGUMENT),
    (qagen_pb2.GeneratePairsRequest(chunks=[common_pb2.Chunk(doc_id="d", chunk_id="c", text=TEXTS[0])],
                                    options=qagen_pb2.GenerationOptions(teacher_base_url="http://127.0.0.1:9/v1",
                                                                        max_concurrency=1)),
     grpc.StatusCode.PERMISSION_DENIED),  # not one of the server's teachers: its key never goes there
])
def test_bad_requests_get_clear_status_codes(stub: Any, request_: qagen_pb2.GeneratePairsRequest,
                                             code: grpc.StatusCode) -> None:
    if code == grpc.StatusCode.OK:
        events = generate(stub, request_)
        assert events[-1].summary.chunks_failed == 1 and events[0].failure.code == "UNAVAILABLE"
        return
    with pytest.raises(grpc.RpcError) as raised:
        generate(stub, request_)
    assert raised.value.code() == code
    assert raised.value.details()


def test_split_of_a_missing_file_is_not_found(stub: Any, tmp_path: Path) -> None:
    with pytest.raises(grpc.RpcError) as raised:
        client.unary(stub.SplitDataset, qagen_pb2.SplitDatasetRequest(
            qa_uri=(tmp_path / "none.jsonl").as_uri(), out_uri=tmp_path.as_uri()))
    assert raised.value.code() == grpc.StatusCode.NOT_FOUND


def test_a_zero_share_is_a_value_not_the_server_default(stub: Any, tmp_path: Path) -> None:
    # The server's paraphrase_share is 1.0; before these fields were `optional`, 0 read as "not given".
    chunks = make_chunks()
    none_asked = qagen_pb2.GenerationOptions(mode=qagen_pb2.GENERATION_MODE_QUESTION_ANSWER, pairs_per_chunk=2,
                                             paraphrase_share=0.0)
    events = generate(stub, qagen_pb2.GeneratePairsRequest(chunks=[*map(to_proto, chunks)], options=none_asked))
    pairs = [e.pair for e in events if e.HasField("pair")]
    assert pairs and not any(p.paraphrase_question for p in pairs)

    default = generate(stub, qagen_pb2.GeneratePairsRequest(chunks=[*map(to_proto, chunks)], options=qagen_pb2.
                                                            GenerationOptions(pairs_per_chunk=2)))
    with_twins = [e.pair for e in default if e.HasField("pair")]
    assert sum(1 for p in with_twins if p.paraphrase_question) > len(with_twins) / 2

    qa_uri = storage.write_jsonl((tmp_path / "qa.jsonl").as_uri(), [
        {"question": p.question, "answer": p.answer, "chunk_id": p.chunk_id, "doc_id": p.doc_id,
         "page_start": p.page_start, "page_end": p.page_end, "pair_id": p.pair_id} for p in pairs])

    def split(**shares: float) -> dict[str, int]:
        reply = client.unary(stub.SplitDataset, qagen_pb2.SplitDatasetRequest(
            qa_uri=qa_uri, out_uri=(tmp_path / f"split-{len(shares)}").as_uri() + "/", seed=3, **shares))
        return dict(reply.counts)

    assert split()["eval_seen"] > 0  # the server's seen_share (0.1)
    assert split(seen_share=0.0)["eval_seen"] == 0
    with pytest.raises(grpc.RpcError) as raised:
        split(seen_share=-0.5)
    assert raised.value.code() == grpc.StatusCode.INVALID_ARGUMENT and "seen_share" in (raised.value.details() or "")
