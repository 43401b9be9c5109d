"""ScoringService settings (env DOC2SLM_<FIELD>, or `--set FIELD=VALUE`)."""

from __future__ import annotations

from doc2slm_common.config import Doc2slmSettings
from doc2slm_common.contracts import EMBEDDING
from pydantic import Field, model_validator

from doc2slm_scoring.similarity import Thresholds


class ScoringSettings(Doc2slmSettings):
    embedding_address: str = Field(
        f"127.0.0.1:{EMBEDDING.port}", min_length=1,
        description="host:port of EmbeddingService, used when pairs are given as texts and for reports.",
    )
    embedding_deadline_s: float = Field(
        120.0, gt=0, le=3600, description="Deadline of each call to the embedding service, in seconds."
    )
    embedding_connect_timeout_s: float = Field(
        10.0, gt=0, le=600, description="How long to wait for a connection to the embedding service."
    )
    embedding_batch_texts: int = Field(
        256, ge=1, le=100_000,
        description="Texts per Embed call (lowered to the embedding service's own limit when smaller).",
    )
    acceptable_threshold: float = Field(
        0.5, ge=-1, le=1, description="Default cosine at or above which an answer is acceptable."
    )
    borderline_threshold: float = Field(
        0.4, ge=-1, le=1, description="Default cosine at or above which an answer is borderline."
    )
    bootstrap_samples: int = Field(
        2000, ge=1, le=1_000_000, description="Default bootstrap resamples for the 95% intervals."
    )
    max_bootstrap_samples: int = Field(
        50_000, ge=1, le=10_000_000,
        description="Most resamples a request may ask for (RESOURCE_EXHAUSTED past it)."
    )
    max_pairs_per_request: int = Field(
        100_000, ge=1, le=10_000_000,
        description="Most pairs or scores in one request (RESOURCE_EXHAUSTED past it)."
    )
    max_report_records: int = Field(
        100_000, ge=1, le=10_000_000,
        description="Most records in one answers file (RESOURCE_EXHAUSTED past it)."
    )
    report_cases_per_set: int = Field(
        5, ge=0, le=100, description="Worst and best cases shown per evaluation set in the report."
    )

    @model_validator(mode="after")
    def _thresholds_in_order(self) -> ScoringSettings:
        if self.borderline_threshold > self.acceptable_threshold:
            raise ValueError(
                f"borderline_threshold {self.borderline_threshold} must not exceed acceptable_threshold "
                f"{self.acceptable_threshold}"
            )
        return self

    @property
    def thresholds(self) -> Thresholds:
        return Thresholds(acceptable=self.acceptable_threshold, borderline=self.borderline_threshold)
