"""Building a generation run from settings plus per-call options (flags or a request's fields).

The CLI (in-process), the servicer and the pipeline all go through `open_run`, so one set of checks
decides what a valid option is and every caller gets the same error message for a bad one.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from doc2slm_common.config import ConfigError, load_settings
from doc2slm_common.errors import InvalidInput

from doc2slm_qagen.budget import Budget
from doc2slm_qagen.cache import TeacherCache
from doc2slm_qagen.chunkwork import WorkPlan
from doc2slm_qagen.generate import PairGenerator
from doc2slm_qagen.settings import QAGenSettings
from doc2slm_qagen.split import SplitConfig
from doc2slm_qagen.teacher import TeacherClient

RUN_OPTIONS = ("teacher_base_url", "teacher_model", "mode", "pairs_per_chunk", "questions_per_answer",
               "max_concurrency", "max_requests", "max_tokens", "paraphrase_share", "cache_uri")


def with_options(settings: QAGenSettings, **options: Any) -> QAGenSettings:
    """The settings with the given options (None: not given) applied and validated together."""
    unknown = set(options) - set(QAGenSettings.model_fields)
    if unknown:
        raise InvalidInput(f"unknown option(s): {', '.join(sorted(unknown))}")
    given = {k: v for k, v in options.items() if v is not None}
    if not given:
        return settings
    try:
        return load_settings(QAGenSettings, **{**settings.model_dump(), **given})
    except ConfigError as error:
        raise InvalidInput(str(error).replace("\n", "; ")) from None


@dataclass
class Run:
    generator: PairGenerator
    teacher: TeacherClient
    settings: QAGenSettings
    cache: TeacherCache | None

    def close(self) -> None:
        self.teacher.close()
        if self.cache is not None:
            self.cache.close()


def open_run(settings: QAGenSettings, use_cache: bool = True, **options: Any) -> Run:
    effective = with_options(settings, **options)
    budget = Budget(effective.max_requests, effective.max_tokens)
    teacher = TeacherClient(effective.teacher_config(), budget)
    plan = WorkPlan(mode=effective.generation_mode, pairs_per_chunk=effective.pairs_per_chunk,
                    paraphrase_share=effective.paraphrase_share,
                    near_duplicate_threshold=effective.near_duplicate_threshold,
                    filters=effective.filter_settings(), questions_per_answer=effective.questions_per_answer,
                    views=effective.views)
    cache = TeacherCache(effective.cache_uri) if use_cache else None
    generator = PairGenerator(teacher, cache, plan, effective.max_concurrency, effective.unreachable_abort_after)
    return Run(generator=generator, teacher=teacher, settings=effective, cache=cache)


def split_config(settings: QAGenSettings, seed: int | None = None, heldout_docs_share: float | None = None,
                 seen_share: float | None = None, embedding_address: str | None = None,
                 validation_share: float | None = None) -> SplitConfig:
    effective = with_options(settings, split_seed=seed, heldout_docs_share=heldout_docs_share, seen_share=seen_share,
                             split_embedding_address=embedding_address, validation_share=validation_share)
    return SplitConfig(seed=effective.split_seed, heldout_docs_share=effective.heldout_docs_share,
                       seen_share=effective.seen_share, validation_share=effective.validation_share,
                       near_duplicate_threshold=effective.near_duplicate_threshold,
                       embedding_address=effective.split_embedding_address,
                       embedding_threshold=effective.split_embedding_threshold)
