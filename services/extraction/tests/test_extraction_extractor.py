"""The extraction library on real PDFs made with fpdf2, through the real worker processes."""

from __future__ import annotations

import pytest
from doc2slm_common.errors import DomainError
from doc2slm_extraction import testing_pdfs
from doc2slm_extraction.backends import PageRangeRequest, extract_page_range
from doc2slm_extraction.documents import DocumentSource, document_id
from doc2slm_extraction.extractor import Extractor
from doc2slm_extraction.testing_pdfs import EXPECTED_STATUS
from doc2slm_extraction.tokens import count_tokens

BACKENDS = ["pypdf", "pypdfium2"]


@pytest.mark.parametrize("backend", BACKENDS)
def test_multipage_manual_loses_headers_footers_and_keeps_provenance(
    extractor: Extractor, pdfs: dict[str, bytes], backend: str
) -> None:
    data = pdfs["multipage.pdf"]
    outcome = extractor.extract(data, "manual.pdf", extractor.options(backend=backend))
    assert outcome.pages == 6 and outcome.doc_id == document_id(data)
    text = "\n".join(chunk.text for chunk in outcome.chunks)
    assert testing_pdfs.HEADER_TEXT not in text and "Confidential" not in text and "Page 1 of" not in text
    assert outcome.chars_raw > outcome.chars_kept > 0.85 * outcome.chars_raw
    assert outcome.chunks[0].page_start == 1 and outcome.chunks[-1].page_end == 6
    for previous, chunk in zip(outcome.chunks, outcome.chunks[1:], strict=False):
        assert chunk.page_start >= previous.page_start and chunk.char_start > previous.char_start
    for chunk in outcome.chunks:
        assert chunk.source == "manual.pdf" and chunk.doc_id == outcome.doc_id
        assert chunk.n_tokens == count_tokens(chunk.text) <= 128
        assert chunk.char_end - chunk.char_start == len(chunk.text)
        assert 1 <= chunk.page_start <= chunk.page_end <= 6
    # Each chunk's first and last characters are on the pages it names (whitespace aside: lines are joined).
    pages = [
        "".join(text.split())
        for text in extract_page_range(PageRangeRequest(data, backend, "", 0, -1, 100)).pages
    ]
    for chunk in outcome.chunks:
        compact = "".join(chunk.text.split())
        assert compact[:40] in pages[chunk.page_start - 1]
        assert compact[-40:] in pages[chunk.page_end - 1]
    assert len({chunk.chunk_id for chunk in outcome.chunks}) == len(outcome.chunks)


def test_same_input_gives_the_same_chunks(extractor: Extractor, pdfs: dict[str, bytes]) -> None:
    options = extractor.options()
    first = extractor.extract(pdfs["multipage.pdf"], "m.pdf", options)
    second = extractor.extract(pdfs["multipage.pdf"], "m.pdf", options)
    assert [c.to_record() for c in first.chunks] == [c.to_record() for c in second.chunks]
    assert testing_pdfs.multipage_pdf() == pdfs["multipage.pdf"]  # the factory itself is deterministic


@pytest.mark.parametrize("backend", BACKENDS)
def test_layout_cases_give_the_expected_clean_text(
    extractor: Extractor, pdfs: dict[str, bytes], backend: str
) -> None:
    options = extractor.options(backend=backend)

    def text_of(name: str) -> str:
        return "\n\n".join(chunk.text for chunk in extractor.extract(pdfs[name], name, options).chunks)

    assert text_of("hyphenated.pdf") == (
        "The controller keeps information about every shipment in the central ledger. "
        "Pre-shift checks are mandatory."
    )
    assert text_of("two_column.pdf") == f"{testing_pdfs.LEFT_COLUMN}\n\n{testing_pdfs.RIGHT_COLUMN}"
    assert text_of("non_latin.pdf") == testing_pdfs.NON_LATIN_TEXT
    assert text_of("empty_password.pdf") == "Encrypted page: the service code is 4711."


@pytest.mark.parametrize("backend", BACKENDS)
def test_pages_without_text_give_warnings_not_failures(
    extractor: Extractor, pdfs: dict[str, bytes], backend: str
) -> None:
    options = extractor.options(backend=backend)
    empty = extractor.extract(pdfs["empty_page.pdf"], "e.pdf", options)
    assert empty.pages == 3 and empty.warnings == [
        "1 of 3 pages have no extractable text (empty or scanned): 2"
    ]
    assert [(c.page_start, c.page_end) for c in empty.chunks] == [(1, 3)]
    scanned = extractor.extract(pdfs["image_only.pdf"], "scan.pdf", options)
    assert scanned.chunks == [] and scanned.failure is None
    assert "no extractable text on any of the 1 pages" in scanned.warnings[0]


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("name", sorted(EXPECTED_STATUS))
def test_broken_pdfs_get_their_status(
    extractor: Extractor, pdfs: dict[str, bytes], backend: str, name: str
) -> None:
    with pytest.raises(DomainError) as caught:
        extractor.extract(pdfs[name], name, extractor.options(backend=backend))
    assert caught.value.code_name == EXPECTED_STATUS[name], caught.value.message
    # The pool is whole again: a good document still extracts.
    assert extractor.extract(pdfs["hyphenated.pdf"], "h.pdf", extractor.options(backend=backend)).chunks


def test_password_opens_an_encrypted_pdf_and_a_wrong_one_does_not(
    extractor: Extractor, pdfs: dict[str, bytes]
) -> None:
    options = extractor.options()
    opened = extractor.extract(pdfs["encrypted.pdf"], "enc.pdf", options, password="secret")
    assert opened.chunks[0].text == "Encrypted page: the service code is 4711."
    with pytest.raises(DomainError, match="does not open it") as caught:
        extractor.extract(pdfs["encrypted.pdf"], "enc.pdf", options, password="wrong")
    assert caught.value.code_name == "FAILED_PRECONDITION"


def test_batch_keeps_order_and_fails_bad_documents_alone(
    extractor: Extractor, pdfs: dict[str, bytes]
) -> None:
    names = ["multipage.pdf", "random_bytes.pdf", "two_column.pdf", "encrypted.pdf", "hyphenated.pdf"]
    sources = [DocumentSource(name, lambda name=name: pdfs[name]) for name in names]
    outcomes = list(extractor.extract_many(sources, extractor.options()))
    assert [o.source for o in outcomes] == names
    assert [o.failure.code_name if o.failure else "OK" for o in outcomes] == [
        "OK", "INVALID_ARGUMENT", "OK", "FAILED_PRECONDITION", "OK"]
    assert all(o.chunks for o in outcomes if o.failure is None)


def test_option_values_are_validated(extractor: Extractor) -> None:
    for bad in ({"max_tokens": 8}, {"overlap_tokens": 500}, {"backend": "tesseract"}):
        with pytest.raises(DomainError) as caught:
            extractor.options(**bad)  # type: ignore[arg-type]
        assert caught.value.code_name == "INVALID_ARGUMENT"
