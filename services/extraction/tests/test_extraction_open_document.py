"""A worker keeps the last document it opened for the next page range of it, and only that document."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from doc2slm_common.errors import EncryptedDocument, LimitExceeded
from doc2slm_extraction import backends, testing_pdfs
from doc2slm_extraction.backends import PageRangeRequest, extract_page_range
from doc2slm_extraction.documents import document_id

BACKENDS = ["pypdf", "pypdfium2"]


def _range(data: bytes, backend: str, first: int, stop: int, key: str, max_pages: int = 100) -> PageRangeRequest:
    return PageRangeRequest(data, backend, "", first, stop, max_pages, cache_key=key)


@pytest.fixture(autouse=True)
def _nothing_kept() -> Iterator[None]:
    backends.forget_open_document()
    yield
    backends.forget_open_document()


@pytest.mark.parametrize("backend", BACKENDS)
def test_ranges_of_one_document_reuse_it_and_match_a_whole_extraction(backend: str) -> None:
    data = testing_pdfs.multipage_pdf(pages=6, seed=3)
    whole = extract_page_range(PageRangeRequest(data, backend, "", 0, -1, 100)).pages
    assert backends._kept is None  # no key: opened and closed within the call
    key = document_id(data)
    first = extract_page_range(_range(data, backend, 0, 3, key))
    kept = backends._kept
    assert kept is not None and kept.key[0] == key
    second = extract_page_range(_range(data, backend, 3, 6, key))
    assert backends._kept is kept  # the second range did not open the document again
    assert first.pages + second.pages == whole


@pytest.mark.parametrize("backend", BACKENDS)
def test_another_document_replaces_the_kept_one(backend: str) -> None:
    one, other = testing_pdfs.multipage_pdf(pages=4, seed=1), testing_pdfs.multipage_pdf(pages=4, seed=2)
    extract_page_range(_range(one, backend, 0, 2, document_id(one)))
    from_other = extract_page_range(_range(other, backend, 0, 4, document_id(other))).pages
    assert backends._kept is not None and backends._kept.key[0] == document_id(other)
    assert from_other == extract_page_range(PageRangeRequest(other, backend, "", 0, -1, 100)).pages


@pytest.mark.parametrize("backend", BACKENDS)
def test_a_failure_inside_a_range_drops_the_kept_document(backend: str) -> None:
    data = testing_pdfs.multipage_pdf(pages=6, seed=4)
    key = document_id(data)
    extract_page_range(_range(data, backend, 0, 2, key))
    with pytest.raises(LimitExceeded):
        extract_page_range(_range(data, backend, 2, 4, key, max_pages=3))
    assert backends._kept is None


@pytest.mark.parametrize("backend", BACKENDS)
def test_a_different_password_opens_the_document_again(backend: str) -> None:
    data = testing_pdfs.encrypted_pdf(user_password="")
    key = document_id(data)
    extract_page_range(PageRangeRequest(data, backend, "", 0, -1, 100, cache_key=key))
    assert backends._kept is not None
    with pytest.raises(EncryptedDocument):  # not served from the document the empty password opened
        extract_page_range(PageRangeRequest(data, backend, "wrong", 0, -1, 100, cache_key=key))
    assert backends._kept is None
