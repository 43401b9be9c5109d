"""Per-question scores of both systems: cosine from the embeddings, token F1 and ROUGE-L, bucket.

The embeddings come from an `embed(texts) -> array` callable so the pipeline can pass an in-process
encoder or a gRPC client of EmbeddingService; either way every distinct text is embedded once.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass

import numpy as np
from doc2slm_common.errors import InvalidInput

from doc2slm_scoring.lexical import rouge_l, token_f1
from doc2slm_scoring.report.records import SYSTEMS, AnswerRecord
from doc2slm_scoring.similarity import Thresholds, bucket_of, cosine_per_pair

EmbedFn = Callable[[list[str]], np.ndarray]

# An empty (or whitespace) answer says nothing: it scores 0 on every measure instead of whatever
# direction an embedding model gives the empty string.
EMPTY_ANSWER_SCORE = 0.0


@dataclass(frozen=True)
class SystemScore:
    cosine: float
    token_f1: float
    rouge_l: float
    bucket: str
    empty: bool


@dataclass(frozen=True)
class ScoredRecord:
    record: AnswerRecord
    scores: dict[str, SystemScore]

    @property
    def cosine_difference(self) -> float:
        return self.scores["tuned"].cosine - self.scores["base"].cosine


def embed_distinct(texts: Sequence[str], embed: EmbedFn) -> dict[str, np.ndarray]:
    """One vector per distinct text, checked for shape (the callable may be someone else's client)."""
    distinct = list(dict.fromkeys(texts))
    if not distinct:
        return {}
    vectors = np.asarray(embed(distinct), dtype=np.float64)
    if vectors.ndim != 2 or vectors.shape[0] != len(distinct):
        raise InvalidInput(
            f"the embedding function returned shape {vectors.shape} for {len(distinct)} texts"
        )
    return {text: vectors[row] for row, text in enumerate(distinct)}


def score_answers(
    answers: Sequence[str],
    references: Sequence[str],
    vectors: Mapping[str, np.ndarray],
    thresholds: Thresholds,
) -> list[SystemScore]:
    """Scores of answer i against reference i; `vectors` holds every non-empty text (embed_distinct)."""
    answered = [i for i, answer in enumerate(answers) if answer.strip()]
    cosines = np.full(len(answers), EMPTY_ANSWER_SCORE)
    if answered:
        cosines[answered] = cosine_per_pair(
            [vectors[answers[i]] for i in answered], [vectors[references[i]] for i in answered]
        )
    scores = []
    for answer, reference, cosine in zip(answers, references, cosines.tolist(), strict=True):
        empty = not answer.strip()
        scores.append(SystemScore(
            cosine=cosine,
            token_f1=EMPTY_ANSWER_SCORE if empty else token_f1(answer, reference),
            rouge_l=EMPTY_ANSWER_SCORE if empty else rouge_l(answer, reference),
            bucket=bucket_of(cosine, thresholds),
            empty=empty,
        ))
    return scores


def texts_to_embed(answers: Sequence[str], references: Sequence[str]) -> list[str]:
    return [*references, *(answer for answer in answers if answer.strip())]


def score_records(
    records: Sequence[AnswerRecord], embed: EmbedFn, thresholds: Thresholds
) -> list[ScoredRecord]:
    references = [record.reference for record in records]
    answers = {system: [record.answer_of(system) for record in records] for system in SYSTEMS}
    # Both systems' answers in one call: a tuned answer equal to the base answer is embedded once.
    vectors = embed_distinct(
        [text for system in SYSTEMS for text in texts_to_embed(answers[system], references)], embed
    )
    per_system = {
        system: score_answers(answers[system], references, vectors, thresholds) for system in SYSTEMS
    }
    return [
        ScoredRecord(record=record, scores={system: per_system[system][index] for system in SYSTEMS})
        for index, record in enumerate(records)
    ]


def worst_and_best(
    scored: Sequence[ScoredRecord], count: int
) -> tuple[list[ScoredRecord], list[ScoredRecord]]:
    """The `count` lowest and highest tuned-cosine questions (the tuned model is what is judged)."""
    ranked = sorted(scored, key=lambda item: item.scores["tuned"].cosine)
    worst = ranked[:count]
    shown = {id(item) for item in worst}
    # In a small set the two lists would overlap; a case is shown once, among the worst.
    best = [item for item in reversed(ranked[-count:]) if id(item) not in shown] if count else []
    return worst, best
