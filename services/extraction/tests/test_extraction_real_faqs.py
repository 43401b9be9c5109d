"""Two real FAQ manuals that the default backend used to turn into glued words and contents lines.

debian-faq.pdf (DocBook via dblatex: words placed without space characters, pypdf glued them: mean token
length 13.9 characters) and R-FAQ.pdf (texinfo: three pages of contents first). Not in the repository;
put them in DOC2SLM_FAQ_MANUALS (default /tmp/manuals) to run: `pytest -m slow services/extraction`.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from doc2slm_extraction.extractor import Extractor
from doc2slm_extraction.non_content import looks_like_listing
from doc2slm_extraction.settings import ExtractionSettings

MANUALS = Path(os.environ.get("DOC2SLM_FAQ_MANUALS", "/tmp/manuals"))
NAMES = ["debian-faq.pdf", "R-FAQ.pdf"]


@pytest.mark.slow
def test_the_faqs_read_as_words_and_hold_no_contents_or_index_lines() -> None:
    if not all((MANUALS / name).is_file() for name in NAMES):
        pytest.skip(f"no {' and '.join(NAMES)} in {MANUALS}")
    chunks = []
    with Extractor(ExtractionSettings()) as extractor:  # the default backend, pypdf
        for name in NAMES:
            outcome = extractor.extract((MANUALS / name).read_bytes(), name, extractor.options())
            tokens = " ".join(chunk.text for chunk in outcome.chunks).split()
            assert sum(map(len, tokens)) / len(tokens) < 7, name
            assert sum(len(token) > 20 for token in tokens) < 0.02 * len(tokens), name
            assert outcome.pages_unrecoverable == 0 and outcome.non_content.get("contents", 0) > 0, name
            chunks.extend(outcome.chunks)
            if name == "debian-faq.pdf":
                assert outcome.pages_recovered > 50 and "frequently asked questions" in tokens_text(tokens)
    listing = [chunk for chunk in chunks if looks_like_listing(chunk.text)]
    assert len(listing) < 0.02 * len(chunks), [chunk.text[:80] for chunk in listing]


def tokens_text(tokens: list[str]) -> str:
    return " ".join(tokens)
