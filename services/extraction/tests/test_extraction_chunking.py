"""Chunking by tokens: bounds, boundaries, overlap, leftovers, limits."""

from __future__ import annotations

import itertools
import random

import pytest
from doc2slm_common.errors import LimitExceeded
from doc2slm_extraction.chunking import chunk_text, sentence_units
from doc2slm_extraction.testing_pdfs import prose_paragraph
from doc2slm_extraction.tokens import count_tokens, token_budget


def _document(paragraphs: int = 12, seed: int = 4) -> str:
    rng = random.Random(seed)
    return "\n\n".join(prose_paragraph(rng, sentences=rng.randint(2, 6)) for _ in range(paragraphs))


def test_chunks_respect_the_token_bound_and_cut_between_sentences() -> None:
    text = _document()
    spans = chunk_text(text, max_tokens=80, overlap_tokens=0, min_tokens=10, max_chunks=1000)
    assert len(spans) > 5
    for span in spans:
        piece = text[span.char_start : span.char_end]
        assert span.n_tokens == count_tokens(piece) <= token_budget(80) < 80
        assert piece == piece.strip()
        assert piece.endswith(".")  # every cut is at a sentence end
        assert span.char_start == 0 or text[span.char_start - 1] in " \n"
    covered = "".join(text[s.char_start : s.char_end] for s in spans)
    assert covered.replace(" ", "").replace("\n", "") == text.replace(" ", "").replace("\n", "")


def test_overlap_repeats_whole_sentences_within_the_overlap_budget() -> None:
    text = _document()
    spans = chunk_text(text, max_tokens=120, overlap_tokens=40, min_tokens=10, max_chunks=1000)
    for previous, current in itertools.pairwise(spans):
        assert previous.char_start < current.char_start < previous.char_end
        assert count_tokens(text[current.char_start : previous.char_end]) <= 40


def test_chunks_end_at_paragraph_breaks_when_one_is_in_the_second_half() -> None:
    first = " ".join(["The intake valve opens at three bar."] * 7)
    second = " ".join(["The relief valve vents at twelve bar and resets by hand."] * 6)
    text = f"{first}\n\n{second}"
    assert 50 < count_tokens(first) < 80 < count_tokens(text)
    spans = chunk_text(text, max_tokens=100, overlap_tokens=0, min_tokens=1, max_chunks=50)
    # Greedy packing would add sentences of the second paragraph; the chunk stops at the break instead.
    assert text[spans[0].char_start : spans[0].char_end] == first
    short = "Short paragraph."
    text = f"{short}\n\n{second}"
    spans = chunk_text(text, max_tokens=60, overlap_tokens=0, min_tokens=1, max_chunks=50)
    # A break in the first half of a chunk is not worth a small chunk: packing goes on past it.
    assert spans[0].char_start == 0 and spans[0].char_end > len(short)


def test_tiny_leftover_is_grown_backwards_instead_of_kept() -> None:
    text = _document(paragraphs=3) + "\n\nTail."
    spans = chunk_text(text, max_tokens=64, overlap_tokens=0, min_tokens=30, max_chunks=100)
    assert spans[-1].char_end == len(text)
    assert spans[-1].n_tokens >= 30
    assert all(s.n_tokens <= 64 for s in spans)


def test_a_sentence_longer_than_a_chunk_is_cut_between_words() -> None:
    words = [f"word{i}" for i in range(300)]
    text = " ".join(words)
    spans = chunk_text(text, max_tokens=50, overlap_tokens=0, min_tokens=1, max_chunks=100)
    assert len(spans) > 1
    for span in spans:
        assert span.n_tokens <= 50
        assert all(piece in words for piece in text[span.char_start : span.char_end].split(" "))


def test_too_many_chunks_is_a_limit_error() -> None:
    with pytest.raises(LimitExceeded, match="max_chunks_per_doc"):
        chunk_text(_document(), max_tokens=32, overlap_tokens=0, min_tokens=1, max_chunks=3)


def test_empty_text_gives_no_chunks() -> None:
    assert chunk_text("", max_tokens=64, overlap_tokens=8, min_tokens=8, max_chunks=10) == []


def test_leader_dots_do_not_start_sentences() -> None:
    # A table of contents of a real manual: every leader dot used to be a one-token "sentence" (134 units
    # per page of the R manuals instead of 29), and chunking cost as much as pdfium's own extraction.
    text = ("3.3 Profiling R code for memory use . . . . . . . . . 106\n\n"
            "Wait... What? It works. Really.")
    units = [text[unit.start:unit.end] for unit in sentence_units(text, 100)]
    assert units == ["3.3 Profiling R code for memory use . . . . . . . . .", "106", "Wait...", "What?", "It works.",
                     "Really."]
