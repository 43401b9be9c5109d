"""Lenient parsing of teacher replies: the shapes real endpoints and small models produce."""

from __future__ import annotations

import pytest
from doc2slm_qagen.parsing import MalformedReply, RawPair, parse_pairs, parse_question

GOOD = '{"pairs": [{"question": "What is X?", "answer": "X is a pump."}]}'


@pytest.mark.parametrize("reply", [
    GOOD,
    f"Sure! Here you go:\n```json\n{GOOD}\n```\nAnything else?",
    '{"pairs": [{"question": "What is X?", "answer": "X is a pump.",},],}',
    '{"pairs": [{"question": "What is X?", "answer": "X is a pump."}',
    '[{"Question": "What is X?", "Answer": "X is a pump."}]',
    '{"question": "What is X?", "answer": "X is a pump."}',
    "{\u201cpairs\u201d: [{\u201cquestion\u201d: \u201cWhat is X?\u201d, "
    "\u201canswer\u201d: \u201cX is a pump.\u201d}]}",
    '{"data": [{"question": "What is X?", "answer": "X is a pump."}]} trailing words',
])
def test_reads_the_pairs_object_in_its_usual_disguises(reply: str) -> None:
    assert parse_pairs(reply) == [RawPair("What is X?", "X is a pump.")]


def test_broken_json_still_yields_its_question_answer_fields_in_order() -> None:
    reply = '{"pairs": [{"question": "Q1?", "answer": "A1"} {"question": "Q2?", "answer": "A2" ]]]'
    assert parse_pairs(reply) == [RawPair("Q1?", "A1"), RawPair("Q2?", "A2")]


def test_items_without_both_strings_are_skipped() -> None:
    reply = '{"pairs": [{"question": "Q1?"}, {"question": "Q2?", "answer": "A2"}, "junk", {"answer": 3}]}'
    assert parse_pairs(reply) == [RawPair("Q2?", "A2")]


@pytest.mark.parametrize("reply", ["", "   ", "I cannot help with that.", '{"pairs": []}', '{"pairs": "none"}',
                                   'Sure, here they come: {"pairs": [{"question" 12 ]'])
def test_unreadable_replies_raise(reply: str) -> None:
    with pytest.raises(MalformedReply):
        parse_pairs(reply)


@pytest.mark.parametrize(("reply", "question"), [
    ("When does Vim execute commands?", "When does Vim execute commands?"),
    ("Question: When does Vim run the vimrc? It runs it at start.", "When does Vim run the vimrc?"),
    ('"How do I delete a character?"\nYou type x.', "How do I delete a character?"),
    ("1. How do I quit Vim?", "How do I quit Vim?"),
    ('{"pairs": [{"question": "What is X?", "answer": "X is a pump."}]}', "What is X?"),
])
def test_parse_question_takes_the_first_question(reply: str, question: str) -> None:
    assert parse_question(reply) == question


@pytest.mark.parametrize("reply", ["", "The tilde lines show lines not in the file.", "?"])
def test_parse_question_without_a_question_raises(reply: str) -> None:
    with pytest.raises(MalformedReply):
        parse_question(reply)


@pytest.mark.parametrize(("headers", "seconds"), [
    ({"retry-after": "3"}, 3.0), ({"retry-after-ms": "250"}, 0.25), ({"retry-after": "soon"}, None), ({}, None),
    (None, None), ({"retry-after": "-4"}, 0.0),
])
def test_retry_after_is_read_in_seconds_or_milliseconds(headers: dict[str, str] | None, seconds: float | None) -> None:
    from doc2slm_qagen.teacher import retry_after_seconds

    assert retry_after_seconds(headers) == seconds


def test_retry_after_as_an_http_date() -> None:
    import email.utils
    import time

    from doc2slm_qagen.teacher import retry_after_seconds

    value = retry_after_seconds({"retry-after": email.utils.formatdate(time.time() + 30, usegmt=True)})
    assert value is not None and 25 <= value <= 31
