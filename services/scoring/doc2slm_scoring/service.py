"""ScoringService servicer: thin translation between the proto messages and the scoring library."""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Protocol

import grpc
import numpy as np
from doc2slm.v1 import scoring_pb2, scoring_pb2_grpc
from doc2slm_common import storage
from doc2slm_common.contracts import SCORING
from doc2slm_common.errors import InvalidInput, LimitExceeded
from doc2slm_common.server import ServiceBinding

from doc2slm_scoring.embedding_client import EmbeddingClient
from doc2slm_scoring.report.build import build_report
from doc2slm_scoring.report.scored import SystemScore, embed_distinct, score_answers, texts_to_embed
from doc2slm_scoring.settings import ScoringSettings
from doc2slm_scoring.similarity import Thresholds, bucket_of, cosine_per_pair
from doc2slm_scoring.statistics import compare_paired, describe_scores

_BUCKETS = {
    "acceptable": scoring_pb2.BUCKET_ACCEPTABLE,
    "borderline": scoring_pb2.BUCKET_BORDERLINE,
    "unacceptable": scoring_pb2.BUCKET_UNACCEPTABLE,
}


class Embedder(Protocol):
    """Where text pairs and reports get their vectors: EmbeddingClient in the service; `doc2slm evaluate`
    without a server hands the servicer an in-process encoder, which has the same two members."""

    @property
    def model_name(self) -> str: ...

    def embed(self, texts: Sequence[str]) -> np.ndarray: ...


class ScoringServicer(scoring_pb2_grpc.ScoringServiceServicer):
    def __init__(self, settings: ScoringSettings, embedding: Embedder) -> None:
        self.settings = settings
        self.embedding = embedding

    def _thresholds(
        self, request: scoring_pb2.ScorePairsRequest | scoring_pb2.BuildReportRequest
    ) -> Thresholds:
        if request.HasField("thresholds"):
            given = request.thresholds
            return Thresholds(acceptable=given.acceptable, borderline=given.borderline)
        return self.settings.thresholds

    def _samples(self, requested: int) -> int:
        if requested < 0:
            raise InvalidInput(f"bootstrap_samples must not be negative, got {requested}")
        if requested > self.settings.max_bootstrap_samples:
            raise LimitExceeded(
                f"bootstrap_samples {requested} is over the limit {self.settings.max_bootstrap_samples}"
            )
        return requested or self.settings.bootstrap_samples

    def _check_count(self, count: int) -> None:
        if count == 0:
            raise InvalidInput("empty input: no pairs given")
        if count > self.settings.max_pairs_per_request:
            raise LimitExceeded(
                f"{count} pairs in one request; the limit is {self.settings.max_pairs_per_request}"
            )

    def ScorePairs(
        self, request: scoring_pb2.ScorePairsRequest, context: grpc.ServicerContext
    ) -> scoring_pb2.ScorePairsResponse:
        thresholds, samples = self._thresholds(request), self._samples(request.bootstrap_samples)
        has_vectors = bool(request.candidates) or bool(request.references)
        if has_vectors and request.texts:
            raise InvalidInput("give either vector pairs or text pairs, not both")
        if request.texts:
            self._check_count(len(request.texts))
            scores = self._score_texts(request.texts, thresholds)
            model = self.embedding.model_name
        else:
            self._check_count(max(len(request.candidates), len(request.references)))
            cosines = cosine_per_pair([list(v.values) for v in request.candidates],
                                      [list(v.values) for v in request.references])
            # Vectors carry no words: the lexical scores stay 0 and the statistics omit them.
            scores = [
                SystemScore(cosine=c, token_f1=0.0, rouge_l=0.0, bucket=bucket_of(c, thresholds), empty=False)
                for c in cosines.tolist()
            ]
            model = ""
        stats = describe_scores([s.cosine for s in scores], thresholds, samples, request.seed)
        statistics = scoring_pb2.SetStatistics(
            n=stats.n, mean=stats.mean, median=stats.median, p10=stats.p10, p90=stats.p90,
            mean_ci95=scoring_pb2.Interval(low=stats.mean_ci95[0], high=stats.mean_ci95[1]),
            share_acceptable=stats.share_acceptable, share_borderline=stats.share_borderline,
            share_unacceptable=stats.share_unacceptable,
        )
        if request.texts:
            statistics.mean_token_f1 = sum(s.token_f1 for s in scores) / len(scores)
            statistics.mean_rouge_l = sum(s.rouge_l for s in scores) / len(scores)
        return scoring_pb2.ScorePairsResponse(
            scores=[scoring_pb2.PairScore(cosine=s.cosine, token_f1=s.token_f1, rouge_l=s.rouge_l,
                                          bucket=_BUCKETS[s.bucket]) for s in scores],
            statistics=statistics,
            embedding_model=model,
        )

    def _score_texts(
        self, pairs: Sequence[scoring_pb2.TextPair], thresholds: Thresholds
    ) -> list[SystemScore]:
        candidates = [pair.candidate for pair in pairs]
        references = [pair.reference for pair in pairs]
        for index, reference in enumerate(references):
            if not reference.strip():
                raise InvalidInput(f"text pair {index}: the reference is empty")
        vectors = embed_distinct(texts_to_embed(candidates, references), self.embedding.embed)
        return score_answers(candidates, references, vectors, thresholds)

    def CompareSystems(
        self, request: scoring_pb2.CompareSystemsRequest, context: grpc.ServicerContext
    ) -> scoring_pb2.CompareSystemsResponse:
        self._check_count(max(len(request.baseline), len(request.candidate)))
        comparison = compare_paired(list(request.baseline), list(request.candidate),
                                    self._samples(request.bootstrap_samples), request.seed)
        low, high = comparison.difference_ci95
        return scoring_pb2.CompareSystemsResponse(
            mean_difference=comparison.mean_difference,
            difference_ci95=scoring_pb2.Interval(low=low, high=high),
            win_rate=comparison.win_rate, tie_rate=comparison.tie_rate, n=comparison.n,
        )

    def BuildReport(
        self, request: scoring_pb2.BuildReportRequest, context: grpc.ServicerContext
    ) -> scoring_pb2.BuildReportResponse:
        return self.report(request)

    def report(self, request: scoring_pb2.BuildReportRequest) -> scoring_pb2.BuildReportResponse:
        """BuildReport without a server: `doc2slm evaluate` runs its request through this in-process, so its
        report reads the same request with the same settings as the service's."""
        if not request.answers_uri or not request.out_uri:
            raise InvalidInput("answers_uri and out_uri are both required")
        result = build_report(
            storage.read_jsonl(request.answers_uri), request.out_uri, self.embedding.embed,
            embedding_model=self.embedding.model_name, thresholds=self._thresholds(request),
            bootstrap_samples=self._samples(request.bootstrap_samples), seed=request.seed,
            cases_per_set=self.settings.report_cases_per_set, max_records=self.settings.max_report_records,
        )
        return scoring_pb2.BuildReportResponse(
            report_uri=result.report_uri, metrics_json=json.dumps(result.metrics)
        )


def embedding_client(settings: ScoringSettings) -> EmbeddingClient:
    """The client of the EmbeddingService at `settings.embedding_address`, with the settings' limits."""
    return EmbeddingClient(settings.embedding_address, settings.embedding_deadline_s,
                           settings.embedding_batch_texts, settings.embedding_connect_timeout_s)


def build_binding(settings: ScoringSettings) -> ServiceBinding:
    embedding = embedding_client(settings)
    return ServiceBinding(
        contract=SCORING,
        add_to_server=scoring_pb2_grpc.add_ScoringServiceServicer_to_server,
        servicer=ScoringServicer(settings, embedding),
        on_stop=embedding.close,
    )

