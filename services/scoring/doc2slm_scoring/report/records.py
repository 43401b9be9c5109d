"""The answers file the report reads: one record per (evaluation set, question) with both systems' answers.

Records come from the pipeline's answer step or from a user's own file (their held-out questions, a
human-written FAQ), so they are validated field by field with a message that names the record.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from doc2slm_common.errors import InvalidInput, LimitExceeded

HELDOUT_QUESTIONS = "eval_heldout_questions"
HELDOUT_DOCS = "eval_heldout_docs"
SEEN = "eval_seen"

# What each set measures, in the words the report uses. A user-named set gets USER_SET_ROLE.
SET_ROLES = {
    HELDOUT_QUESTIONS: "held-out questions on trained documents: the main measure",
    HELDOUT_DOCS: "held-out documents never trained on: does it generalise, or at least do no harm",
    SEEN: "questions trained on: the memorisation ceiling, not the result",
}
USER_SET_ROLE = "user-supplied questions"

SYSTEMS = ("base", "tuned")

# Set names become metric keys (KFP) and CSV values: keep them to a safe alphabet.
_SET_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$")


@dataclass(frozen=True)
class AnswerRecord:
    set_name: str
    question: str
    reference: str
    base_answer: str
    tuned_answer: str
    doc_id: str = ""
    chunk_id: str = ""

    def answer_of(self, system: str) -> str:
        if system == "base":
            return self.base_answer
        if system == "tuned":
            return self.tuned_answer
        raise ValueError(f"unknown system {system!r}")


def _text_field(raw: Mapping[str, Any], field: str, index: int, required: bool, allow_empty: bool) -> str:
    value = raw.get(field)
    if value is None:
        if required:
            raise InvalidInput(f"answers record {index}: missing field {field!r}")
        return ""
    if not isinstance(value, str):
        raise InvalidInput(
            f"answers record {index}: field {field!r} must be a string, got {type(value).__name__}"
        )
    if not allow_empty and not value.strip():
        raise InvalidInput(f"answers record {index}: field {field!r} is empty")
    return value


def parse_answer_records(
    raw_records: Iterable[Mapping[str, Any]], default_set: str, max_records: int
) -> list[AnswerRecord]:
    """Validated records; `default_set` names records without a `set` (a user's own file)."""
    if not _SET_NAME.match(default_set):
        raise InvalidInput(f"default set name {default_set!r} must match {_SET_NAME.pattern}")
    records: list[AnswerRecord] = []
    for index, raw in enumerate(raw_records):
        if len(records) >= max_records:
            raise LimitExceeded(f"more than {max_records} answers records (limit max_report_records)")
        if not isinstance(raw, Mapping):
            raise InvalidInput(f"answers record {index}: expected a JSON object, got {type(raw).__name__}")
        set_name = _text_field(raw, "set", index, required=False, allow_empty=True) or default_set
        if not _SET_NAME.match(set_name):
            raise InvalidInput(
                f"answers record {index}: set name {set_name!r} must match {_SET_NAME.pattern}"
            )
        records.append(
            AnswerRecord(
                set_name=set_name,
                question=_text_field(raw, "question", index, required=True, allow_empty=False),
                reference=_text_field(raw, "reference", index, required=True, allow_empty=False),
                # A model may answer nothing; that is a (bad) answer, scored 0, not a malformed record.
                base_answer=_text_field(raw, "base_answer", index, required=True, allow_empty=True),
                tuned_answer=_text_field(raw, "tuned_answer", index, required=True, allow_empty=True),
                doc_id=_text_field(raw, "doc_id", index, required=False, allow_empty=True),
                chunk_id=_text_field(raw, "chunk_id", index, required=False, allow_empty=True),
            )
        )
    if not records:
        raise InvalidInput("the answers file holds no records")
    return records


def ordered_set_names(set_names: Iterable[str]) -> list[str]:
    """Held-out questions first, held-out documents next, user sets by name, seen questions last."""
    names = set(set_names)
    leading = [name for name in (HELDOUT_QUESTIONS, HELDOUT_DOCS) if name in names]
    user = sorted(names - {HELDOUT_QUESTIONS, HELDOUT_DOCS, SEEN})
    trailing = [SEEN] if SEEN in names else []
    return leading + user + trailing


def headline_set(set_names: Iterable[str]) -> str | None:
    """The set the report leads with; never the seen questions (None when they are all there is)."""
    for name in ordered_set_names(set_names):
        if name != SEEN:
            return name
    return None


def set_role(set_name: str) -> str:
    return SET_ROLES.get(set_name, USER_SET_ROLE)


def group_by_set(records: Iterable[AnswerRecord]) -> dict[str, list[AnswerRecord]]:
    """Records per set, sets in report order, records in file order within a set."""
    grouped: dict[str, list[AnswerRecord]] = {}
    for record in records:
        grouped.setdefault(record.set_name, []).append(record)
    return {name: grouped[name] for name in ordered_set_names(grouped)}
