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


class MemoEmbed:
    """An embed function that embeds each distinct text once, however often it is asked (the floor
    below needs the vectors score_records already computed)."""

    def __init__(self, embed: EmbedFn) -> None:
        self._embed = embed
        self._vectors: dict[str, np.ndarray] = {}

    def __call__(self, texts: list[str]) -> np.ndarray:
        missing = [t for t in dict.fromkeys(texts) if t not in self._vectors]
        if missing:
            self._vectors.update(embed_distinct(missing, self._embed))
        return np.stack([self._vectors[t] for t in texts]) if texts else np.zeros((0, 0))


def mismatched_floor(records: Sequence[AnswerRecord], embed: EmbedFn) -> dict[str, float] | None:
    """Per system, the mean cosine of each answer with the references of the *other* questions of the set.

    What an answer scores against a reference it does not answer: the metric's floor on this corpus (the
    embeddings of one manual's sentences are never orthogonal), to read every mean beside. None with fewer
    than two distinct references."""
    references = [record.reference for record in records]
    if len(set(references)) < 2:
        return None
    ref_vectors = _unit(embed(references))
    different = np.array([[a != b for b in references] for a in references])
    floors: dict[str, float] = {}
    for system in SYSTEMS:
        answers = [record.answer_of(system) for record in records]
        rows = [i for i, answer in enumerate(answers) if answer.strip()]
        if not rows:
            floors[system] = EMPTY_ANSWER_SCORE
            continue
        similarity = _unit(embed([answers[i] for i in rows])) @ ref_vectors.T
        mask = different[rows]
        floors[system] = round(float(similarity[mask].mean()), 4) if mask.any() else EMPTY_ANSWER_SCORE
    return floors


def _unit(vectors: np.ndarray) -> np.ndarray:
    norms = np.linalg.norm(vectors, axis=1, keepdims=True)
    return np.asarray(vectors / np.where(norms == 0, 1.0, norms))


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
