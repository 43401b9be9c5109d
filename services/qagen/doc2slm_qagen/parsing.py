"""Lenient parsing of the teacher reply `{"pairs": [{"question": str, "answer": str}, ...]}`.

Endpoints without response_format (and small teachers with it) wrap the object in code fences, add prose
around it, leave trailing commas or stop before the closing brackets. Each repair below is one of those
observed failures; whatever still cannot be read raises MalformedReply so the caller can ask again once.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from typing import Any


class MalformedReply(ValueError):
    """The reply holds no question/answer pair that can be read."""


@dataclass(frozen=True)
class RawPair:
    question: str
    answer: str


_FENCE = re.compile(r"```(?:json|JSON)?\s*(.*?)```", re.DOTALL)
_TRAILING_COMMA = re.compile(r",\s*([}\]])")
_SMART_QUOTES = str.maketrans({"\u201c": '"', "\u201d": '"', "\u2018": "'", "\u2019": "'"})
_KEY_VALUE = re.compile(r'"(question|answer)"\s*:\s*"((?:[^"\\]|\\.)*)"', re.IGNORECASE)


def _candidates(text: str) -> list[str]:
    """Substrings that may hold the JSON value, the most likely first."""
    found = [m.group(1) for m in _FENCE.finditer(text)]
    found.append(text)
    out = []
    for piece in found:
        start = min((i for i in (piece.find("{"), piece.find("[")) if i >= 0), default=-1)
        if start >= 0:
            out.append(piece[start:].strip())
    return out


def _close_brackets(text: str) -> str:
    """Append the brackets a reply cut off by max_tokens never closed (outside strings)."""
    stack: list[str] = []
    in_string = escaped = False
    for ch in text:
        if in_string:
            if escaped:
                escaped = False
            elif ch == "\\":
                escaped = True
            elif ch == '"':
                in_string = False
        elif ch == '"':
            in_string = True
        elif ch in "{[":
            stack.append("}" if ch == "{" else "]")
        elif ch in "}]" and stack:
            stack.pop()
    return text + ('"' if in_string else "") + "".join(reversed(stack))


def _load(candidate: str) -> Any:
    fixed = _TRAILING_COMMA.sub(r"\1", candidate.translate(_SMART_QUOTES))
    attempts = [candidate, fixed, _TRAILING_COMMA.sub(r"\1", _close_brackets(fixed))]
    decoder = json.JSONDecoder()
    for attempt in attempts:
        try:
            value, _ = decoder.raw_decode(attempt)  # ignores prose after the value
            return value
        except json.JSONDecodeError:
            continue
    raise MalformedReply("not JSON")


def _pairs_from_value(value: Any) -> list[RawPair]:
    items: Any = value
    if isinstance(value, dict):
        lowered = {str(k).lower(): v for k, v in value.items()}
        if "pairs" in lowered:
            items = lowered["pairs"]
        elif "question" in lowered:
            items = [value]
        else:
            lists = [v for v in value.values() if isinstance(v, list)]
            items = lists[0] if len(lists) == 1 else []
    if not isinstance(items, list):
        return []
    pairs = []
    for item in items:
        if not isinstance(item, dict):
            continue
        fields = {str(k).lower(): v for k, v in item.items()}
        question, answer = fields.get("question"), fields.get("answer")
        if isinstance(question, str) and isinstance(answer, str):
            pairs.append(RawPair(question.strip(), answer.strip()))
    return pairs


def _pairs_from_key_values(text: str) -> list[RawPair]:
    """Last resort for JSON broken beyond repair: read "question"/"answer" string fields in order."""
    pairs, question = [], None
    for key, raw in _KEY_VALUE.findall(text):
        try:
            value = json.loads(f'"{raw}"')
        except json.JSONDecodeError:
            value = raw
        if key.lower() == "question":
            question = value
        elif question is not None:
            pairs.append(RawPair(question.strip(), value.strip()))
            question = None
    return pairs


def parse_pairs(reply: str | None) -> list[RawPair]:
    """Pairs in the reply, in order; raises MalformedReply when there is none to read."""
    if not reply or not reply.strip():
        raise MalformedReply("empty reply")
    for candidate in _candidates(reply):
        try:
            pairs = _pairs_from_value(_load(candidate))
        except MalformedReply:
            continue
        if pairs:
            return pairs
    pairs = _pairs_from_key_values(reply)
    if pairs:
        return pairs
    preview = " ".join(reply.split())[:80]
    raise MalformedReply(f"no question/answer pair in the reply: {preview!r}")


_QUESTION_FIELD = re.compile(r'"question"\s*:\s*"([^"]+\?)', re.IGNORECASE)
_QUESTION_PREFIX = re.compile(r"^\s*(?:[-*\d.)\s]*)(?:q(?:uestion)?\s*\d*\s*[:.)-])?\s*", re.IGNORECASE)


def parse_question(reply: str | None) -> str:
    """One question from a reply: the first pair's question when the reply is the JSON pairs object,
    else the first line that holds a question mark, cut after it (small teachers add an answer or chatter)."""
    if not reply or not reply.strip():
        raise MalformedReply("empty reply")
    if "{" in reply:
        try:
            return parse_pairs(reply)[0].question
        except MalformedReply:
            pass
        cut = _QUESTION_FIELD.search(reply)  # a pairs object cut off after its first question
        if cut:
            return cut.group(1).strip()
    for line in reply.splitlines():
        if "?" not in line:
            continue
        question = _QUESTION_PREFIX.sub("", line[: line.index("?") + 1]).strip().strip("\"'`").strip()
        if len(question) > 1:
            return question
    preview = " ".join(reply.split())[:80]
    raise MalformedReply(f"no question in the reply: {preview!r}")
