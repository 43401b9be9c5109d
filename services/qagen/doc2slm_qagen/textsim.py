"""Word-level text comparison shared by the filters and the split: normalised text, content tokens,
token-set similarity and a near-duplicate index.

Plain lexical measures keep the library free of an embedding service; they catch the near-duplicates a
teacher actually produces (the same question with other function words, plural/singular, punctuation).
"""

from __future__ import annotations

import math
import re

_WORD = re.compile(r"[a-z0-9]+")
_STOPWORD_TEXT = (
    "a an the and or but if of to in on at by for with from into onto about as is are was were be been "
    "being am do does did doing done have has had having it its it's this that these those there here "
    "what which who whom whose when where why how can could should would will shall may might must i you "
    "he she we they me him her us them my your our their not no yes so than then too very s t just also "
    "any some all each every other such own same only both more most few many much one two use used"
)
STOPWORDS = frozenset(_STOPWORD_TEXT.split())
_SUFFIXES = ("ing", "ed", "es", "s")


def normalise(text: str) -> str:
    """Lower case, words only, single spaces: equal for texts that differ in case or punctuation."""
    return " ".join(_WORD.findall(text.lower()))


def stem(word: str) -> str:
    """A crude suffix strip so that 'services', 'serviced' and 'service' compare equal enough."""
    for suffix in _SUFFIXES:
        if len(word) > len(suffix) + 3 and word.endswith(suffix):
            return word[: -len(suffix)]
    return word.rstrip("e") if len(word) > 4 else word


def content_tokens(text: str) -> list[str]:
    """Stemmed words that carry meaning (stopwords dropped), in order."""
    return [stem(w) for w in _WORD.findall(text.lower()) if w not in STOPWORDS]


def overlap_share(text: str, reference_tokens: set[str]) -> float:
    """Share of the text's content tokens found in the reference; 1.0 for a text with none."""
    tokens = content_tokens(text)
    if not tokens:
        return 1.0
    return sum(1 for t in tokens if t in reference_tokens) / len(tokens)


def jaccard(a: set[str] | frozenset[str], b: set[str] | frozenset[str]) -> float:
    if not a and not b:
        return 1.0
    return len(a & b) / len(a | b)


class NearDuplicateIndex:
    """Questions seen so far; `find` says whether a new one is a near-duplicate of any of them.

    Near-duplicate: the same normalised text, or content-token sets with Jaccard >= threshold. Prefix
    filtering keeps lookups cheap on tens of thousands of questions: two sets that reach the threshold
    must share a token among the first |A| - ceil(t*|A|) + 1 tokens of each, in one fixed global order.
    """

    def __init__(self, threshold: float) -> None:
        if not 0.0 < threshold <= 1.0:
            raise ValueError(f"near-duplicate threshold must be in (0, 1], got {threshold}")
        self.threshold = threshold
        self._texts: dict[str, int] = {}
        self._sets: list[frozenset[str]] = []
        self._postings: dict[str, list[int]] = {}

    def __len__(self) -> int:
        return len(self._sets)

    def _prefix(self, tokens: frozenset[str]) -> list[str]:
        ordered = sorted(tokens)
        keep = len(ordered) - math.ceil(self.threshold * len(ordered)) + 1
        return ordered[: max(keep, 1)]

    def find(self, text: str) -> int | None:
        """Index of a stored near-duplicate of text, or None."""
        exact = self._texts.get(normalise(text))
        if exact is not None:
            return exact
        tokens = frozenset(content_tokens(text))
        if not tokens:
            return None
        seen: set[int] = set()
        for token in self._prefix(tokens):
            for candidate in self._postings.get(token, ()):
                if candidate not in seen:
                    seen.add(candidate)
                    if jaccard(tokens, self._sets[candidate]) >= self.threshold:
                        return candidate
        return None

    def add(self, text: str) -> int:
        position = len(self._sets)
        tokens = frozenset(content_tokens(text))
        self._texts.setdefault(normalise(text), position)
        self._sets.append(tokens)
        for token in self._prefix(tokens) if tokens else ():
            self._postings.setdefault(token, []).append(position)
        return position

    def add_if_new(self, text: str) -> bool:
        """Store text unless it is a near-duplicate; True when it was new."""
        if self.find(text) is not None:
            return False
        self.add(text)
        return True
