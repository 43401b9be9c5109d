"""Pages and lines that are about the document, not in it: contents, lists of figures, indexes, title and
copyright pages. Nothing can be learnt from "5.5 How can I create an R package? . . . . 24": a teacher asked
about it writes questions about a contents page, and the model learns page numbers. On two real FAQ manuals
17% of the chunks were such lines.

Judged per page, on the lines left after running headers and footers are gone, because a listing is a
page-level thing: one line ending in a number is content, thirty in a row whose numbers rise are a table of
contents. A line is an entry when it ends in a page number (no larger than the document could have) after
leader dots ("Voxel grids . . . . 23"), after a title ("1 Definitions and overview 1") or after index
commas ("clip, 24, 81, 137"). A page is a listing when entries make most of its lines; which listing it is
comes from its heading ("Contents", "List of Figures", "Concept Index"), else from the listing on the page
before, else from its numbers (rising: contents; not: index). On a listing page the entries go, and so do
runs of at most MAX_RUN other lines among them (headings, entry titles wrapped onto two lines, index group
words); longer runs are content that shares the page and stay.

Title and copyright pages only count in front matter (before the first listing, or the first two pages
with text when there is none) of documents of MIN_PAGES_FOR_FRONT_MATTER pages or more: a one-page note is
all content however short it is.
"""

from __future__ import annotations

import itertools
import re
from dataclasses import dataclass

MAX_RUN = 2
MIN_PAGES_FOR_FRONT_MATTER = 4
TITLE_MAX_WORDS = 100
COPYRIGHT_MAX_WORDS = 400
PROSE_LINE_WORDS = 8  # a line of this many words ending a sentence is prose: not a title page

_ROMAN = re.compile(r"[ivxlc]{1,7}")
_LEADERS = re.compile(r"(?:\.\s?){3,}$")
_INDEX_REFS = re.compile(r",\s*\d{1,4}(?:\s*[-–]\s*\d{1,4})?(?:,\s*\d{1,4}(?:\s*[-–]\s*\d{1,4})?)*$")
_SECTION_START = re.compile(r"^(?:\d+(?:\.\d+)*\.?|[A-Z]\.\d+(?:\.\d+)*|chapter|appendix|part|[IVX]+)\s", re.I)
_HEADINGS = (
    ("figure_list", re.compile(r"^(?:list of )?(?:figures|tables|illustrations|listings|examples)$", re.I)),
    ("contents", re.compile(r"^(?:table of )?contents$", re.I)),
    ("index", re.compile(r"^(?:[\w ]{0,40}\s)?index(?:\s+[a-z])?$", re.I)),
)
_COPYRIGHT = re.compile(r"copyright|©|\(c\)|all rights reserved|isbn|permission is granted", re.I)
_SENTENCE_END = (".", "!", "?")

REASONS = ("title", "copyright", "contents", "figure_list", "index")


@dataclass(frozen=True)
class _Line:
    entry: bool  # a contents, list or index entry
    leader: bool  # with leader dots
    index: bool  # with index commas
    page: int  # the page number it refers to (-1 for roman numerals and index lists)


def _page_number(line: str, max_page: int) -> tuple[str, int] | None:
    """The line without its trailing page number, and the number; None when it does not end in one."""
    head = line.rstrip("0123456789")
    digits = line[len(head):]
    if digits:
        number = int(digits[:5])
        return (head, number) if len(digits) <= 4 and 0 < number <= max_page else None
    parts = line.rsplit(None, 1)
    if len(parts) == 2 and _ROMAN.fullmatch(parts[1]):
        return parts[0], -1
    return None


def _classify(line: str, max_page: int) -> _Line:
    if not line or not (line[-1].isdigit() or line[-1] in "ivxlc"):
        return _Line(False, False, False, 0)
    if line[-1].isdigit() and _INDEX_REFS.search(line):
        return _Line(True, False, True, -1)
    split = _page_number(line, max_page)
    if split is None:
        return _Line(False, False, False, 0)
    head, number = split
    tail = head[-24:].rstrip()
    if _LEADERS.search(tail):
        return _Line(True, True, False, number)
    if head.endswith(" ") and any(char.isalpha() for char in head):
        return _Line(True, False, False, number)
    return _Line(False, False, False, 0)


def _heading(lines: list[str]) -> str | None:
    for line in lines[:3]:
        for reason, pattern in _HEADINGS:
            if len(line) <= 60 and pattern.match(line):
                return reason
    return None


def _rising(numbers: list[int]) -> bool:
    pairs = list(itertools.pairwise(numbers))
    return bool(pairs) and sum(later >= earlier for earlier, later in pairs) >= 0.8 * len(pairs)


def _listing_kind(lines: list[str], kinds: list[_Line], previous: str | None) -> str | None:
    """Which listing the page is, or None for a page of content."""
    total = len(lines)
    entries = [kind for kind in kinds if kind.entry]
    leaders = sum(kind.leader for kind in entries)
    indexed = sum(kind.index for kind in entries)
    numbers = [kind.page for kind in entries if kind.page > 0]
    heading = _heading(lines)
    known = heading or previous
    sections = sum(bool(_SECTION_START.match(line)) for line, kind in zip(lines, kinds, strict=True) if kind.entry)
    listing = (
        (leaders >= 3 and len(entries) >= 0.4 * total)
        or (indexed >= 5 and indexed >= 0.5 * total and (known == "index" or indexed >= 0.7 * total))
        or (len(entries) >= 5 and len(entries) >= 0.6 * total and _rising(numbers)
            and (known is not None or sections >= 0.5 * len(entries)))
    )
    if not listing:
        return None
    if known is not None:
        return known
    return "index" if indexed > len(entries) / 2 or not _rising(numbers) else "contents"


def _furniture(line: str) -> bool:
    """A listing's heading or an index's letter ("Q"): goes with the listing, counts as no entry."""
    return len(line) == 1 or _heading([line]) is not None


def _listing_lines(lines: list[str], kinds: list[_Line]) -> list[bool]:
    """Which lines of a listing page go: entries, headings, and runs of at most MAX_RUN other lines."""
    drop = [kind.entry or _furniture(line) for line, kind in zip(lines, kinds, strict=True)]
    start = 0
    while start < len(kinds):
        if drop[start]:
            start += 1
            continue
        stop = start
        while stop < len(kinds) and not drop[stop]:
            stop += 1
        if stop - start <= MAX_RUN:
            drop[start:stop] = [True] * (stop - start)
        start = stop
    return drop


def _front_matter_reason(lines: list[str], first: bool) -> str | None:
    words = sum(len(line.split()) for line in lines)
    if words <= COPYRIGHT_MAX_WORDS and any(_COPYRIGHT.search(line) for line in lines):
        return "copyright"
    prose = any(line.endswith(_SENTENCE_END) and len(line.split()) >= PROSE_LINE_WORDS for line in lines)
    return "title" if first and words <= TITLE_MAX_WORDS and not prose else None


def _count(dropped: dict[str, int], reason: str, lines: list[str]) -> None:
    dropped[reason] = dropped.get(reason, 0) + sum(len(line) for line in lines)


def _remove_listings(pages: list[list[str]], dropped: dict[str, int]) -> list[int]:
    """Listing lines out of pages (in place); returns the indexes of the listing pages."""
    max_page = len(pages) + 20  # printed numbers may start late, never far beyond the count
    listings: list[int] = []
    previous: str | None = None
    for number, lines in enumerate(pages):
        where = [position for position, line in enumerate(lines) if line]
        if not where:
            continue
        content = [lines[position] for position in where]
        kinds = [_classify(line, max_page) for line in content]
        kind = _listing_kind(content, kinds, previous)
        previous = kind
        if kind is None:
            continue
        listings.append(number)
        gone = {position for position, drop in zip(where, _listing_lines(content, kinds), strict=True) if drop}
        _count(dropped, kind, [lines[position] for position in sorted(gone)])
        pages[number] = [line for position, line in enumerate(lines) if position not in gone]
    return listings


def remove_non_content(pages: list[list[str]]) -> tuple[list[list[str]], dict[str, int]]:
    """Pages without their listings and front matter, and the characters dropped by reason (REASONS)."""
    dropped: dict[str, int] = {}
    result = [list(lines) for lines in pages]
    listings = _remove_listings(result, dropped)
    with_text = [number for number, lines in enumerate(pages) if any(lines)]
    if len(with_text) < MIN_PAGES_FOR_FRONT_MATTER:
        return result, dropped
    # Front matter comes before the contents; without contents near the start, only the first two pages.
    before = [number for number in with_text if listings and number < listings[0] <= 6]
    for number in before or with_text[:2]:
        if number in listings:
            continue
        lines = [line for line in pages[number] if line]
        reason = _front_matter_reason(lines, first=number == with_text[0])
        if reason is not None:
            _count(dropped, reason, lines)
            result[number] = []
    return result, dropped


# Page references as they survive in chunk text, where the lines of a listing are joined: "... . . . 24" and
# "clip, 24, 81". For measuring what reaches the chunks (tests, the README's figures), not for cleaning.
_LEADER_REF = re.compile(r"(?:\.\s?){3,}\s*\d{1,4}\b")
_INDEX_REF = re.compile(r"[^\W\d_][\w.-]*,\s?\d{1,4}(?:\s*[-–]\s*\d{1,4})?(?![\d.)>\]])")
_WORD = re.compile(r"\w+")


def looks_like_listing(text: str) -> bool:
    """Whether a chunk is mostly contents or index entries: three page references or more, one per 12 words
    or fewer (words: runs of letters or digits, so the dots of leaders are none)."""
    references = len(_LEADER_REF.findall(text)) + len(_INDEX_REF.findall(text))
    return references >= 3 and references * 12 >= len(_WORD.findall(text))
