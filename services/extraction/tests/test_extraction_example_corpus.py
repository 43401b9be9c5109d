"""The bundled example corpus (examples/make_corpus.py): deterministic, 20-40 pages, extracts cleanly."""

from __future__ import annotations

import importlib.util
from pathlib import Path
from types import ModuleType

import pypdf
import pytest
from doc2slm_extraction.extractor import Extractor

SCRIPT = Path(__file__).resolve().parents[3] / "examples" / "make_corpus.py"


def _load_script() -> ModuleType:
    spec = importlib.util.spec_from_file_location("make_corpus", SCRIPT)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="module")
def corpus(tmp_path_factory: pytest.TempPathFactory) -> tuple[ModuleType, list[Path]]:
    script = _load_script()
    return script, script.write_corpus(tmp_path_factory.mktemp("docs"))


def test_corpus_is_three_documents_of_20_to_40_pages_and_reproducible(
    corpus: tuple[ModuleType, list[Path]], tmp_path: Path
) -> None:
    script, paths = corpus
    assert [p.name for p in paths] == list(script.DOCUMENTS)
    pages = [len(pypdf.PdfReader(path).pages) for path in paths]
    assert all(count >= 5 for count in pages) and 20 <= sum(pages) <= 40
    again = script.write_corpus(tmp_path)
    assert [p.read_bytes() for p in again] == [p.read_bytes() for p in paths]


def test_corpus_extracts_without_running_lines_and_keeps_its_facts(
    corpus: tuple[ModuleType, list[Path]], extractor: Extractor
) -> None:
    script, paths = corpus
    for path in paths:
        module = script.DOCUMENTS[path.name]
        outcome = extractor.extract(path.read_bytes(), path.name, extractor.options())
        text = "\n".join(chunk.text for chunk in outcome.chunks)
        assert outcome.warnings == [] and len(outcome.chunks) >= 5
        assert module.HEADER not in text and module.FOOTER not in text and "Page 2 of" not in text
        assert outcome.chunks[-1].page_end == outcome.pages
    manual = extractor.extract(paths[0].read_bytes(), paths[0].name, extractor.options())
    fact = "Error E05 (High discharge pressure) means that the pressure sensor reads more than 9.0 bar."
    assert any(fact in chunk.text for chunk in manual.chunks)
