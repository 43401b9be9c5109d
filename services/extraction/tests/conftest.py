"""Shared fixtures: the PDF factory's files and one real extractor (worker processes) per session."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from doc2slm_extraction.extractor import Extractor
from doc2slm_extraction.settings import ExtractionSettings
from doc2slm_extraction.testing_pdfs import BROKEN_PDFS, GOOD_PDFS

# Small limits so that limit paths run fast: 640 MiB of address space is ample for the test files and
# makes pdfium give up on the decompression bomb early.
TEST_SETTINGS = {"workers": 2, "doc_memory_mb": 640, "doc_timeout_s": 60, "pages_per_task": 2,
                 "max_tokens": 128, "overlap_tokens": 16, "min_chunk_tokens": 16}


@pytest.fixture(scope="session")
def pdfs() -> dict[str, bytes]:
    return {name: build() for name, build in {**GOOD_PDFS, **BROKEN_PDFS}.items()}


@pytest.fixture(scope="session")
def pdf_dir(pdfs: dict[str, bytes], tmp_path_factory: pytest.TempPathFactory) -> Path:
    directory = tmp_path_factory.mktemp("pdfs")
    for name, data in pdfs.items():
        (directory / name).write_bytes(data)
    return directory


@pytest.fixture(scope="session")
def test_settings() -> ExtractionSettings:
    return ExtractionSettings(**TEST_SETTINGS)


@pytest.fixture(scope="session")
def extractor(test_settings: ExtractionSettings) -> Iterator[Extractor]:
    with Extractor(test_settings) as instance:
        yield instance
