"""QAGen settings: the teacher endpoint, generation defaults, filters, limits. Env DOC2SLM_<FIELD>; the
teacher's URL and key also from the OpenAI client's usual OPENAI_BASE_URL / OPENAI_API_KEY."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Literal

from doc2slm_common.config import Doc2slmSettings
from doc2slm_common.contracts import OPENAI_ROUTE_PREFIX, SERVING_HTTP_PORT
from pydantic import AliasChoices, Field, SecretStr, field_validator
from pydantic_settings import SettingsConfigDict

from doc2slm_qagen.filters import FilterSettings
from doc2slm_qagen.prompts import Mode
from doc2slm_qagen.teacher import TeacherConfig, normalize_base_url

LOCAL_TEACHER_URL = f"http://127.0.0.1:{SERVING_HTTP_PORT}{OPENAI_ROUTE_PREFIX}"
LOCAL_TEACHER_MODEL = "smollm2-135m-instruct"
DEFAULT_MAX_REQUESTS = 50_000
DEFAULT_CACHE_URI = (Path.home() / ".cache" / "doc2slm" / "qagen-cache").as_uri()


class QAGenSettings(Doc2slmSettings):
    model_config = SettingsConfigDict(**Doc2slmSettings.model_config, populate_by_name=True)

    teacher_base_url: str = Field(
        LOCAL_TEACHER_URL, min_length=1, pattern=r"^https?://",
        validation_alias=AliasChoices("teacher_base_url", "DOC2SLM_TEACHER_BASE_URL", "OPENAI_BASE_URL"),
        description="OpenAI-compatible base URL of the teacher (default: doc2slm's own local serving).")
    teacher_api_key: SecretStr = Field(
        SecretStr(""), validation_alias=AliasChoices("teacher_api_key", "DOC2SLM_TEACHER_API_KEY", "OPENAI_API_KEY"),
        description="API key of the teacher endpoint; never logged.")
    teacher_allowed_base_urls: str = Field(
        "", description="Comma-separated further teacher base URLs a GeneratePairs request may choose; the "
                        "server's key is only ever sent to these and to teacher_base_url (docs/security.md).")
    teacher_model: str = Field(LOCAL_TEACHER_MODEL, min_length=1, description="Teacher model name.")
    teacher_timeout_s: float = Field(120.0, gt=0, le=3600, description="Time limit of one teacher request.")
    teacher_max_retries: int = Field(5, ge=0, le=20, description="Retries of a request after 429, 5xx or timeout.")
    teacher_backoff_base_s: float = Field(0.5, ge=0, le=60,
                                          description="First retry wait without Retry-After; doubles.")
    teacher_backoff_max_s: float = Field(30.0, ge=0, le=600, description="Longest backoff wait between retries.")
    teacher_json_mode: Literal["auto", "on", "off"] = Field(
        "auto", description="Ask for response_format json_object: auto (drop it if the endpoint refuses), on, off.")
    teacher_temperature: float = Field(0.0, ge=0, le=2, description="Sampling temperature of the teacher.")
    teacher_max_completion_tokens: int = Field(512, ge=16, le=32768, description="Reply length limit per request.")
    mode: Literal["qa", "answer_first"] = Field(
        "answer_first", description="qa: the teacher writes questions and answers; answer_first: answers are "
                                    "the chunk's own sentences and the teacher writes the questions (weak teachers).")
    pairs_per_chunk: int = Field(3, ge=1, le=20, description="Pairs asked for per chunk.")
    qa_views: str = Field("summary,facts", pattern=r"^(|(summary|facts)(,(summary|facts))*)$",
                          description="qa mode: rewritten views of each chunk that each yield pairs too, "
                                      "comma-separated from summary, facts; empty: none (a strong teacher "
                                      "makes 1 + 2 x views requests per chunk).")
    questions_per_answer: int = Field(3, ge=1, le=8, description="answer_first: training questions per answer "
                                                                 "sentence, each in another framing (direct, "
                                                                 "reverse, a user's situation).")
    max_concurrency: int = Field(4, ge=1, le=256, description="Teacher requests in flight at once.")
    # A default budget: a request that names no budget still cannot spend the key without end.
    max_requests: int = Field(DEFAULT_MAX_REQUESTS, ge=0, description="Stop after this many teacher requests "
                                                                      "(0: no limit); a request may lower it, "
                                                                      "never raise it.")
    max_tokens: int = Field(0, ge=0, description="Stop after this many completion tokens (0: no limit).")
    paraphrase_share: float = Field(0.5, ge=0, le=1, description="Share of chunks whose kept questions are asked "
                                                                 "again in other words (held-out questions).")
    cache_uri: str = Field(DEFAULT_CACHE_URI, min_length=1, description="file:// or s3:// prefix of the teacher cache.")
    answer_grounding: float = Field(0.6, ge=0, le=1, description="Share of an answer's content words that must be "
                                                                 "in its chunk.")
    question_grounding: float = Field(0.4, ge=0, le=1, description="Share of a question's content words that must "
                                                                   "be in its chunk.")
    question_in_answer: float = Field(0.4, ge=0, le=1, description="Answer-first mode: share of a question's content "
                                                                  "words that must be in its answer sentence "
                                                                  "(0: no check).")
    near_duplicate_threshold: float = Field(0.8, gt=0, le=1, description="Token-set Jaccard at which two questions "
                                                                         "are near-duplicates.")
    max_question_chars: int = Field(300, ge=10, description="Longer questions are dropped.")
    max_answer_chars: int = Field(1200, ge=10, description="Longer answers are dropped.")
    max_chunks_per_request: int = Field(100_000, ge=1, description="Largest number of chunks in one call.")
    unreachable_abort_after: int = Field(3, ge=1, le=1000, description="End the run when this many chunks in a "
                                                                       "row find the teacher unreachable.")

    split_seed: int = Field(13, description="Seed of the train/eval split.")
    heldout_docs_share: float = Field(0.2, ge=0, lt=1, description="Share of documents held back whole "
                                                                   "(only with at least three documents).")
    seen_share: float = Field(0.1, ge=0, lt=1, description="Share of train pairs copied into eval_seen.")
    validation_share: float = Field(0.25, ge=0, lt=1, description="Share of held-out questions set aside to pick "
                                                                  "the fine-tune checkpoint (eval_validation; "
                                                                  "only with 16 or more, at most 64).")

    split_embedding_address: str = Field("", description="EmbeddingService HOST:PORT: when set, the split also drops "
                                                          "held-out questions semantically close to a train question.")
    split_embedding_threshold: float = Field(0.95, gt=0, le=1, description="Cosine at which the embedding check "
                                                                           "calls two questions duplicates.")

    def teacher_config(self, base_url: str = "", model: str = "") -> TeacherConfig:
        return TeacherConfig(
            base_url=base_url or self.teacher_base_url, model=model or self.teacher_model,
            api_key=self.teacher_api_key.get_secret_value(), timeout_s=self.teacher_timeout_s,
            max_retries=self.teacher_max_retries, backoff_base_s=self.teacher_backoff_base_s,
            backoff_max_s=self.teacher_backoff_max_s, json_mode=self.teacher_json_mode,
            temperature=self.teacher_temperature, max_completion_tokens=self.teacher_max_completion_tokens)

    @field_validator("teacher_allowed_base_urls")
    @classmethod
    def _http_urls_only(cls, value: str) -> str:
        bad = [url.strip() for url in value.split(",") if url.strip() and not re.match(r"^https?://", url.strip())]
        if bad:
            raise ValueError(f"every allowed teacher base URL must start with http:// or https://, not {bad}")
        return value

    def allowed_teacher_urls(self) -> frozenset[str]:
        """The base URLs that may receive the server's key, normalised (see teacher.normalize_base_url)."""
        extra = [url for url in self.teacher_allowed_base_urls.split(",") if url.strip()]
        return frozenset(normalize_base_url(url) for url in [self.teacher_base_url, *extra])

    def filter_settings(self) -> FilterSettings:
        # In question-answer mode the teacher writes the answer too, which need not repeat the question's words.
        answer_first = self.generation_mode is Mode.ANSWER_FIRST
        return FilterSettings(max_question_chars=self.max_question_chars, max_answer_chars=self.max_answer_chars,
                              answer_grounding=self.answer_grounding, question_grounding=self.question_grounding,
                              question_in_answer=self.question_in_answer if answer_first else 0.0)

    @property
    def views(self) -> tuple[str, ...]:
        return tuple(dict.fromkeys(v for v in self.qa_views.split(",") if v))

    @property
    def generation_mode(self) -> Mode:
        return Mode.ANSWER_FIRST if self.mode == "answer_first" else Mode.QUESTION_ANSWER
