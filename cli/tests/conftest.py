"""Fixtures of the CLI tests: the extraction package's test PDFs (good and broken) in a folder."""

from __future__ import annotations

from pathlib import Path

import pytest
from doc2slm_extraction.testing_pdfs import BROKEN_PDFS, GOOD_PDFS


@pytest.fixture(scope="session")
def pdf_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    directory = tmp_path_factory.mktemp("pdfs")
    for name, build in {**GOOD_PDFS, **BROKEN_PDFS}.items():
        directory.joinpath(name).write_bytes(build())
    return directory
