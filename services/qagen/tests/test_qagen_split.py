"""The split: nothing held out is trained on, no held-out question is a near-duplicate of a train
question, and the same seed gives the same files."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from doc2slm_common import storage
from doc2slm_common.errors import InvalidInput
from doc2slm_qagen.records import ChunkRecord, PairRecord
from doc2slm_qagen.split import SplitConfig, split_dataset, split_pairs
from doc2slm_qagen.textsim import NearDuplicateIndex, normalise

TOPICS = ["pump", "gearbox", "valve", "filter", "sensor", "fan", "relay", "boiler", "turbine", "compressor"]


def dataset(documents: int = 6, facts: int = 8) -> list[PairRecord]:
    pairs = []
    for d in range(documents):
        chunk = ChunkRecord(doc_id=f"doc{d:02d}", chunk_id=f"c{d:02d}", text="t", source=f"doc{d}.pdf")
        for f in range(facts):
            topic = f"{TOPICS[f % len(TOPICS)]} model{d}x{f}"
            paraphrase = ""
            if f % 2 == 0:
                paraphrase = f"Which interval applies to servicing {topic}?"
            if f == 4:
                paraphrase = f"How often must the {topic} be serviced?!"  # same words: a near-duplicate
            pairs.append(PairRecord.build(chunk, f"How often must the {topic} be serviced?",
                                          f"The {topic} is serviced every {100 * (f + 1)} hours.",
                                          "teacher-x", "qa-r4-n3", paraphrase))
    # Boilerplate repeated in every document: the same pair text under each doc id.
    for d in range(documents):
        chunk = ChunkRecord(doc_id=f"doc{d:02d}", chunk_id=f"legal{d:02d}", text="t")
        pairs.append(PairRecord.build(chunk, "Who owns the copyright of this manual series?",
                                      "Globex Corporation owns the copyright.", "teacher-x", "qa-r4-n3"))
    return pairs


def test_held_out_sets_never_leak_into_train() -> None:
    result = split_pairs(dataset(), SplitConfig(seed=5, heldout_docs_share=0.34))
    train_ids = {p.pair_id for p in result.train}
    train_docs = {p.doc_id for p in result.train}
    assert result.heldout_doc_ids and not set(result.heldout_doc_ids) & train_docs
    assert all(p.doc_id in result.heldout_doc_ids for p in result.eval_heldout_docs)
    assert not {p.pair_id for p in result.eval_heldout_docs} & train_ids
    train_texts = {(normalise(p.question), normalise(p.answer)) for p in result.train}
    assert not any((normalise(p.question), normalise(p.answer)) in train_texts for p in result.eval_heldout_docs)
    assert result.counts["heldout_doc_pair_also_in_train"] == len(result.heldout_doc_ids)  # the boilerplate
    index = NearDuplicateIndex(0.8)
    for pair in result.train:
        index.add(pair.question)
    assert result.eval_heldout_questions
    assert all(index.find(p.question) is None for p in result.eval_heldout_questions)
    assert result.counts["heldout_question_near_duplicate_of_train"] == len(train_docs)  # the f == 4 ones
    assert not any(p.paraphrase_question for p in result.train)  # the held-out wording is not trained on
    for held in result.eval_heldout_questions:  # ...but its fact is: same chunk and answer in train
        assert any(t.answer == held.answer and t.question == held.paraphrase_question for t in result.train)
    assert {p.pair_id for p in result.eval_seen} <= train_ids


def test_the_same_seed_gives_the_same_split_and_another_seed_another() -> None:
    pairs = dataset(documents=10)
    config = SplitConfig(seed=7, heldout_docs_share=0.3)
    first, again = split_pairs(pairs, config), split_pairs(list(reversed(pairs)), config)
    assert first == again
    other = split_pairs(pairs, SplitConfig(seed=8, heldout_docs_share=0.3))
    assert other.heldout_doc_ids != first.heldout_doc_ids or other.eval_seen != first.eval_seen


def test_fewer_than_three_documents_hold_no_document_back() -> None:
    result = split_pairs(dataset(documents=2), SplitConfig(heldout_docs_share=0.5))
    assert result.eval_heldout_docs == [] and result.heldout_doc_ids == []


@pytest.mark.parametrize("config", [SplitConfig(seen_share=1.0), SplitConfig(heldout_docs_share=-0.1),
                                    SplitConfig(near_duplicate_threshold=0.0)])
def test_bad_ratios_are_refused(config: SplitConfig) -> None:
    with pytest.raises(InvalidInput):
        split_pairs(dataset(), config)


def test_split_dataset_writes_the_four_files_and_the_card(tmp_path: Path) -> None:
    qa_uri = (tmp_path / "qa.jsonl").as_uri()
    storage.write_jsonl(qa_uri, [p.to_dict() for p in dataset()])
    storage.write_text((tmp_path / "qa.summary.json").as_uri(), json.dumps({"dropped": {"ungrounded": 4}}))
    uris, counts = split_dataset(qa_uri, (tmp_path / "out").as_uri(), SplitConfig(seed=1))
    for name in ("train", "eval_heldout_questions", "eval_heldout_docs", "eval_seen"):
        assert len(storage.read_jsonl(uris[name])) == counts[name] > 0
    card = json.loads(storage.read_text(uris["card"]))
    assert card["teachers"] == ["teacher-x"] and card["prompt_versions"] == ["qa-r4-n3"]
    assert card["split"]["seed"] == 1 and card["dropped_by_filter"] == {"ungrounded": 4}
    assert card["counts"]["train"] == counts["train"]


def test_an_empty_or_missing_dataset_is_a_clear_error(tmp_path: Path) -> None:
    empty = tmp_path / "qa.jsonl"
    empty.write_text("")
    with pytest.raises(InvalidInput, match="no QA pairs"):
        split_dataset(empty.as_uri(), (tmp_path / "out").as_uri(), SplitConfig())
    (tmp_path / "bad.jsonl").write_text('{"question": "q?"}\n')
    with pytest.raises(InvalidInput, match="lacks"):
        split_dataset((tmp_path / "bad.jsonl").as_uri(), (tmp_path / "out").as_uri(), SplitConfig())


def test_a_validation_slice_is_set_aside_from_the_held_out_questions() -> None:
    pairs = dataset(documents=8, facts=10)
    result = split_pairs(pairs, SplitConfig(seed=3, heldout_docs_share=0.0, validation_share=0.25))
    validation, heldout = result.eval_validation, result.eval_heldout_questions
    everything = len(validation) + len(heldout)
    assert everything >= 16 and len(validation) == max(8, round(0.25 * everything))
    assert not {p.pair_id for p in validation} & {p.pair_id for p in heldout}
    train_questions = {normalise(p.question) for p in result.train}
    assert not any(normalise(p.question) in train_questions for p in validation)  # twins are never trained
    assert result.counts["eval_validation"] == len(validation)
    again = split_pairs(pairs, SplitConfig(seed=3, heldout_docs_share=0.0, validation_share=0.25))
    assert [p.pair_id for p in again.eval_validation] == [p.pair_id for p in validation]


def test_too_few_held_out_questions_leave_no_validation_slice() -> None:
    result = split_pairs(dataset(documents=2, facts=8), SplitConfig(seed=3, heldout_docs_share=0.0))
    assert 0 < len(result.eval_heldout_questions) < 16 and result.eval_validation == []
