"""pypdf's fonts parsed once per document, not once per page.

pypdf's `extract_text` builds every font of a page from its PDF dictionary on each page (widths, encoding
and the ToUnicode CMap, parsed line by line), although the pages of a manual share a dozen font objects:
measured on the R and gnuplot manuals (936 pages, 4,789 font builds), 15-20% of pypdf's CPU. Within
`FontCache.kept()` a font built from the same dictionary object (the reader resolves an indirect
font to one object for all pages) is taken from the cache of that open document. Each page gets its own shallow copy,
since `extract_text` sets `space_width` on the font it is given; the text is the same as without the cache
(tests compare them on real manuals).

Runs in worker processes, one task at a time. The cache holds the dictionaries it keys by id, so an id is
never reused while its entry lives, and it is dropped when the document is closed.
"""

from __future__ import annotations

import contextlib
import copy
import threading
from collections.abc import Iterator
from typing import Any

try:  # a private pypdf module (pinned 7.1.1): another pypdf without it extracts as before, uncached
    from pypdf.generic import _font

    _build = _font.Font.from_font_resource.__func__  # type: ignore[attr-defined]
except (ImportError, AttributeError):  # pragma: no cover - depends on the installed pypdf
    _font = None  # type: ignore[assignment]
    _build = None
_local = threading.local()  # .fonts: id(font dictionary) -> (the dictionary, its Font), while kept


def _from_font_resource(cls: type[Any], pdf_font_dict: Any) -> Any:
    fonts: dict[int, tuple[Any, Any]] | None = getattr(_local, "fonts", None)
    if fonts is None:
        return _build(cls, pdf_font_dict)
    kept = fonts.get(id(pdf_font_dict))
    if kept is None or kept[0] is not pdf_font_dict:
        kept = (pdf_font_dict, _build(cls, pdf_font_dict))
        fonts[id(pdf_font_dict)] = kept
    return copy.copy(kept[1])


_installed = False
_install_lock = threading.Lock()


def _install() -> None:
    """Route Font.from_font_resource through the cache; outside FontCache.kept() it builds as before."""
    global _installed
    if _font is None or _build is None:
        return
    with _install_lock:
        if not _installed:
            _font.Font.from_font_resource = classmethod(_from_font_resource)  # type: ignore[method-assign,assignment]
            _installed = True


class FontCache:
    """The fonts of one open document."""

    def __init__(self) -> None:
        _install()
        self.fonts: dict[int, tuple[Any, Any]] = {}

    @contextlib.contextmanager
    def kept(self) -> Iterator[None]:
        """Within this block, fonts this thread builds come from (and go to) this cache."""
        previous = getattr(_local, "fonts", None)
        _local.fonts = self.fonts
        try:
            yield
        finally:
            _local.fonts = previous

    def clear(self) -> None:
        self.fonts.clear()
