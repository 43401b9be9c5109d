"""Configured limits: size, pages, chunks, time (a stuck worker is killed and replaced)."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Iterator

import pytest
from doc2slm_common.config import ConfigError, load_settings
from doc2slm_common.errors import DomainError
from doc2slm_extraction import testing_pdfs
from doc2slm_extraction.extractor import Extractor
from doc2slm_extraction.settings import ExtractionSettings


@pytest.fixture(scope="module")
def strict() -> Iterator[Extractor]:
    settings = ExtractionSettings(workers=1, doc_memory_mb=1024, max_file_bytes=100000, max_pages=40,
                                  max_chunks_per_doc=2, doc_timeout_s=60, pages_per_task=50)
    with Extractor(settings) as instance:
        yield instance


def _code(extractor: Extractor, data: bytes) -> str:
    with pytest.raises(DomainError) as caught:
        extractor.extract(data, "doc.pdf", extractor.options())
    return caught.value.code_name


def test_size_pages_and_chunks_limits(strict: Extractor) -> None:
    assert _code(strict, b"%PDF" + b"0" * 100000) == "RESOURCE_EXHAUSTED"
    assert _code(strict, testing_pdfs.multipage_pdf(pages=41, paragraphs_per_page=0)) == "RESOURCE_EXHAUSTED"
    assert _code(strict, testing_pdfs.multipage_pdf(pages=4, paragraphs_per_page=3)) == "RESOURCE_EXHAUSTED"


def test_time_limit_kills_the_worker_and_the_next_document_still_works() -> None:
    slow = testing_pdfs.large_pdf(pages=600)  # pypdf needs about a second for these even on an idle core
    settings = ExtractionSettings(workers=1, doc_memory_mb=1024, doc_timeout_s=0.1, pages_per_task=1000)
    with Extractor(settings) as extractor:
        assert _code(extractor, slow) == "DEADLINE_EXCEEDED"
        assert extractor.pool.replaced == 1
        # The next document runs on the replacement worker. A 0.1 s limit would judge how fast a loaded
        # machine schedules that fresh process, not whether it works (it failed so once beside a benchmark).
        extractor.settings = settings.model_copy(update={"doc_timeout_s": 60.0})
        assert extractor.extract(testing_pdfs.hyphenated_pdf(), "h.pdf", extractor.options()).chunks


def test_bad_settings_name_the_setting() -> None:
    with pytest.raises(ConfigError, match="max_pages"):
        load_settings(ExtractionSettings, max_pages=0)
    with pytest.raises(ConfigError, match="overlap_tokens"):
        load_settings(ExtractionSettings, max_tokens=64, overlap_tokens=64)


def test_a_worker_killed_from_outside_is_replaced_without_failing_a_document() -> None:
    with Extractor(ExtractionSettings(workers=1, doc_memory_mb=1024)) as extractor:
        idle = extractor.pool._idle.get()
        idle.process.kill()
        idle.process.join(5)
        extractor.pool._idle.put(idle)
        outcome = extractor.extract(testing_pdfs.hyphenated_pdf(), "h.pdf", extractor.options())
        assert outcome.chunks and extractor.pool.replaced == 1


def test_workers_start_when_the_parent_runs_from_stdin() -> None:
    """Workers must not re-run the parent's __main__ (here stdin, which cannot be re-read)."""
    script = (
        "from doc2slm_extraction.extractor import Extractor\n"
        "from doc2slm_extraction.settings import ExtractionSettings\n"
        "from doc2slm_extraction.testing_pdfs import hyphenated_pdf\n"
        "with Extractor(ExtractionSettings(workers=1, doc_memory_mb=1024)) as extractor:\n"
        "    print(extractor.extract(hyphenated_pdf(), 'h.pdf', extractor.options()).chunks[0].text)\n"
    )
    done = subprocess.run([sys.executable, "-"], input=script, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert done.stdout.startswith("The controller keeps information")


def test_a_document_uri_over_the_size_limit_is_refused_before_it_is_read(strict: Extractor, tmp_path) -> None:  # type: ignore[no-untyped-def]
    from doc2slm.v1 import extraction_pb2
    from doc2slm_extraction.service import ExtractionServicer

    huge = tmp_path / "huge.pdf"
    with huge.open("wb") as handle:
        handle.truncate(50 * 1024**3)  # sparse: 50 GiB that would exhaust memory if anything read it
    servicer = ExtractionServicer(strict)
    header = extraction_pb2.DocumentHeader(uri=huge.as_uri(), source_name="huge.pdf")
    with pytest.raises(DomainError) as caught:
        servicer._receive(iter([extraction_pb2.ExtractDocumentRequest(header=header)]))
    assert caught.value.code_name == "RESOURCE_EXHAUSTED" and "100000" in str(caught.value)
    [source] = list(servicer._sources([huge.as_uri()]))
    with pytest.raises(DomainError, match="100000"):
        source.load()
