"""Replays every input the fuzzer ever flagged (tests/reliability/regressions/) and the known-broken seed
PDFs through the extraction path with the fuzzer's limits: each must end in a result or a typed error,
within the time limit."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from doc2slm_common.errors import DomainError
from doc2slm_extraction.settings import BACKENDS

from tests.reliability.fuzz import REGRESSIONS, finding_files
from tests.reliability.fuzz_extraction import HANG_SLACK_S, TIME_LIMIT_S, fuzz_settings


def _broken_seeds() -> dict[str, bytes]:
    from doc2slm_extraction.testing_pdfs import BROKEN_PDFS

    return {f"seed:{name}": build() for name, build in BROKEN_PDFS.items()}


def _cases() -> list[tuple[str, Path | None]]:
    saved: list[tuple[str, Path | None]] = [(f"finding:{p.name}", p) for p in finding_files(REGRESSIONS)]
    return saved + [(name, None) for name in sorted(_broken_seeds())]


@pytest.fixture(scope="module")
def extractor() -> Iterator[object]:
    from doc2slm_extraction.extractor import Extractor

    with Extractor(fuzz_settings()) as instance:
        yield instance


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize(("name", "path"), _cases(), ids=[name for name, _ in _cases()])
def test_replayed_input_ends_in_a_result_or_a_typed_error(extractor: object, name: str, path: Path | None,
                                                         backend: str) -> None:
    data = path.read_bytes() if path is not None else _broken_seeds()[name]
    options = extractor.options(backend=backend)  # type: ignore[attr-defined]
    started = time.monotonic()
    try:
        extractor.extract(data, name, options)  # type: ignore[attr-defined]
    except DomainError as error:
        assert error.message, f"{name}: a typed error without a message"
    elapsed = time.monotonic() - started
    assert elapsed < TIME_LIMIT_S + HANG_SLACK_S, f"{name} took {elapsed:.1f} s"


@pytest.mark.parametrize("backend", BACKENDS)
def test_the_fuzzing_limits_still_let_every_good_seed_through(extractor: object, backend: str) -> None:
    """Limits so tight that good PDFs fail would make every finding meaningless."""
    from doc2slm_extraction.testing_pdfs import GOOD_PDFS

    options = extractor.options(backend=backend)  # type: ignore[attr-defined]
    for name, build in GOOD_PDFS.items():
        outcome = extractor.extract(build(), name, options)  # type: ignore[attr-defined]
        assert outcome.pages >= 1, name
