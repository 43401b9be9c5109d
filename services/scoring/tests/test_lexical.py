"""Token F1 and ROUGE-L on hand-checked examples."""

from __future__ import annotations

import pytest
from doc2slm_scoring.lexical import MAX_LCS_TOKENS, longest_common_subsequence, rouge_l, token_f1, tokenize


def test_tokenize_lowercases_and_drops_punctuation() -> None:
    assert tokenize("The Pump, serviced: every 6 months!") == ["the", "pump", "serviced", "every", "6", "months"]


def test_token_f1_counts_repeated_tokens_once_per_occurrence() -> None:
    # candidate 3 tokens all in the reference (6 tokens): precision 1, recall 0.5, F1 2/3.
    assert token_f1("the cat sat", "the cat sat on the mat") == pytest.approx(2 / 3)
    # "the the the" overlaps "the ... the" twice: precision 2/3, recall 2/6.
    assert token_f1("the the the", "the cat sat on the mat") == pytest.approx(2 * (2 / 3) * (1 / 3) / 1.0)
    assert token_f1("completely different", "the cat sat") == 0.0
    assert token_f1("", "") == 1.0
    assert token_f1("", "something") == 0.0


def test_rouge_l_uses_the_longest_common_subsequence() -> None:
    # LCS of "police killed the gunman" and "police kill the gunman" is 3 tokens.
    assert longest_common_subsequence(["police", "killed", "the", "gunman"], ["police", "kill", "the", "gunman"]) == 3
    assert rouge_l("police killed the gunman", "police kill the gunman") == pytest.approx(0.75)
    # Order matters for ROUGE-L but not for token F1.
    assert rouge_l("gunman the killed police", "police killed the gunman") == pytest.approx(0.25)
    assert token_f1("gunman the killed police", "police killed the gunman") == pytest.approx(1.0)
    assert rouge_l("", "x") == 0.0


def test_rouge_l_bounds_its_work_on_runaway_generations() -> None:
    runaway = "word " * (MAX_LCS_TOKENS * 3)
    assert 0.0 < rouge_l(runaway, "word " * 10) < 0.01
