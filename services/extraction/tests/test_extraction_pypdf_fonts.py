"""Fonts parsed once per document (pypdf_fonts) give the text pypdf gives without the cache, page by page."""

from __future__ import annotations

import io
from pathlib import Path
from typing import Literal

import pypdf
import pytest
from doc2slm_extraction.pypdf_fonts import FontCache
from doc2slm_extraction.testing_pdfs import GOOD_PDFS

MANUALS = Path(__file__).resolve().parents[3] / "tools" / "manuals"


Mode = Literal["plain", "layout"]


def _texts(data: bytes, mode: Mode, fonts: FontCache | None) -> list[str]:
    reader = pypdf.PdfReader(io.BytesIO(data))
    texts = []
    for page in reader.pages:
        if fonts is None:
            texts.append(page.extract_text(extraction_mode=mode))
        else:
            with fonts.kept():
                texts.append(page.extract_text(extraction_mode=mode))
    return texts


def _assert_same_text(data: bytes, modes: tuple[Mode, ...] = ("plain", "layout")) -> None:
    for mode in modes:
        fonts = FontCache()
        texts = _texts(data, mode, fonts)
        assert texts == _texts(data, mode, None), mode
        assert bool(fonts.fonts) == any(text.strip() for text in texts)  # text came through cached fonts


@pytest.mark.parametrize("name", sorted(GOOD_PDFS))
def test_cached_fonts_give_the_same_text(name: str) -> None:
    _assert_same_text(GOOD_PDFS[name]())


def test_the_cache_holds_each_font_once_and_is_only_used_within_kept() -> None:
    data = GOOD_PDFS["multipage.pdf"]()
    fonts = FontCache()
    pages = len(_texts(data, "plain", fonts))
    assert 0 < len(fonts.fonts) < pages
    built = dict(fonts.fonts)
    _texts(data, "plain", None)  # outside kept(): nothing added
    assert fonts.fonts == built
    fonts.clear()
    assert not fonts.fonts


@pytest.mark.slow
@pytest.mark.skipif(not MANUALS.is_dir(), reason="no real manuals in tools/manuals (make bench-extract fetches them)")
def test_cached_fonts_give_the_same_text_on_real_manuals() -> None:
    for path in sorted(MANUALS.glob("*.pdf")):
        # Layout mode (a recovery reader of a few pages) on one manual only: it is slow on 936 pages.
        _assert_same_text(path.read_bytes(), ("plain", "layout") if path.name == "R-data.pdf" else ("plain",))
