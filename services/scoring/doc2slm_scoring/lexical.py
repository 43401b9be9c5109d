"""Lexical scores beside the cosine: token F1 and ROUGE-L against the reference answer.

The embedding cosine is lenient (an untuned 135M model's mostly wrong answers to a real FAQ reach
>= 0.5 half of the time), so every report puts word-overlap scores next to it. Both are computed on
lower-cased word tokens, the way SQuAD's F1 and ROUGE-L's F-measure are usually reported.
"""

from __future__ import annotations

import re
from collections import Counter

_WORD = re.compile(r"\w+", re.UNICODE)

# ROUGE-L needs an O(n*m) longest common subsequence; answers are sentences, but a runaway generation
# could be thousands of tokens. Past this many tokens per side the tail cannot change a verdict.
MAX_LCS_TOKENS = 2000


def tokenize(text: str) -> list[str]:
    return _WORD.findall(text.lower())


def token_f1(candidate: str, reference: str) -> float:
    """Harmonic mean of token precision and recall (multiset overlap), in [0, 1]."""
    cand, ref = tokenize(candidate), tokenize(reference)
    if not cand or not ref:
        # Two empty texts agree perfectly; one empty text shares nothing with the other.
        return 1.0 if cand == ref else 0.0
    overlap = sum((Counter(cand) & Counter(ref)).values())
    if overlap == 0:
        return 0.0
    precision = overlap / len(cand)
    recall = overlap / len(ref)
    return 2 * precision * recall / (precision + recall)


def longest_common_subsequence(a: list[str], b: list[str]) -> int:
    if len(a) < len(b):
        a, b = b, a
    # One row of the dynamic programme at a time: memory O(len(b)).
    previous = [0] * (len(b) + 1)
    for token in a:
        current = [0]
        for j, other in enumerate(b, start=1):
            if token == other:
                current.append(previous[j - 1] + 1)
            else:
                current.append(max(previous[j], current[j - 1]))
        previous = current
    return previous[-1]


def rouge_l(candidate: str, reference: str) -> float:
    """ROUGE-L F-measure (beta = 1): LCS-based precision and recall, in [0, 1]."""
    cand = tokenize(candidate)[:MAX_LCS_TOKENS]
    ref = tokenize(reference)[:MAX_LCS_TOKENS]
    if not cand or not ref:
        return 1.0 if cand == ref else 0.0
    lcs = longest_common_subsequence(cand, ref)
    if lcs == 0:
        return 0.0
    precision = lcs / len(cand)
    recall = lcs / len(ref)
    return 2 * precision * recall / (precision + recall)
