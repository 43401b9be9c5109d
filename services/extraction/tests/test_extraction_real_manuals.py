"""Real manuals (R and gnuplot, pdfTeX, 936 pages) from Debian's doc packages, through both backends.

Marked slow: it fetches 13 MB with `apt-get download` (scripts/fetch_manuals.sh) into tools/manuals, so
`make test` does not depend on a package mirror. Run: `pytest -m slow services/extraction`.
"""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest
from doc2slm_extraction.extractor import Extractor
from doc2slm_extraction.settings import ExtractionSettings

REPO = Path(__file__).resolve().parents[3]
MANUALS = REPO / "tools" / "manuals"
PAGES = {"R-admin.pdf": 85, "R-data.pdf": 41, "R-exts.pdf": 236, "R-intro.pdf": 113, "R-ints.pdf": 81,
         "R-lang.pdf": 69, "gnuplot.pdf": 311}


@pytest.fixture(scope="module")
def manuals() -> dict[str, bytes]:
    fetched = subprocess.run(["bash", str(REPO / "scripts" / "fetch_manuals.sh"), str(MANUALS)],
                             capture_output=True, text=True, timeout=300)
    if fetched.returncode != 0:
        pytest.skip(f"no real manuals here: {fetched.stderr.strip()}")
    return {name: (MANUALS / name).read_bytes() for name in PAGES}


@pytest.mark.slow
@pytest.mark.parametrize("backend", ["pypdf", "pypdfium2"])
def test_every_manual_extracts_whole_with_clean_bounded_chunks(manuals: dict[str, bytes], backend: str) -> None:
    with Extractor(ExtractionSettings(backend=backend)) as extractor:
        options = extractor.options()
        for name, data in manuals.items():
            outcome = extractor.extract(data, name, options)
            assert outcome.pages == PAGES[name] and not outcome.warnings, name
            # Kept, or left out on purpose (contents, indexes, front matter, running lines).
            accounted = outcome.chars_kept + sum(outcome.non_content.values())
            assert accounted >= 0.9 * outcome.chars_raw, (name, outcome.chars_kept, outcome.non_content)
            assert outcome.pages_recovered == outcome.pages_unrecoverable == 0, name  # no page is glued
            assert all(chunk.n_tokens <= options.max_tokens for chunk in outcome.chunks)
            # The text runs to the end but for the index (1-9% of these manuals' pages), which is left out.
            assert outcome.chunks[-1].page_end >= 0.85 * PAGES[name] and outcome.non_content["index"] > 0, name
            text = "\n".join(chunk.text for chunk in outcome.chunks)
            # Leader dots of a table of contents stay inside their entry; no page made only of dots.
            assert ". . . ." not in "".join(chunk.text[:8] for chunk in outcome.chunks)
            assert "\x00" not in text and "\ufffe" not in text
