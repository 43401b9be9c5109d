"""PDF text backends (pypdf, pypdfium2) behind one function, with their failures turned into typed errors.

Runs inside worker processes only: a pathological file may hang or exhaust memory here, and the pool
kills and replaces the worker instead of the service dying.
"""

from __future__ import annotations

import contextlib
import io
import logging
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from doc2slm_common.errors import DomainError, EncryptedDocument, InvalidInput, LimitExceeded

from doc2slm_extraction.cleaning import normalize_page
from doc2slm_extraction.documents import FinishedDocument, FinishSpec
from doc2slm_extraction.text_quality import Alternative, reads_as_words, recover_page

if TYPE_CHECKING:  # imported where a document is opened: it imports pypdf, which the service process never needs
    from doc2slm_extraction.pypdf_fonts import FontCache


@dataclass(frozen=True)
class PageRangeRequest:
    data: bytes
    backend: str
    password: str
    first_page: int  # 0-based, inclusive
    stop_page: int  # 0-based, exclusive; -1 means "all pages", 0 with first 0 means "only count pages"
    max_pages: int
    # When the range turns out to hold the whole document, the worker also cleans and chunks it.
    finish: FinishSpec | None = None
    # The document's id: a worker keeps the last document it opened under this key for its next range
    # ("" opens and closes the document within the call).
    cache_key: str = ""


@dataclass(frozen=True)
class PageRangeResult:
    total_pages: int
    first_page: int
    pages: list[str]  # normalised text of each page in the range (empty when finished is set)
    raw_chars: int
    finished: FinishedDocument | None = None
    # Pages (1-based) whose text did not read as words: the ones another reader fixed, with its name, and the
    # ones no reader fixed (see text_quality).
    recovered: dict[int, str] = field(default_factory=dict)
    unrecoverable: list[int] = field(default_factory=list)


@dataclass(frozen=True)
class _OpenDocument:
    key: tuple[str, str, str]
    document: Any
    close: Callable[[], None]


# One open document per worker process. A long document comes as several page ranges; opening it again
# for each cost pypdf 50-330 ms on real manuals (R and gnuplot manuals: xref and page tree of 40-311 pages),
# as much as extracting 3-10 of its pages.
_kept: _OpenDocument | None = None


def forget_open_document() -> None:
    global _kept
    kept, _kept = _kept, None
    if kept is not None:
        kept.close()


@contextlib.contextmanager
def _document(request: PageRangeRequest, open_document: Callable[[], tuple[Any, Callable[[], None]]]) -> Iterator[Any]:
    """The request's document, opened or kept from the previous range; dropped after any failure, since
    a parser that raised may be left half-way through its state."""
    global _kept
    key = (request.cache_key, request.backend, request.password)
    if not (request.cache_key and _kept is not None and _kept.key == key):
        forget_open_document()  # before opening the next one: both would count against the memory limit
        document, close = open_document()
        if not request.cache_key:
            try:
                yield document
            finally:
                close()
            return
        _kept = _OpenDocument(key, document, close)
    try:
        yield _kept.document
    except BaseException:
        forget_open_document()
        raise


def _check_pages(total: int, max_pages: int) -> None:
    if total > max_pages:
        raise LimitExceeded(f"document has {total} pages, more than the limit of {max_pages} (max_pages)")


def _page_range(request: PageRangeRequest, total: int) -> range:
    stop = total if request.stop_page < 0 else min(request.stop_page, total)
    return range(request.first_page, stop)


@dataclass(frozen=True)
class _PypdfDocument:
    reader: Any  # pypdf.PdfReader
    fonts: FontCache  # its fonts, parsed once (pypdf_fonts)

    def close(self) -> None:
        self.fonts.clear()
        self.reader.close()


def _open_pypdf(request: PageRangeRequest) -> tuple[_PypdfDocument, Callable[[], None]]:
    import pypdf

    from doc2slm_extraction.pypdf_fonts import FontCache

    # pypdf logs every recoverable oddity of a broken file; the outcome is reported, the noise is not.
    logging.getLogger("pypdf").setLevel(logging.ERROR)
    reader = pypdf.PdfReader(io.BytesIO(request.data), strict=False)
    if reader.is_encrypted and reader.decrypt(request.password) == pypdf.PasswordType.NOT_DECRYPTED:
        raise EncryptedDocument(_password_message(request.password))
    document = _PypdfDocument(reader, FontCache())
    return document, document.close


def _pypdf_pages(request: PageRangeRequest) -> PageRangeResult:
    from pypdf.errors import EmptyFileError, FileNotDecryptedError, LimitReachedError

    try:
        with _document(request, lambda: _open_pypdf(request)) as document:
            pdfium = _LazyDocument(lambda: _open_pdfium(request))
            same = _LazyDocument(lambda: (document, lambda: None))
            alternatives = [_alternative("pypdfium2", pdfium, _pdfium_page_text),
                            _alternative("pypdf layout mode", same, _pypdf_layout_text)]
            return _extract_range(request, len(document.reader.pages),
                                  lambda index: _pypdf_page_text(document, index), alternatives, [pdfium])
    except EmptyFileError:
        raise InvalidInput("empty file: 0 bytes is not a PDF") from None
    except FileNotDecryptedError:
        raise EncryptedDocument(_password_message(request.password)) from None
    except LimitReachedError as error:
        raise LimitExceeded(f"PDF exceeds a pypdf safety limit (decompression bomb?): {error}") from None


def _pypdf_page_text(document: _PypdfDocument, index: int) -> str:
    page = document.reader.pages[index]
    with document.fonts.kept():
        raw = page.extract_text() or ""
    if not raw.strip():
        # extract_text swallows decompression limits and returns "": ask the content stream why.
        contents = page.get_contents()
        if contents is not None:
            contents.get_data()
    return str(raw)


def _pypdf_layout_text(document: _PypdfDocument, index: int) -> str:
    # Layout mode places text by its coordinates, so words set apart without a space character come apart.
    with document.fonts.kept():
        return str(document.reader.pages[index].extract_text(extraction_mode="layout") or "")


def _pdfium_page_text(document: Any, index: int) -> str:
    page = document[index]
    textpage = page.get_textpage()
    # pdfium marks a hyphen it judged to end a line with U+FFFE; give it pypdf's shape "-\n".
    raw = textpage.get_text_range().replace("\ufffe", "-\n")
    textpage.close()
    page.close()
    return str(raw)


class _LazyDocument:
    """Another reader of the request's document, opened only when a page needs it (most documents never do)."""

    def __init__(self, open_document: Callable[[], tuple[Any, Callable[[], None]]]) -> None:
        self._open = open_document
        self._opened: tuple[Any, Callable[[], None]] | None = None

    def get(self) -> Any:
        if self._opened is None:
            self._opened = self._open()
        return self._opened[0]

    def close(self) -> None:
        opened, self._opened = self._opened, None
        if opened is not None:
            opened[1]()


def _alternative(name: str, document: _LazyDocument, page_text: Callable[[Any, int], str]) -> Alternative:
    return Alternative(name, lambda index: page_text(document.get(), index))


def _extract_range(request: PageRangeRequest, total: int, page_text: Callable[[int], str],
                   alternatives: list[Alternative], others: list[_LazyDocument]) -> PageRangeResult:
    """The range's normalised pages, the same for every backend. A page whose text does not read as words is
    read again through the alternatives and the best text is kept."""
    _check_pages(total, request.max_pages)
    texts, raw_chars = [], 0
    recovered: dict[int, str] = {}
    unrecoverable: list[int] = []
    try:
        for index in _page_range(request, total):
            raw = page_text(index)
            text, page_raw_chars = normalize_page(raw), len(raw)
            if not reads_as_words(text):
                recovery = recover_page(index, text, page_raw_chars, alternatives)
                text, page_raw_chars = recovery.text, recovery.raw_chars
                if recovery.recovered:
                    recovered[index + 1] = recovery.by
                else:
                    unrecoverable.append(index + 1)
            raw_chars += page_raw_chars
            texts.append(text)
    finally:
        for other in others:
            other.close()
    return PageRangeResult(total, request.first_page, texts, raw_chars, recovered=recovered,
                           unrecoverable=unrecoverable)


def _password_message(password: str) -> str:
    if password:
        return "encrypted PDF: the password given does not open it"
    return "encrypted PDF: a password is needed to open it"


def _open_pdfium(request: PageRangeRequest) -> tuple[Any, Callable[[], None]]:
    import pypdfium2 as pdfium

    try:
        document = pdfium.PdfDocument(request.data, password=request.password or None)
    except pdfium.PdfiumError as error:
        if "password" in str(error).lower():
            raise EncryptedDocument(_password_message(request.password)) from None
        raise InvalidInput(f"not a readable PDF: {error}") from None
    return document, document.close


def _pdfium_pages(request: PageRangeRequest) -> PageRangeResult:
    reader = _LazyDocument(lambda: _open_pypdf(request))
    alternatives = [_alternative("pypdf", reader, _pypdf_page_text),
                    _alternative("pypdf layout mode", reader, _pypdf_layout_text)]
    with _document(request, lambda: _open_pdfium(request)) as document:
        return _extract_range(request, len(document), lambda index: _pdfium_page_text(document, index),
                              alternatives, [reader])


def extract_page_range(request: PageRangeRequest) -> PageRangeResult:
    """Normalised text of a range of pages; raises typed errors for every bad input."""
    if not request.data:
        raise InvalidInput("empty file: 0 bytes is not a PDF")
    try:
        if request.backend == "pypdfium2":
            return _pdfium_pages(request)
        return _pypdf_pages(request)
    except DomainError:
        raise
    except MemoryError:
        raise LimitExceeded("document needs more memory than the worker limit (doc_memory_mb)") from None
    except RecursionError:
        raise InvalidInput("not a readable PDF: objects nested too deeply") from None
    except Exception as error:  # any parser failure on a malformed file is the file's fault, not a bug
        raise InvalidInput(f"not a readable PDF: {type(error).__name__}: {error}"[:300]) from None
