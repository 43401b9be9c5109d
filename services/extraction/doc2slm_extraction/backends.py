"""PDF text backends (pypdf, pypdfium2) behind one function, with their failures turned into typed errors.

Runs inside worker processes only: a pathological file may hang or exhaust memory here, and the pool
kills and replaces the worker instead of the service dying.
"""

from __future__ import annotations

import contextlib
import io
import logging
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

from doc2slm_common.errors import DomainError, EncryptedDocument, InvalidInput, LimitExceeded

from doc2slm_extraction.cleaning import normalize_page
from doc2slm_extraction.documents import FinishedDocument, FinishSpec


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
    # A document of more pages than this is only counted, so that its ranges can all run in parallel.
    count_only_above: int = 0
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


def _only_count(request: PageRangeRequest, total: int) -> PageRangeResult | None:
    if request.count_only_above and total > request.count_only_above:
        return PageRangeResult(total, request.first_page, [], 0)
    return None


def _page_range(request: PageRangeRequest, total: int) -> range:
    stop = total if request.stop_page < 0 else min(request.stop_page, total)
    return range(request.first_page, stop)


def _pypdf_pages(request: PageRangeRequest) -> PageRangeResult:
    import pypdf
    from pypdf.errors import EmptyFileError, FileNotDecryptedError, LimitReachedError

    # pypdf logs every recoverable oddity of a broken file; the outcome is reported, the noise is not.
    logging.getLogger("pypdf").setLevel(logging.ERROR)

    def open_reader() -> tuple[Any, Callable[[], None]]:
        reader = pypdf.PdfReader(io.BytesIO(request.data), strict=False)
        if reader.is_encrypted and reader.decrypt(request.password) == pypdf.PasswordType.NOT_DECRYPTED:
            raise EncryptedDocument(_password_message(request.password))
        return reader, reader.close

    try:
        with _document(request, open_reader) as reader:
            return _extract_range(request, len(reader.pages), lambda index: _pypdf_page_text(reader, index))
    except EmptyFileError:
        raise InvalidInput("empty file: 0 bytes is not a PDF") from None
    except FileNotDecryptedError:
        raise EncryptedDocument(_password_message(request.password)) from None
    except LimitReachedError as error:
        raise LimitExceeded(f"PDF exceeds a pypdf safety limit (decompression bomb?): {error}") from None


def _pypdf_page_text(reader: Any, index: int) -> str:
    page = reader.pages[index]
    raw = page.extract_text() or ""
    if not raw.strip():
        # extract_text swallows decompression limits and returns "": ask the content stream why.
        contents = page.get_contents()
        if contents is not None:
            contents.get_data()
    return str(raw)


def _pdfium_page_text(document: Any, index: int) -> str:
    page = document[index]
    textpage = page.get_textpage()
    # pdfium marks a hyphen it judged to end a line with U+FFFE; give it pypdf's shape "-\n".
    raw = textpage.get_text_range().replace("\ufffe", "-\n")
    textpage.close()
    page.close()
    return str(raw)


def _extract_range(request: PageRangeRequest, total: int, page_text: Callable[[int], str]) -> PageRangeResult:
    """The range's normalised pages (or only the page count), the same for every backend."""
    _check_pages(total, request.max_pages)
    counted = _only_count(request, total)
    if counted:
        return counted
    texts, raw_chars = [], 0
    for index in _page_range(request, total):
        raw = page_text(index)
        raw_chars += len(raw)
        texts.append(normalize_page(raw))
    return PageRangeResult(total, request.first_page, texts, raw_chars)


def _password_message(password: str) -> str:
    if password:
        return "encrypted PDF: the password given does not open it"
    return "encrypted PDF: a password is needed to open it"


def _pdfium_pages(request: PageRangeRequest) -> PageRangeResult:
    import pypdfium2 as pdfium

    def open_document() -> tuple[Any, Callable[[], None]]:
        try:
            document = pdfium.PdfDocument(request.data, password=request.password or None)
        except pdfium.PdfiumError as error:
            if "password" in str(error).lower():
                raise EncryptedDocument(_password_message(request.password)) from None
            raise InvalidInput(f"not a readable PDF: {error}") from None
        return document, document.close

    with _document(request, open_document) as document:
        return _extract_range(request, len(document), lambda index: _pdfium_page_text(document, index))


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
