"""Chunking by tokens: spans of the cleaned text cut at paragraph or sentence boundaries, never mid-word.

Sentences are the units (a sentence longer than a chunk is cut between words). Units are packed greedily
up to max_tokens; when a paragraph break lies in the second half of a full chunk the chunk ends there, so
chunks tend to hold whole paragraphs. The next chunk starts with the last whole sentences of the previous
one that fit in overlap_tokens. A trailing chunk smaller than min_tokens is grown backwards instead of
being left as a scrap that no question can be asked about.
"""

from __future__ import annotations

import itertools
import re
from dataclasses import dataclass

from doc2slm_common.errors import LimitExceeded

from doc2slm_extraction.tokens import count_tokens, token_budget

_CLOSERS = "\"”')]"
# A paragraph break, or a sentence end: . ! ? (optionally closed by a quote or bracket) before a space and
# a non-lowercase character, so "e.g. the" and "3.5 bar" stay inside their sentence. One pass over the
# whole text: per-paragraph searches cost more than pypdf's own parsing on long documents.
_BOUNDARY = re.compile(r"\n\n+|(?<=[.!?])[\"”')\]]*\s+(?=[^a-z\s.,;:!?])")
_WORD = re.compile(r"\S+")


@dataclass(frozen=True)
class Unit:
    start: int
    end: int
    tokens: int
    starts_paragraph: bool


@dataclass(frozen=True)
class Span:
    char_start: int
    char_end: int
    n_tokens: int


def _split_long(text: str, start: int, end: int, max_tokens: int, first: bool) -> list[Unit]:
    """Cut a too-long sentence between words into pieces of at most max_tokens."""
    units: list[Unit] = []
    piece_start, piece_end, piece_tokens = -1, -1, 0
    for word in _WORD.finditer(text, start, end):
        tokens = count_tokens(word.group())
        if piece_start >= 0 and piece_tokens + tokens > max_tokens:
            units.append(Unit(piece_start, piece_end, piece_tokens, first and not units))
            piece_start, piece_tokens = -1, 0
        if piece_start < 0:
            piece_start = word.start()
        piece_end, piece_tokens = word.end(), piece_tokens + tokens
        # A single "word" longer than a chunk (a hash, a URL) still becomes one unit: never cut mid-word.
    if piece_start >= 0:
        units.append(Unit(piece_start, piece_end, piece_tokens, first and not units))
    return units


def sentence_units(text: str, max_tokens: int) -> list[Unit]:
    """Sentences (or word-cut pieces of over-long ones) in order, flagged when they start a paragraph."""
    units: list[Unit] = []
    start, paragraph_first = 0, True
    for match in itertools.chain(_BOUNDARY.finditer(text), [None]):
        if match is None:
            end = next_start = len(text)
            paragraph_break = True
        else:
            gap = match.group()
            end = match.start() + len(gap) - len(gap.lstrip(_CLOSERS))  # closing quotes stay with the sentence
            next_start = match.end()
            paragraph_break = "\n\n" in gap
        if end > start:
            tokens = count_tokens(text[start:end])
            if tokens > max_tokens:
                units.extend(_split_long(text, start, end, max_tokens, paragraph_first))
            else:
                units.append(Unit(start, end, tokens, paragraph_first))
            paragraph_first = False
        start = next_start
        paragraph_first = paragraph_first or paragraph_break
    return units


def chunk_text(
    text: str, max_tokens: int, overlap_tokens: int, min_tokens: int, max_chunks: int
) -> list[Span]:
    """Spans of text in order, overlapping by whole sentences, each of at most token_budget(max_tokens)
    estimated tokens, which keeps the real count below max_tokens (see tokens.py)."""
    max_tokens, overlap_tokens = token_budget(max_tokens), token_budget(overlap_tokens) if overlap_tokens else 0
    units = sentence_units(text, max_tokens)
    prefix = [0, *itertools.accumulate(unit.tokens for unit in units)]

    def tokens_between(first: int, stop: int) -> int:
        return prefix[stop] - prefix[first]

    bounds: list[tuple[int, int]] = []
    first = 0
    while first < len(units):
        stop = first + 1
        while stop < len(units) and tokens_between(first, stop + 1) <= max_tokens:
            stop += 1
        if stop < len(units) and not units[stop].starts_paragraph:
            for candidate in range(stop - 1, first, -1):
                if tokens_between(first, candidate) < max_tokens // 2:
                    break
                if units[candidate].starts_paragraph:
                    stop = candidate
                    break
        bounds.append((first, stop))
        if len(bounds) > max_chunks:
            raise LimitExceeded(f"document gives more than {max_chunks} chunks (limit max_chunks_per_doc)")
        if stop >= len(units):
            break
        next_first = stop
        while next_first - 1 > first and tokens_between(next_first - 1, stop) <= overlap_tokens:
            next_first -= 1
        first = next_first
    if len(bounds) > 1 and tokens_between(*bounds[-1]) < min_tokens:
        stop = len(units)
        grown = stop - 1
        while grown > 0 and tokens_between(grown - 1, stop) <= max_tokens:
            grown -= 1
        while bounds and bounds[-1][0] >= grown:
            bounds.pop()
        bounds.append((grown, stop))
    return [
        Span(units[first].start, units[stop - 1].end, tokens_between(first, stop)) for first, stop in bounds
    ]
