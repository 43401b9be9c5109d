"""ScoringService on a real loopback server, calling a real EmbeddingService for text pairs."""

from __future__ import annotations

import json
import math
import socket
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import grpc
import numpy as np
import pytest
from doc2slm.v1 import embedding_pb2, scoring_pb2, scoring_pb2_grpc
from doc2slm_common.client import open_channel, unary
from doc2slm_common.server import RunningServer
from doc2slm_common.storage import write_jsonl

from tests.fixtures import start_scoring


def scoring_server(embedding_address: str, **settings: object) -> RunningServer:
    options = {"max_pairs_per_request": 40, "max_bootstrap_samples": 5000, "bootstrap_samples": 300,
               "embedding_batch_texts": 7, "embedding_connect_timeout_s": 2.0, **settings}
    return start_scoring(embedding_address, **options)


@pytest.fixture(scope="module")
def stub(embedding_service: str) -> Iterator[scoring_pb2_grpc.ScoringServiceStub]:
    running = scoring_server(embedding_service)
    with open_channel(f"127.0.0.1:{running.port}") as channel:
        yield scoring_pb2_grpc.ScoringServiceStub(channel)
    running.stop(0)


def vector(values: list[float]) -> embedding_pb2.Vector:
    return embedding_pb2.Vector(values=values)


def code_of(call, request) -> grpc.StatusCode:  # type: ignore[no-untyped-def]
    with pytest.raises(grpc.RpcError) as caught:
        unary(call, request, deadline_s=60, retries=0)
    return caught.value.code()


def test_score_vector_pairs(stub: scoring_pb2_grpc.ScoringServiceStub) -> None:
    rng = np.random.default_rng(0)
    candidates, references = rng.normal(size=(12, 8)), rng.normal(size=(12, 8))
    reply = unary(stub.ScorePairs, scoring_pb2.ScorePairsRequest(
        candidates=[vector(list(v)) for v in candidates], references=[vector(list(v)) for v in references],
        thresholds=scoring_pb2.Thresholds(acceptable=0.2, borderline=0.0), seed=4))
    expected = np.einsum("ij,ij->i", candidates, references) / (
        np.linalg.norm(candidates, axis=1) * np.linalg.norm(references, axis=1))
    # Vectors travel as float32: agreement to float32 precision.
    np.testing.assert_allclose([s.cosine for s in reply.scores], expected, atol=1e-6)
    assert reply.statistics.n == 12
    assert reply.statistics.mean == pytest.approx(expected.mean(), abs=1e-6)
    assert reply.statistics.mean_ci95.low < reply.statistics.mean < reply.statistics.mean_ci95.high
    assert reply.statistics.share_acceptable == pytest.approx(np.mean(expected >= 0.2))  # none near 0.2
    buckets = [s.bucket for s in reply.scores]
    assert buckets.count(scoring_pb2.BUCKET_ACCEPTABLE) == int(np.sum(expected >= 0.2))
    assert reply.embedding_model == ""


def test_score_text_pairs_through_the_embedding_service(
    stub: scoring_pb2_grpc.ScoringServiceStub, facts: list[tuple[str, str, str, str]]
) -> None:
    pairs = [scoring_pb2.TextPair(candidate=tuned, reference=reference) for _, reference, _, tuned in facts]
    pairs.append(scoring_pb2.TextPair(candidate="Paris is the capital of France.", reference=facts[0][1]))
    pairs.append(scoring_pb2.TextPair(candidate="", reference=facts[1][1]))
    reply = unary(stub.ScorePairs, scoring_pb2.ScorePairsRequest(texts=pairs))
    assert reply.embedding_model == "sentence-transformers/all-MiniLM-L6-v2"
    cosines = [s.cosine for s in reply.scores]
    assert min(cosines[: len(facts)]) > 0.5  # right answers
    assert cosines[-2] < 0.4  # unrelated
    assert cosines[-1] == 0.0 and reply.scores[-1].bucket == scoring_pb2.BUCKET_UNACCEPTABLE  # empty
    assert reply.scores[3].token_f1 == pytest.approx(1.0) and reply.scores[3].rouge_l == pytest.approx(1.0)
    assert 0 < reply.statistics.mean_token_f1 < 1


def test_compare_systems(stub: scoring_pb2_grpc.ScoringServiceStub) -> None:
    base = [0.3, 0.4, 0.5, 0.6, 0.2, 0.45, 0.55, 0.35, 0.5, 0.4]
    tuned = [0.5, 0.4, 0.7, 0.65, 0.1, 0.6, 0.7, 0.5, 0.6, 0.55]
    reply = unary(stub.CompareSystems, scoring_pb2.CompareSystemsRequest(baseline=base, candidate=tuned))
    assert reply.n == 10
    assert reply.mean_difference == pytest.approx(np.mean(np.subtract(tuned, base)))
    assert (reply.win_rate, reply.tie_rate) == (pytest.approx(0.8), pytest.approx(0.1))
    assert reply.difference_ci95.low < reply.mean_difference < reply.difference_ci95.high


def test_build_report_from_an_answers_uri(
    stub: scoring_pb2_grpc.ScoringServiceStub, tmp_path: Path, facts: list[Any], make_answers: Any
) -> None:
    records = make_answers("eval_heldout_questions", facts) + make_answers("eval_seen", facts[:3])
    answers = write_jsonl(str(tmp_path / "answers.jsonl"), records)
    reply = unary(stub.BuildReport, scoring_pb2.BuildReportRequest(
        answers_uri=answers, out_uri=str(tmp_path / "report"), bootstrap_samples=200, seed=2))
    metrics = json.loads(reply.metrics_json)
    assert metrics["set_order"] == ["eval_heldout_questions", "eval_seen"]
    assert metrics["embedding_model"] == "sentence-transformers/all-MiniLM-L6-v2"
    assert reply.report_uri.endswith("report/report.html")
    assert (tmp_path / "report" / "similarity_hist.png").stat().st_size > 0


NAN = math.nan


@pytest.mark.parametrize(
    ("method", "request_message", "expected"),
    [
        ("ScorePairs", scoring_pb2.ScorePairsRequest(), grpc.StatusCode.INVALID_ARGUMENT),
        ("ScorePairs", scoring_pb2.ScorePairsRequest(candidates=[vector([1, 0])], references=[vector([1, 0, 0])]),
         grpc.StatusCode.INVALID_ARGUMENT),
        ("ScorePairs", scoring_pb2.ScorePairsRequest(candidates=[vector([1, NAN])], references=[vector([1, 0])]),
         grpc.StatusCode.INVALID_ARGUMENT),
        ("ScorePairs", scoring_pb2.ScorePairsRequest(candidates=[vector([1, 0])], references=[]),
         grpc.StatusCode.INVALID_ARGUMENT),
        ("ScorePairs", scoring_pb2.ScorePairsRequest(
            candidates=[vector([1, 0])], references=[vector([1, 0])],
            texts=[scoring_pb2.TextPair(candidate="a", reference="b")]), grpc.StatusCode.INVALID_ARGUMENT),
        ("ScorePairs", scoring_pb2.ScorePairsRequest(texts=[scoring_pb2.TextPair(candidate="a", reference="")]),
         grpc.StatusCode.INVALID_ARGUMENT),
        ("ScorePairs", scoring_pb2.ScorePairsRequest(
            candidates=[vector([1, 0])] * 41, references=[vector([1, 0])] * 41), grpc.StatusCode.RESOURCE_EXHAUSTED),
        ("ScorePairs", scoring_pb2.ScorePairsRequest(
            candidates=[vector([1, 0])], references=[vector([1, 0])], bootstrap_samples=5001),
         grpc.StatusCode.RESOURCE_EXHAUSTED),
        ("ScorePairs", scoring_pb2.ScorePairsRequest(
            candidates=[vector([1, 0])], references=[vector([1, 0])],
            thresholds=scoring_pb2.Thresholds(acceptable=0.3, borderline=0.6)), grpc.StatusCode.INVALID_ARGUMENT),
        ("ScorePairs", scoring_pb2.ScorePairsRequest(
            texts=[scoring_pb2.TextPair(candidate="x" * 30_000, reference="short reference")]),
         grpc.StatusCode.OK),
        ("CompareSystems", scoring_pb2.CompareSystemsRequest(baseline=[0.1, 0.2], candidate=[0.3]),
         grpc.StatusCode.INVALID_ARGUMENT),
        ("CompareSystems", scoring_pb2.CompareSystemsRequest(), grpc.StatusCode.INVALID_ARGUMENT),
        ("CompareSystems", scoring_pb2.CompareSystemsRequest(baseline=[0.1], candidate=[NAN]),
         grpc.StatusCode.INVALID_ARGUMENT),
        ("BuildReport", scoring_pb2.BuildReportRequest(answers_uri="", out_uri="/tmp/x"),
         grpc.StatusCode.INVALID_ARGUMENT),
        ("BuildReport", scoring_pb2.BuildReportRequest(answers_uri="/tmp/doc2slm-none/answers.jsonl",
                                                       out_uri="/tmp/x"), grpc.StatusCode.NOT_FOUND),
        # Outside the URI prefixes a service may use (docs/security.md).
        ("BuildReport", scoring_pb2.BuildReportRequest(answers_uri="/nonexistent/answers.jsonl", out_uri="/tmp/x"),
         grpc.StatusCode.PERMISSION_DENIED),
        ("BuildReport", scoring_pb2.BuildReportRequest(answers_uri="ftp://host/answers.jsonl", out_uri="/tmp/x"),
         grpc.StatusCode.INVALID_ARGUMENT),
    ],
)
def test_bad_inputs_get_their_code_and_the_service_keeps_serving(
    stub: scoring_pb2_grpc.ScoringServiceStub, method: str, request_message, expected: grpc.StatusCode
) -> None:  # type: ignore[no-untyped-def]
    call = getattr(stub, method)
    if expected == grpc.StatusCode.OK:
        # Texts past the embedding service's length limit are cut to it: the model sees 256 word pieces.
        assert unary(call, request_message).statistics.n == 1
    else:
        assert code_of(call, request_message) == expected
    alive = unary(stub.CompareSystems, scoring_pb2.CompareSystemsRequest(baseline=[0.1], candidate=[0.2]))
    assert alive.n == 1


def test_malformed_answers_file_is_invalid_argument(
    stub: scoring_pb2_grpc.ScoringServiceStub, tmp_path: Path
) -> None:
    bad = tmp_path / "answers.jsonl"
    bad.write_text('{"question": "q", "reference": "r"}\n')
    request = scoring_pb2.BuildReportRequest(answers_uri=str(bad), out_uri=str(tmp_path / "out"))
    assert code_of(stub.BuildReport, request) == grpc.StatusCode.INVALID_ARGUMENT
    bad.write_text("not json\n")
    assert code_of(stub.BuildReport, request) == grpc.StatusCode.INVALID_ARGUMENT


def test_text_pairs_without_an_embedding_service_are_unavailable_quickly() -> None:
    with socket.socket() as probe:  # a port nothing listens on
        probe.bind(("127.0.0.1", 0))
        dead_port = probe.getsockname()[1]
    running = scoring_server(f"127.0.0.1:{dead_port}", embedding_connect_timeout_s=1.0)
    try:
        with open_channel(f"127.0.0.1:{running.port}") as channel:
            stub = scoring_pb2_grpc.ScoringServiceStub(channel)
            request = scoring_pb2.ScorePairsRequest(texts=[scoring_pb2.TextPair(candidate="a", reference="b")])
            assert code_of(stub.ScorePairs, request) == grpc.StatusCode.UNAVAILABLE
            # Vector pairs need no embedding service and still work.
            reply = unary(stub.ScorePairs, scoring_pb2.ScorePairsRequest(
                candidates=[vector([1, 0])], references=[vector([0.6, 0.8])]))
            assert reply.scores[0].cosine == pytest.approx(0.6)
    finally:
        running.stop(0)
