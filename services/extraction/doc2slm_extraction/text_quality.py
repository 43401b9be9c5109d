"""Whether a page's text reads as words, judged without a dictionary, and the recovery of pages that do not.

Some toolchains (LaTeX/DocBook via dblatex, for example) place each word on its own without a space
character between them. pypdf then returns "Thisdocumentgivesfrequentlyaskedquestions" where pdfium,
which infers spaces from glyph positions, returns "This document gives frequently asked questions"; on
other files it is the other way round. Nothing fails: glued text goes on to the teacher and the model.

The judge: the share of a page's letters that stand in runs of RUN_LETTERS or more letters without
anything else between them. Measured with pypdf on 1,000 pages of real manuals (the R manuals, the R FAQ,
gnuplot, the Debian FAQ): at most 0.13 on every normal page (an index of long identifiers), 0.27-0.92 on
every glued page of the Debian FAQ. Mean token length and the share of tokens over 20 characters do not
separate them: an index of `_R_CHECK_..._` variables has a mean of 23 characters, a short glued page 7.3,
because identifiers, URLs and compiler flags are long tokens but their letter runs are broken by "_", "/",
"=", "-" or digits, and English words of 18 letters or more are rare. Characters that no font maps to text
(U+FFFD, private-use code points) are judged too: a page made mostly of them is unreadable.

One regular-expression pass over the page: a good page costs about as much as normalising it did.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from doc2slm_extraction.cleaning import normalize_page

RUN_LETTERS = 18  # a letter run this long is almost never one word (see above)
MAX_GLUED_SHARE = 0.2  # of a page's letters in such runs; normal pages measured at most 0.13
MIN_GLUED_RUNS = 2  # one long compound or name alone never condemns a page
MIN_LETTERS = 60  # below this a page says too little to judge (a title, a figure caption)
MAX_UNMAPPED_SHARE = 0.1  # of non-space characters that are U+FFFD or private-use: a font without a text map
# An alternative text must keep this share of the letters: a backend that drops text is not a recovery.
MIN_KEPT_LETTERS = 0.9

_LETTER_RUN = re.compile(r"[^\W\d_]+")
_LONG_RUN = re.compile(rf"[^\W\d_]{{{RUN_LETTERS},}}")
_UNMAPPED = re.compile(r"[\ufffd\ue000-\uf8ff]")


@dataclass(frozen=True)
class PageQuality:
    letters: int
    glued_letters: int  # letters in runs of RUN_LETTERS or more
    glued_runs: int
    non_space: int
    unmapped: int

    @property
    def glued_share(self) -> float:
        return self.glued_letters / self.letters if self.letters else 0.0

    @property
    def unmapped_share(self) -> float:
        return self.unmapped / self.non_space if self.non_space else 0.0

    @property
    def glued(self) -> bool:
        return (self.letters >= MIN_LETTERS and self.glued_runs >= MIN_GLUED_RUNS
                and self.glued_share > MAX_GLUED_SHARE)

    @property
    def garbled(self) -> bool:
        return self.non_space >= MIN_LETTERS and self.unmapped_share > MAX_UNMAPPED_SHARE

    @property
    def bad(self) -> bool:
        return self.glued or self.garbled

    @property
    def badness(self) -> float:
        """Lower is better; compares texts of the same page."""
        return self.glued_share + self.unmapped_share


def reads_as_words(text: str) -> bool:
    """judge(text).bad negated, at a fraction of its cost on the pages that pass (nearly all): a long letter run
    only hides in a long token, and normal text has few, so only they are searched for runs."""
    long_tokens = [token for token in text.split() if len(token) >= RUN_LETTERS]
    runs = sum(len(_LONG_RUN.findall(token)) for token in long_tokens)
    if runs < MIN_GLUED_RUNS and (text.isascii() or not _UNMAPPED.search(text)):
        return True
    return not judge(text).bad


def judge(text: str) -> PageQuality:
    runs = [len(run) for run in _LETTER_RUN.findall(text)]
    long_runs = [length for length in runs if length >= RUN_LETTERS]
    unmapped = len(_UNMAPPED.findall(text)) if not text.isascii() else 0
    non_space = len(text) - text.count(" ") - text.count("\n")
    return PageQuality(sum(runs), sum(long_runs), len(long_runs), non_space, unmapped)


@dataclass(frozen=True)
class Alternative:
    """Another way to read a page: a name for the report and the page's raw text by 0-based index."""

    name: str
    page_text: Callable[[int], str]


@dataclass(frozen=True)
class Recovery:
    text: str  # normalised
    raw_chars: int
    recovered: bool  # the text now reads as words
    by: str  # the alternative whose text was kept ("" when the original was kept)


def recover_page(index: int, text: str, raw_chars: int, alternatives: Sequence[Alternative]) -> Recovery:
    """The best of the page's texts: alternatives are tried in order until one reads as words. An alternative
    that fails, or that loses letters, is passed over: the original text is always a possible answer."""
    quality = judge(text)
    best = Recovery(text, raw_chars, not quality.bad, "")
    best_quality = quality
    for alternative in alternatives:
        if not best_quality.bad:
            break
        try:
            raw = alternative.page_text(index)
        except MemoryError:
            raise
        except Exception:  # the other backend may not read this file at all; the page keeps its text
            continue
        candidate = normalize_page(raw)
        candidate_quality = judge(candidate)
        if candidate_quality.letters < MIN_KEPT_LETTERS * quality.letters:
            continue
        if candidate_quality.badness < best_quality.badness:
            best = Recovery(candidate, len(raw), not candidate_quality.bad, alternative.name)
            best_quality = candidate_quality
    return best
