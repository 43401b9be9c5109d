"""Held-out twins: the second question for a kept pair's answer, asked in a separate, sampled request.

A weak teacher (SmolLM2-135M) gives the first question back or drifts off-topic; such a reply must be
refused and asked again with the next seed, and a usable one must reach eval_heldout_questions.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from doc2slm_qagen import prompts
from doc2slm_qagen.chunkwork import SECOND_QUESTION_TEMPERATURE, SECOND_QUESTION_TRIES
from doc2slm_qagen.records import ChunkRecord, PairRecord
from doc2slm_qagen.split import SplitConfig, split_pairs

from tests.support.fault_teacher import paraphrase_for, question_for
from tests.support.qagen_testkit import TEXTS, SecondQuestionTeacher, make_chunks, run_all, settings_for

OFF_TOPIC = "What is the capital of France?"


def one_pair_run(teacher: SecondQuestionTeacher, cache: Path, chunks: list[ChunkRecord], mode: str = "answer_first"
                 ) -> list[PairRecord]:
    settings = settings_for(teacher.base_url, cache, mode=mode, pairs_per_chunk=1, paraphrase_share=1.0,
                            max_concurrency=1)
    events, summary = run_all(settings, chunks)
    assert summary.chunks_with_pair == len(chunks)
    return [e for e in events if isinstance(e, PairRecord)]


def seeds(requests: list[dict[str, Any]]) -> list[int]:
    return [r["seed"] for r in requests]


def test_the_prompt_is_answer_first_with_other_examples_and_never_shows_the_first_question() -> None:
    answer = "Backups of the database are written every night at two o'clock to the storage array."
    second = prompts.second_question_messages(answer)
    first = prompts.answer_first_messages(answer)
    assert second[-1]["content"] == f"{prompts.fence(answer)}\n{prompts.SECOND_QUESTION_ASK}"
    example_questions = {m["content"] for m in second if m["role"] == "assistant"}
    assert example_questions and example_questions.isdisjoint(m["content"] for m in first if m["role"] == "assistant")
    assert all(q.endswith("?") for q in example_questions)


def test_a_copied_or_off_topic_second_question_is_refused(tmp_path: Path) -> None:
    chunk = make_chunks([TEXTS[3]], docs=1)
    with SecondQuestionTeacher(scripted=["{first}", OFF_TOPIC]) as teacher:
        pairs = one_pair_run(teacher, tmp_path, chunk)
        assert len(pairs) == 1 and pairs[0].paraphrase_question == ""
        requests = teacher.second_requests
        assert len(requests) == SECOND_QUESTION_TRIES == 2
        assert len(set(seeds(requests))) == 2  # the next try is another sample, not the same one again
        assert all(r["temperature"] == SECOND_QUESTION_TEMPERATURE and "response_format" not in r for r in requests)
        shown = " ".join(m["content"] for r in requests for m in r["messages"])
        assert pairs[0].question not in shown  # independent: the first question is never shown
    split = split_pairs(pairs, SplitConfig(seed=1))
    assert split.eval_heldout_questions == [] and len(split.train) == 1


@pytest.mark.parametrize("mode", ["answer_first", "qa"])
def test_a_second_question_in_other_words_becomes_a_heldout_question(mode: str, tmp_path: Path) -> None:
    chunk = make_chunks([TEXTS[3]], docs=1)
    with SecondQuestionTeacher(scripted=["{first}"]) as teacher:
        pairs = one_pair_run(teacher, tmp_path, chunk, mode)
        assert len(teacher.second_requests) == 2  # the copy, then a usable one
    pair = pairs[0]
    assert pair.question == question_for(pair.answer)
    assert pair.paraphrase_question == paraphrase_for(pair.answer)
    split = split_pairs(pairs, SplitConfig(seed=1))
    [held] = split.eval_heldout_questions
    assert (held.question, held.answer) == (pair.paraphrase_question, pair.answer)
    assert split.train[0].paraphrase_question == ""


def test_second_questions_are_cached_and_repeat_at_the_same_seed(tmp_path: Path) -> None:
    chunks = make_chunks(TEXTS[:4], docs=2)
    runs = []
    for name in ("one", "two"):
        with SecondQuestionTeacher() as teacher:
            pairs = one_pair_run(teacher, tmp_path / name, chunks)
            runs.append(([p.to_dict() for p in pairs], seeds(teacher.second_requests)))
            assert len(teacher.second_requests) == len(chunks)  # good at the first try
            calls = teacher.total_calls
            again = one_pair_run(teacher, tmp_path / name, chunks)
            assert teacher.total_calls == calls  # the second questions came from the cache
            assert [p.to_dict() for p in again] == runs[-1][0]
    assert runs[0] == runs[1]
    assert all(p["paraphrase_question"] for p in runs[0][0])
