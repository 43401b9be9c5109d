"""Split a QA dataset into train and three evaluation sets, with a dataset card.

- eval_heldout_docs: when there are at least three documents, every pair of a seeded sample of whole
  documents; a pair whose question and answer also occur in train (boilerplate repeated across documents)
  is removed, so nothing in it was trained on.
- eval_heldout_questions: for each training pair that has a paraphrase_question, the paraphrase with the
  same answer, kept only when it is not a near-duplicate of any training question. This asks about a
  trained fact in words the model never saw: the main measure.
- eval_validation: a seeded slice of those held-out questions, set aside before anything is reported, for
  the fine-tune step to pick its checkpoint on (choosing the stop on the reported set would flatter it).
- eval_seen: a seeded sample of training pairs, the memorisation ceiling.
The same input and seed always give the same files.
"""

from __future__ import annotations

import json
import random
from dataclasses import dataclass, field, replace
from typing import Any

from doc2slm_common import storage
from doc2slm_common.errors import InvalidInput

from doc2slm_qagen.dataset import read_pairs, read_summary
from doc2slm_qagen.records import PairRecord, make_pair_id
from doc2slm_qagen.textsim import NearDuplicateIndex, normalise

FILES = {"train": "train.jsonl", "eval_heldout_questions": "eval_heldout_questions.jsonl",
         "eval_heldout_docs": "eval_heldout_docs.jsonl", "eval_seen": "eval_seen.jsonl",
         "eval_validation": "eval_validation.jsonl"}
CARD_FILE = "dataset_card.json"
MIN_DOCS_FOR_HELDOUT = 3
# Below this many held-out questions a validation slice would be a handful of questions (pure noise for
# picking a checkpoint) taken from an already small test set: then there is none and training runs its
# configured epochs. Above, the slice is capped: 64 questions resolve the loss differences that matter.
MIN_HELDOUT_FOR_VALIDATION = 16
MAX_VALIDATION_QUESTIONS = 64
MIN_VALIDATION_QUESTIONS = 8


@dataclass(frozen=True)
class SplitConfig:
    seed: int = 13
    heldout_docs_share: float = 0.2
    seen_share: float = 0.1
    validation_share: float = 0.25
    near_duplicate_threshold: float = 0.8
    # Optional: EmbeddingService HOST:PORT for a semantic check of held-out questions against train.
    embedding_address: str = ""
    embedding_threshold: float = 0.95

    def check(self) -> None:
        for name in ("heldout_docs_share", "seen_share", "validation_share"):
            value = getattr(self, name)
            if not 0.0 <= value < 1.0:
                raise InvalidInput(f"{name} must be in [0, 1), got {value}")
        if not 0.0 < self.near_duplicate_threshold <= 1.0:
            raise InvalidInput(f"near_duplicate_threshold must be in (0, 1], got {self.near_duplicate_threshold}")


@dataclass
class Split:
    train: list[PairRecord] = field(default_factory=list)
    eval_heldout_questions: list[PairRecord] = field(default_factory=list)
    eval_heldout_docs: list[PairRecord] = field(default_factory=list)
    eval_seen: list[PairRecord] = field(default_factory=list)
    eval_validation: list[PairRecord] = field(default_factory=list)
    heldout_doc_ids: list[str] = field(default_factory=list)
    counts: dict[str, int] = field(default_factory=dict)


def _held_docs(doc_ids: list[str], share: float, rng: random.Random) -> set[str]:
    if len(doc_ids) < MIN_DOCS_FOR_HELDOUT or share <= 0:
        return set()
    count = min(max(1, round(share * len(doc_ids))), len(doc_ids) - 2)  # two documents always train
    return set(rng.sample(doc_ids, count))


def split_pairs(pairs: list[PairRecord], config: SplitConfig) -> Split:
    config.check()
    unique = sorted({p.pair_id: p for p in pairs}.values(), key=lambda p: p.pair_id)
    rng = random.Random(config.seed)
    held = _held_docs(sorted({p.doc_id for p in unique}), config.heldout_docs_share, rng)
    result = Split(heldout_doc_ids=sorted(held))
    # Train questions are asked in one wording only: the paraphrase stays out of train.jsonl.
    result.train = [replace(p, paraphrase_question="") for p in unique if p.doc_id not in held]
    train_index = NearDuplicateIndex(config.near_duplicate_threshold)
    for pair in result.train:
        train_index.add(pair.question)
    train_texts = {(normalise(p.question), normalise(p.answer)) for p in result.train}
    leaked_docs = near_dupes = 0
    for pair in unique:
        if pair.doc_id in held:
            if (normalise(pair.question), normalise(pair.answer)) in train_texts:
                leaked_docs += 1
                continue
            result.eval_heldout_docs.append(replace(pair, paraphrase_question=""))
        elif pair.paraphrase_question:
            if train_index.find(pair.paraphrase_question) is not None:
                near_dupes += 1
                continue
            result.eval_heldout_questions.append(replace(
                pair, question=pair.paraphrase_question, paraphrase_question=pair.question,
                pair_id=make_pair_id(pair.chunk_id, pair.paraphrase_question, pair.answer)))
    semantic_dupes = _drop_semantic_duplicates(result, config)
    _set_aside_validation(result, config, rng)
    if result.train and config.seen_share > 0:
        size = max(1, round(config.seen_share * len(result.train)))
        result.eval_seen = sorted(rng.sample(result.train, size), key=lambda p: p.pair_id)
    result.counts = {name: len(getattr(result, name)) for name in FILES} | {
        "pairs_in": len(pairs), "duplicate_pair_ids": len(pairs) - len(unique),
        "heldout_question_near_duplicate_of_train": near_dupes,
        "heldout_question_embedding_duplicate_of_train": semantic_dupes, "heldout_doc_pair_also_in_train": leaked_docs,
        "documents": len({p.doc_id for p in unique}), "heldout_documents": len(held)}
    return result


def _set_aside_validation(result: Split, config: SplitConfig, rng: random.Random) -> None:
    questions = result.eval_heldout_questions
    if len(questions) < MIN_HELDOUT_FOR_VALIDATION or config.validation_share <= 0:
        return
    size = min(MAX_VALIDATION_QUESTIONS, max(MIN_VALIDATION_QUESTIONS, round(config.validation_share * len(questions))))
    chosen = {p.pair_id for p in rng.sample(questions, size)}
    result.eval_validation = [p for p in questions if p.pair_id in chosen]
    result.eval_heldout_questions = [p for p in questions if p.pair_id not in chosen]


def _drop_semantic_duplicates(result: Split, config: SplitConfig) -> int:
    if not config.embedding_address or not result.eval_heldout_questions:
        return 0
    from doc2slm_qagen.embedding_dedup import EmbeddingNearDuplicates

    checker = EmbeddingNearDuplicates(config.embedding_address, config.embedding_threshold)
    flags = checker.flags([p.question for p in result.eval_heldout_questions], [p.question for p in result.train])
    kept = [p for p, duplicate in zip(result.eval_heldout_questions, flags, strict=True) if not duplicate]
    dropped = len(result.eval_heldout_questions) - len(kept)
    result.eval_heldout_questions = kept
    return dropped


def dataset_card(split: Split, config: SplitConfig, qa_uri: str, generation: dict[str, Any] | None) -> dict[str, Any]:
    everything = split.train + split.eval_heldout_docs
    return {
        "source": qa_uri,
        "teachers": sorted({p.teacher for p in everything}),
        "prompt_versions": sorted({p.prompt_version for p in everything}),
        "split": {"seed": config.seed, "heldout_docs_share": config.heldout_docs_share,
                  "seen_share": config.seen_share, "validation_share": config.validation_share,
                  "near_duplicate_threshold": config.near_duplicate_threshold,
                  "embedding_check": bool(config.embedding_address), "embedding_threshold": config.embedding_threshold,
                  "heldout_doc_ids": split.heldout_doc_ids},
        "counts": split.counts,
        "generation": generation or {},
        "dropped_by_filter": (generation or {}).get("dropped", {}),
    }


def split_dataset(qa_uri: str, out_uri: str, config: SplitConfig) -> tuple[dict[str, str], dict[str, int]]:
    """Read qa_uri, write the four files and the card under out_uri; returns (uris by name, counts)."""
    if not qa_uri or not out_uri:
        raise InvalidInput("split needs qa_uri and out_uri")
    pairs = read_pairs(qa_uri)
    if not pairs:
        raise InvalidInput(f"{qa_uri} holds no QA pairs")
    split = split_pairs(pairs, config)
    uris = {}
    for name, file_name in FILES.items():
        uris[name] = storage.write_jsonl(storage.join(storage.to_uri(out_uri), file_name),
                                         (p.to_dict() for p in getattr(split, name)))
    card = dataset_card(split, config, storage.to_uri(qa_uri), read_summary(qa_uri))
    uris["card"] = storage.write_text(storage.join(storage.to_uri(out_uri), CARD_FILE),
                                      json.dumps(card, indent=2, sort_keys=True))
    return uris, split.counts
