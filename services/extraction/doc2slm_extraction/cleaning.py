"""Cleaning: raw page text to one document text with paragraphs, and a map from characters to pages.

Two stages. `normalize_page` works on one page alone (Unicode NFKC, control and format characters out,
whitespace collapsed per line), so it runs in the worker processes in parallel. `assemble_document` needs
all pages: lines that repeat at the top or bottom of many pages (running headers, footers, page numbers)
only show up across pages, and so do contents, indexes and front matter (non_content.py); then lines are
joined into paragraphs, hyphenated line breaks are undone, and a paragraph cut by a page break is joined
again.
"""

from __future__ import annotations

import bisect
import itertools
import math
import re
import unicodedata
from dataclasses import dataclass, field

from doc2slm_extraction.non_content import remove_non_content

# Control characters (C0, C1 but newline and tab) and invisible format characters. U+FFFE is what pdfium
# returns for a hyphen it judged to end a line; it is turned into "-\n" by the pdfium backend first.
_INVISIBLE = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\u00ad\u200b-\u200f\u202a-\u202e\u2060-\u2064\ufeff]")
_LINE_BREAKS = re.compile(r"\r\n?|[\u2028\u2029\x85]")
_SPACES = re.compile(r"[ \t\u00a0\u1680\u2000-\u200a\u202f\u205f\u3000]+")
_SPACE_AROUND_NEWLINE = re.compile(r" ?\n ?")
_DIGITS = re.compile(r"\d+")
_PAGE_NUMBER = re.compile(r"^[\W_]*(page|p\.|seite|pagina)?\s*#(\s*(of|/|von|de)\s*#)?[\W_]*$|^[ivxlcdm]+$")
_BULLET = re.compile(r"^([•·▪◦‣*–-]\s|\(?\d{1,3}[.)]\s|\(?[a-z][.)]\s)")
_SENTENCE_END = (".", "!", "?", ":", ";", '"', "”", ")")
EDGE_LINES = 3  # how many lines at each end of a page may be running headers or footers


def normalize_page(raw: str) -> str:
    """One page's text with NFKC forms, no control characters, single spaces, stripped lines."""
    text = unicodedata.normalize("NFKC", raw)
    text = _LINE_BREAKS.sub("\n", text)
    text = _INVISIBLE.sub("", text)
    text = _SPACES.sub(" ", text)
    return _SPACE_AROUND_NEWLINE.sub("\n", text).strip(" ")


def _line_key(line: str) -> str:
    # Numbers vary from page to page ("Page 3 of 40"), so they do not count in deciding what repeats.
    return _DIGITS.sub("#", line.lower())


def _edge_lines(lines: list[str]) -> list[str]:
    content = [line for line in lines if line]
    return content[:EDGE_LINES] + content[-EDGE_LINES:]


def _edge_keys(lines: list[str]) -> set[str]:
    return {_line_key(line) for line in _edge_lines(lines)}


# A line at the edge of pages this close to each other, on at least LOCAL_RUN pages in a chain, is a running
# line of one chapter ("Chapter 3: Objects, their modes and attributes 15" on 10 of the 113 pages of the R
# manual "An Introduction to R"), which the document-wide share never reaches. A gap of 2 allows headers
# that alternate between left and right pages. Only lines of two words and LOCAL_MIN_CHARS or more: short
# code lines ("}", "end if") sit at page edges of code-heavy manuals too, and they are content.
LOCAL_RUN = 3
LOCAL_GAP = 2
LOCAL_MIN_CHARS = 12


def _has_local_run(key: str, positions: list[int]) -> bool:
    if len(key) < LOCAL_MIN_CHARS or " " not in key.strip():
        return False
    chain = 1
    for previous, current in itertools.pairwise(positions):
        chain = chain + 1 if current - previous <= LOCAL_GAP else 1
        if chain >= LOCAL_RUN:
            return True
    return False


# A running header that names the current section changes every page or two, so its whole line never
# repeats: "CHAPTER 1. DEFINITIONS AND OVERVIEW 1.3. OK, NOW I KNOW WHAT DEBIAN IS..." (the Debian FAQ,
# DocBook/dblatex; 39 such lines, 45 times in its chunks, cutting sentences and read as answers). Such a
# line is in capitals, and its first words repeat at page edges. Only capital lines count, because the first
# two words of body lines ("The following ...") repeat at page edges too.
SHOUTED_PREFIX_WORDS = 2


def _shouted_prefix(line: str) -> str | None:
    letters = [c for c in line if c.isalpha()]
    if len(line.split()) <= SHOUTED_PREFIX_WORDS or len(letters) < LOCAL_MIN_CHARS:
        return None
    if sum(c.isupper() for c in letters) < 0.8 * len(letters):
        return None
    return " ".join(_line_key(line).split()[:SHOUTED_PREFIX_WORDS])


def _repeated(seen_at: dict[str, list[int]], needed: int) -> set[str]:
    return {key for key, positions in seen_at.items() if len(positions) >= needed or _has_local_run(key, positions)}


def remove_running_lines(pages: list[list[str]]) -> tuple[list[list[str]], int]:
    """Drop headers, footers and page numbers; returns the pages and the characters removed."""
    with_text = [lines for lines in pages if any(lines)]
    seen_at: dict[str, list[int]] = {}
    prefix_seen_at: dict[str, list[int]] = {}
    for position, lines in enumerate(with_text):
        for key in _edge_keys(lines):
            seen_at.setdefault(key, []).append(position)
        for prefix in {prefix for line in _edge_lines(lines) if (prefix := _shouted_prefix(line))}:
            prefix_seen_at.setdefault(prefix, []).append(position)
    needed = 2 if len(with_text) <= 3 else max(3, math.ceil(0.4 * len(with_text)))
    repeated = _repeated(seen_at, needed)
    repeated_prefixes = _repeated(prefix_seen_at, max(3, needed))
    removed = 0
    cleaned_pages = []
    for lines in pages:
        content_positions = [i for i, line in enumerate(lines) if line]
        edges = set(content_positions[:EDGE_LINES] + content_positions[-EDGE_LINES:])
        kept = []
        for index, line in enumerate(lines):
            key = _line_key(line) if index in edges else ""
            if index in edges and (key in repeated or _PAGE_NUMBER.match(key)
                                   or _shouted_prefix(line) in repeated_prefixes):
                removed += len(line)
                continue
            kept.append(line)
        cleaned_pages.append(kept)
    return cleaned_pages, removed


@dataclass(frozen=True)
class CleanedDocument:
    text: str
    # page_offsets[i] is where page page_numbers[i] starts contributing in text; pages without text absent.
    page_offsets: list[int]
    page_numbers: list[int]
    chars_removed_running: int
    # Characters of contents, lists of figures, indexes, title and copyright pages left out, by reason.
    chars_non_content: dict[str, int] = field(default_factory=dict)

    def page_at(self, offset: int) -> int:
        """1-based page number of the character at offset."""
        if not self.page_numbers:
            return 1
        index = bisect.bisect_right(self.page_offsets, offset) - 1
        return self.page_numbers[max(index, 0)]


def _typical_line_length(pages: list[list[str]]) -> int:
    lengths = sorted(len(line) for lines in pages for line in lines if line)
    return lengths[int(len(lengths) * 0.8)] if lengths else 0


def _ends_paragraph(previous: str, line: str, typical: int) -> bool:
    """Whether a line break between previous and line is a paragraph break (pypdf gives no blank lines)."""
    if _BULLET.match(line):
        return True
    if previous.endswith(_SENTENCE_END) and _looks_like_heading(line, typical):
        return True  # "3 Technical data" after a full last line of the previous section
    if len(previous) >= 0.8 * typical:
        return False  # a full line: the paragraph goes on
    # A short line ends a paragraph when it ends a sentence, or is a heading followed by a new sentence.
    return previous.endswith(_SENTENCE_END) or line[:1].isupper() or line[:1].isdigit()


def _looks_like_heading(line: str, typical: int) -> bool:
    short = len(line) < 0.6 * typical
    return short and not line.endswith((*_SENTENCE_END, ",")) and (line[:1].isupper() or line[:1].isdigit())


def _joins_hyphen(previous: str, line: str) -> bool:
    return len(previous) >= 2 and previous[-1] == "-" and previous[-2].islower() and line[:1].islower()


def assemble_document(normalized_pages: list[str]) -> CleanedDocument:
    """Join normalised pages into one text: paragraphs separated by a blank line, running lines removed."""
    pages, removed = remove_running_lines([page.split("\n") for page in normalized_pages])
    # After the running lines: a contents page is recognised by its entries, not by its header "CONTENTS 3".
    pages, non_content = remove_non_content(pages)
    typical = _typical_line_length(pages)
    parts: list[str] = []
    length = 0
    offsets: list[int] = []
    numbers: list[int] = []
    previous = ""  # last line of the open paragraph; "" when a blank line closed it
    for page_number, lines in enumerate(pages, start=1):
        for line in lines:
            if not line:
                previous = ""
                continue
            if not parts:
                separator = ""
            elif previous and _joins_hyphen(previous, line):
                parts[-1] = parts[-1][:-1]
                length -= 1
                separator = ""
            elif previous and not _ends_paragraph(previous, line, typical):
                # "QA-" + "93": a hyphen that is not a word split still joins without a space.
                separator = "" if previous.endswith("-") else " "
            else:
                separator = "\n\n"
            parts.append(separator)
            length += len(separator)
            if not numbers or numbers[-1] != page_number:
                offsets.append(length)
                numbers.append(page_number)
            parts.append(line)
            length += len(line)
            previous = line
    return CleanedDocument("".join(parts), offsets, numbers, removed, non_content)
